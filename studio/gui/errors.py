"""One channel for every error (napari's NotificationManager, Pencil2D's Status dialog).

:data:`hub` receives :class:`StudioError`s from any thread (:meth:`ErrorHub.report`) and shows
them on the GUI thread through its :attr:`~ErrorHub.presenter`, a plain callable that tests
replace so no dialog ever blocks them. :func:`install_excepthooks` routes unexpected exceptions
(``sys.excepthook`` and ``threading.excepthook``) there too, after logging them; the app keeps
running.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QApplication, QWidget

from studio.core.errors import StudioError

log = logging.getLogger("studio.gui")

Presenter = Callable[[StudioError, "QWidget | None"], None]


def dialog_presenter(err: StudioError, parent: QWidget | None) -> None:
    """The default presenter: a modal :class:`~studio.gui.dialogs.error_dialog.ErrorDialog`."""
    from studio.gui.dialogs.error_dialog import ErrorDialog

    ErrorDialog(err, parent).exec()


def as_studio_error(exc: BaseException, tb: TracebackType | None = None) -> StudioError:
    """``exc`` itself if it is a :class:`StudioError`, else a StudioError carrying its traceback."""
    if isinstance(exc, StudioError):
        return exc
    details = "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))
    return StudioError(
        "Something went wrong",
        f"An unexpected error happened ({type(exc).__name__}: {exc}). The studio keeps running; "
        "save your work. If it happens again, copy the details into a bug report.",
        details,
    )


class ErrorHub(QObject):
    """Collects errors from any thread and presents them on the GUI thread.

    Signals
    -------
    reported(object): a :class:`StudioError` arrived (emitted on the GUI thread).
    """

    reported = Signal(object)
    _incoming = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.presenter: Presenter = dialog_presenter
        self.parent_widget: QWidget | None = None
        self.records: list[StudioError] = []
        self._incoming.connect(self._present, Qt.ConnectionType.QueuedConnection)

    def report(self, err: BaseException) -> None:
        """Show ``err`` (a StudioError, or any exception, which is wrapped); thread-safe: on the
        GUI thread it is shown at once, from other threads it is queued to the GUI thread."""
        err = as_studio_error(err)
        if QThread.currentThread() is self.thread():
            self._present(err)
        else:
            self._incoming.emit(err)

    def _present(self, err: StudioError) -> None:
        self.records.append(err)
        del self.records[:-50]
        self.reported.emit(err)
        try:
            self.presenter(err, self.parent_widget)
        except Exception:  # noqa: BLE001 - a broken presenter must not take the app down
            log.exception("error presenter failed while showing %s", err.title)


_hub: ErrorHub | None = None


def hub() -> ErrorHub:
    """The application-wide :class:`ErrorHub` (created on first use, on the GUI thread)."""
    global _hub
    if _hub is None:
        _hub = ErrorHub()
        app = QApplication.instance()
        if app is not None:
            _hub.moveToThread(app.thread())
    return _hub


def install_excepthooks() -> Callable[[], None]:
    """Route uncaught exceptions of every thread to :func:`hub` (logged first); returns a
    function that restores the previous hooks."""
    h = hub()
    old_sys, old_thread = sys.excepthook, threading.excepthook

    def on_exception(etype: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            old_sys(etype, exc, tb)
            return
        log.error("uncaught exception", exc_info=(etype, exc, tb))
        h.report(as_studio_error(exc, tb))

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        on_exception(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception

    def restore() -> None:
        sys.excepthook, threading.excepthook = old_sys, old_thread

    return restore
