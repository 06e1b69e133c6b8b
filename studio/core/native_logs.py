"""Keep native libraries' log lines (MediaPipe, TensorFlow Lite, absl/glog) off the terminal.

MediaPipe writes lines such as ``W0000 00:00:... inference_feedback_manager.cc:114] Feedback
manager requires ...`` straight to file descriptor 2 from C++, from its graph threads, when its
graphs start and when their calculators first see data (absl logs everything before
``absl::InitializeLog()`` to stderr, whatever ``GLOG_minloglevel`` says), so they land between the
progress bars. Inside :func:`quiet_native_logs` descriptor 2 is a pipe read by a forwarding thread
that passes everything on to the real stderr at once (progress bars, Python messages, child
processes' output) except those native log lines.

Set ``STUDIO_NATIVE_LOGS=1`` (``studio -v`` does) to keep them.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Environment variable that keeps native log lines (``studio --verbose`` sets it).
VERBOSE_ENV = "STUDIO_NATIVE_LOGS"

#: A native log line: absl/glog (``W0000 00:00:1712345678.123456   1234 file.cc:12] ...``) or one
#: of the two TensorFlow Lite / absl start-up notices; each ends with a newline.
NATIVE_LINE = re.compile(
    rb"(?:[IWEF]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w./-]+:\d+\] [^\n]*"
    rb"|INFO: Created TensorFlow Lite \w+ delegate for \w+\."
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)\n"
)
#: How a native log line can begin: text ending in a prefix of this is held back until the rest of
#: its line arrives (everything else is passed on at once).
_STARTS = (b"W0000 ", b"I0000 ", b"E0000 ", b"F0000 ", b"INFO: Created", b"WARNING: All log")

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_thread: threading.Thread | None = None


def drop_native_lines(data: bytes) -> bytes:
    """``data`` without its complete native log lines (everything else kept, byte for byte)."""
    return NATIVE_LINE.sub(b"", data)


def _held_tail(data: bytes) -> int:
    """How many bytes at the end of ``data`` could be the start of a native log line."""
    cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
    tail = data[cut:]
    for i in range(len(tail)):
        rest = tail[i:]
        if any(rest.startswith(start) or start.startswith(rest) for start in _STARTS):
            return len(tail) - i
    return 0


def _forward(read_fd: int, out_fd: int) -> None:
    """Copy ``read_fd`` to ``out_fd`` until end of file, dropping native log lines."""
    pending = b""
    try:
        while True:
            chunk = os.read(read_fd, 65536)
            if not chunk:
                break
            pending = drop_native_lines(pending + chunk)
            hold = _held_tail(pending)
            ready, pending = pending[: len(pending) - hold], pending[len(pending) - hold:]
            if ready:
                os.write(out_fd, ready)
        if pending:
            os.write(out_fd, drop_native_lines(pending))
    except OSError:
        pass
    finally:
        os.close(read_fd)
        os.close(out_fd)


def _flush_stderr() -> None:
    try:
        sys.stderr.flush()
    except (AttributeError, OSError, ValueError):
        pass


def _begin() -> bool:
    global _depth, _saved_fd, _thread
    with _lock:
        if _depth == 0:
            try:
                saved = os.dup(2)
            except OSError:  # no descriptor 2 (a windowed app): nothing reaches a terminal anyway
                return False
            read_fd, write_fd = os.pipe()
            _flush_stderr()
            os.dup2(write_fd, 2)
            os.close(write_fd)
            _thread = threading.Thread(target=_forward, args=(read_fd, os.dup(saved)),
                                       name="studio-native-logs", daemon=True)
            _thread.start()
            _saved_fd = saved
        _depth += 1
        return True


def _end() -> None:
    global _depth, _saved_fd, _thread
    with _lock:
        _depth -= 1
        if _depth or _saved_fd is None:
            return
        _flush_stderr()
        os.dup2(_saved_fd, 2)  # closes the pipe's last write end (unless a child process holds one)
        os.close(_saved_fd)
        _saved_fd = None
        thread, _thread = _thread, None
    if thread is not None:
        thread.join(timeout=2.0)  # everything written before the block ended is on the terminal


def _restore_at_exit() -> None:
    """A block still open at interpreter exit (a detector never closed): put descriptor 2 back and
    pass on what is in the pipe, so the last messages (a traceback) reach the terminal."""
    global _depth
    with _lock:
        if _depth == 0:
            return
        _depth = 1
    _end()


atexit.register(_restore_at_exit)


@contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Drop native log lines written to stderr inside the block (nestable, from any thread:
    descriptor 2 belongs to the whole process, so it is put back when the last block ends)."""
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0") or not _begin():
        yield
        return
    try:
        yield
    finally:
        _end()
