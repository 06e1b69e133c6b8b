"""Short-lived background work (pose extraction, reference detection, export) on its own thread,
with progress and cancel; results come back as Qt signals on the GUI thread.

The work is a plain function ``fn(progress, cancel) -> result`` where ``progress(done, total,
message)`` may be called from the worker and ``cancel`` is a :class:`CancelToken` to poll. Core
code that takes callbacks (exporters, extraction) plugs in directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled
from studio.gui.errors import as_studio_error

log = logging.getLogger("studio.gui")

ProgressFn = Callable[[int, int, str], None]
TaskFn = Callable[[ProgressFn, CancelToken], Any]


class _Thread(QThread):
    def __init__(self, task: "Task") -> None:
        super().__init__()
        self._task = task

    def run(self) -> None:  # worker thread
        t = self._task
        try:
            result = t.fn(lambda d, n=None, m="": t.progress.emit(int(d), -1 if n is None else int(n), str(m)), t.token)
        except RenderCancelled:
            t.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001 - every failure reaches the user
            if t.token.cancelled:
                t.cancelled.emit()
            else:
                log.error("task %r failed", t.name, exc_info=exc)
                t.failed.emit(as_studio_error(exc))
        else:
            if t.token.cancelled:
                t.cancelled.emit()
            else:
                t.succeeded.emit(result)


class Task(QObject):
    """One run of ``fn`` on a fresh thread.

    Signals (all delivered on the GUI thread; exactly one of succeeded/failed/cancelled, then
    ``finished``)
    -------
    progress(int, int, str): done, total (-1 when unknown), message.
    succeeded(object): the function's return value.
    failed(object): a :class:`~studio.core.errors.StudioError`.
    cancelled(): the token was set and the function stopped.
    finished(): always last.
    """

    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: TaskFn, name: str = "task", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self.token = CancelToken()
        self._thread: _Thread | None = None

    def start(self) -> None:
        """Run on a new thread."""
        self._thread = _Thread(self)
        self._thread.finished.connect(self.finished)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop (it polls the token)."""
        self.token.cancel()

    def is_running(self) -> bool:
        """Whether the thread is still running."""
        return self._thread is not None and self._thread.isRunning()

    def wait(self, ms: int = 10_000) -> bool:
        """Block until the thread ends (tests and shutdown only)."""
        return self._thread.wait(ms) if self._thread is not None else True
