"""The window's log: everything to a log file, one short line per problem to the terminal.

The GUI shows every error as a dialog (with its details folded away); the traceback behind it is
for a bug report, not for the terminal the studio was started from. :func:`setup_logging` sends
every record, tracebacks included, to ``studio.log`` in the user's log folder
(``platformdirs.user_log_dir("xdyna-studio")``, or ``$STUDIO_LOG_DIR``), rotated at
:data:`MAX_BYTES`; the terminal gets warnings and errors as one line each, naming the log file
when a traceback was left out.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from pathlib import Path

APP_NAME = "xdyna-studio"
LOG_NAME = "studio.log"
#: Size at which the log file is rotated (three old files are kept).
MAX_BYTES = 2_000_000
_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"


def log_dir() -> Path:
    """Where the log file goes: ``$STUDIO_LOG_DIR`` or the platform's user log folder."""
    env = os.environ.get("STUDIO_LOG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME))


class ShortConsoleFormatter(logging.Formatter):
    """One line per record: the message without its traceback, and where the traceback is."""

    def __init__(self, log_file: Path) -> None:
        super().__init__()
        self.log_file = log_file

    def format(self, record: logging.LogRecord) -> str:  # noqa: A003 - logging API
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line += f" ({type(exc).__name__}: {exc}; traceback in {self.log_file})"
        elif record.stack_info:
            line += f" (stack in {self.log_file})"
        return line


_installed: list[logging.Handler] = []


def setup_logging(directory: Path | None = None, console=None) -> Path:
    """Log to ``directory/studio.log`` (default :func:`log_dir`) and briefly to ``console``
    (default ``sys.stderr``); replaces the handlers an earlier call installed. Returns the log
    file's path. A log folder that cannot be made falls back to the temporary folder."""
    folder = Path(directory) if directory is not None else log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        file_handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=3, encoding="utf-8")
    except OSError:
        import tempfile

        path = Path(tempfile.gettempdir()) / f"{APP_NAME}-{LOG_NAME}"
        file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=3,
                                                            encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    file_handler.setLevel(logging.INFO)
    stream = logging.StreamHandler(console if console is not None else sys.stderr)
    stream.setFormatter(ShortConsoleFormatter(path))
    stream.setLevel(logging.WARNING)
    root = logging.getLogger()
    for h in _installed:
        root.removeHandler(h)
        h.close()
    _installed[:] = [file_handler, stream]
    for h in _installed:
        root.addHandler(h)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    return path


def teardown_logging() -> None:
    """Remove the handlers :func:`setup_logging` installed (tests)."""
    root = logging.getLogger()
    for h in _installed:
        root.removeHandler(h)
        h.close()
    _installed.clear()
