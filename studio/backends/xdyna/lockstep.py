"""Turn callback-driven work into a generator whose producer never waits for its consumer.

The X-Dyna pipeline reports progress through callbacks from inside one long call. :func:`lockstep`
runs that call on a helper thread and hands every event it emits to the generator's consumer
(the render engine, and through it the GUI). The GPU side must never wait for the GUI, so
``emit`` does not block:

* items with a ``latest`` key (step previews, progress) replace the pending item with the same
  key, so a slow consumer sees the newest preview and never a backlog of stale ones;
* every other item (final frames, the result, a failure) is kept, in order, in a bounded queue
  of ``max_pending`` items; only when that many are waiting (the consumer is far behind) does
  ``emit`` wait for room -- final frames are never dropped, and memory stays bounded.

With ``paced=True`` the old lockstep behaviour is kept instead: ``emit`` returns only once the
consumer has taken the item and asked for the next one, so the work never runs ahead (counting
model calls at an event is then deterministic, which tests and benchmarks use).

Exceptions raised by the work are re-raised in the consumer after the items emitted before them;
closing the generator cancels the work (at its next emit or cancel check) and joins its thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled


class LinkedToken(CancelToken):
    """A token that is cancelled when it or its ``parent`` is."""

    def __init__(self, parent: CancelToken | None) -> None:
        super().__init__()
        self.parent = parent

    @property
    def cancelled(self) -> bool:
        """Whether this token or its parent was cancelled."""
        return self._event.is_set() or (self.parent is not None and self.parent.cancelled)

    def raise_if_cancelled(self) -> None:
        """Raise :class:`RenderCancelled` if this token or its parent was cancelled."""
        if self.cancelled:
            raise RenderCancelled()


_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


#: Kept items (not replaced by newer ones) that may wait for the consumer before ``emit`` blocks.
MAX_PENDING = 8


class _Mailbox:
    """An ordered queue in which items with a ``latest`` key replace their pending predecessor."""

    def __init__(self, latest: Callable[[Any], Hashable | None], max_pending: int) -> None:
        self.latest = latest
        self.max_pending = max(1, int(max_pending))
        self.items: deque[tuple[Hashable | None, Any]] = deque()
        self.kept = 0
        self.closed = False
        self.cond = threading.Condition()

    def put(self, item: Any, key: Hashable | None = None, force: bool = False) -> None:
        with self.cond:
            if key is not None:
                for i, (k, _) in enumerate(self.items):
                    if k == key:
                        del self.items[i]
                        break
            else:
                while not force and self.kept >= self.max_pending and not self.closed:
                    self.cond.wait()
                self.kept += 1
            self.items.append((key, item))
            self.cond.notify_all()

    def get(self) -> Any:
        with self.cond:
            while not self.items:
                self.cond.wait()
            key, item = self.items.popleft()
            if key is None:
                self.kept -= 1
            self.cond.notify_all()
            return item

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


def lockstep(work: Callable[[Callable[[Any], None], CancelToken], None], cancel: CancelToken | None,
             name: str = "render", latest: Callable[[Any], Hashable | None] | None = None,
             max_pending: int = MAX_PENDING, paced: bool = False) -> Iterator[Any]:
    """Run ``work(emit, token)`` on a helper thread and yield what it passes to ``emit``.

    ``emit(item)`` returns at once (see the module docstring); it raises :class:`RenderCancelled`
    once the generator was closed. ``latest(item)`` gives a key for items of which only the
    newest pending one matters (``None``: keep the item). ``token`` is cancelled when ``cancel``
    is, or when the generator is closed; the work should check it at every step. ``paced``:
    ``emit`` waits until the consumer asks for the next item (see the module docstring).
    """
    token = LinkedToken(cancel)
    box = _Mailbox(latest or (lambda item: None), max_pending)
    resume = threading.Semaphore(0) if paced else None

    def emit(item: Any) -> None:
        if box.closed:
            raise RenderCancelled()
        box.put(item, box.latest(item) if resume is None else None)
        if resume is not None:
            resume.acquire()
        if box.closed:
            raise RenderCancelled()

    def target() -> None:
        try:
            work(emit, token)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            box.put(_Failure(exc), force=True)
        else:
            box.put(_DONE, force=True)

    thread = threading.Thread(target=target, name=f"studio-{name}", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
            if resume is not None:
                resume.release()
    finally:
        if thread.is_alive():
            box.close()
            token.cancel()
            if resume is not None:
                resume.release()
            thread.join()
