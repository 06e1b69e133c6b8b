"""``run_gui()``: create the QApplication, install the exception handler, show the window."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from studio import __version__


def get_qapp() -> QApplication:
    """The QApplication (created, themed and named on first use)."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("studio")
        app.setOrganizationName("xdyna-studio")
        app.setApplicationDisplayName("X-Dyna Studio")
        app.setApplicationVersion(__version__)
        from studio.gui.theme import apply_theme

        apply_theme(app)
    return app  # type: ignore[return-value]


#: Modules imported before the window appears. Importing a large extension module holds the GIL
#: for up to seconds, which would freeze a window that is already on screen (the render worker
#: would otherwise import them on first use).
#: Every registered backend's module (its spec's ``factory``) is imported too.
WARM_IMPORTS = ("mediapipe", "studio.extract.image", "studio.extract.extractor", "studio.media.video")


def warm_imports() -> None:
    """Import :data:`WARM_IMPORTS` and each backend's module now (missing optional ones are
    skipped, and reported later by whatever needs them)."""
    from studio.core import registry

    log = logging.getLogger("studio.gui")
    backends = tuple(spec.factory.partition(":")[0] for spec in registry.specs().values())
    for name in WARM_IMPORTS + backends:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - the feature that needs it reports the problem
            log.info("could not preload %s: %s", name, exc)


def run_gui(project: str | os.PathLike | None = None) -> int:
    """Open the studio window (optionally with ``project``) and run until it closes."""
    from studio.gui.logfile import setup_logging

    log_file = setup_logging()  # tracebacks of the errors shown as dialogs go there, not to the terminal
    logging.getLogger("studio.gui").info("X-Dyna Studio %s; log file %s", __version__, log_file)
    app = get_qapp()
    from studio.gui.errors import install_excepthooks
    from studio.gui.main_window import MainWindow

    restore = install_excepthooks()
    try:
        warm_imports()
        win = MainWindow()
        win.show()
        if not win.offer_recovery() and project is not None:
            win.open_project(Path(project), confirm=False)
        return int(app.exec())
    finally:
        restore()
