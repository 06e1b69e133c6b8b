"""Turn callback-driven work into a generator, in lockstep.

The X-Dyna pipeline reports progress through callbacks from inside one long call. :func:`lockstep`
runs that call on a helper thread and hands every event it emits to the generator's consumer;
the helper then *waits* until the consumer asks for the next event. So the work never runs ahead
of its consumer (no unbounded queue of frames, exact cancellation, and counting model calls at
an event is deterministic), exceptions raised by the work are re-raised in the consumer, and
closing the generator stops the work at its next emit or cancel check.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
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


def lockstep(work: Callable[[Callable[[Any], None], CancelToken], None], cancel: CancelToken | None,
             name: str = "render") -> Iterator[Any]:
    """Run ``work(emit, token)`` on a helper thread and yield what it passes to ``emit``.

    ``emit(item)`` returns once the consumer has taken the item and asked for the next one;
    it raises :class:`RenderCancelled` if the generator was closed meanwhile. ``token`` is
    cancelled when ``cancel`` is, or when the generator is closed; the work should check it at
    every step.
    """
    token = LinkedToken(cancel)
    items: queue.Queue[Any] = queue.Queue()
    resume = threading.Semaphore(0)
    closed = threading.Event()

    def emit(item: Any) -> None:
        items.put(item)
        resume.acquire()
        if closed.is_set():
            raise RenderCancelled()

    def target() -> None:
        try:
            work(emit, token)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            items.put(_Failure(exc))
        else:
            items.put(_DONE)

    thread = threading.Thread(target=target, name=f"studio-{name}", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item
            resume.release()
    finally:
        if thread.is_alive():
            closed.set()
            token.cancel()
            resume.release()
            thread.join()
