"""One function call in a short-lived helper process, with progress and cancel.

Pose extraction is MediaPipe and numpy work that holds the GIL for long stretches; run on a
thread of the GUI process it makes the window stutter. :func:`run_in_helper` runs ``fn`` in a
spawned process instead and is itself called from a :class:`~studio.gui.tasks.Task` thread, which
only waits on a pipe. Nothing here imports Qt.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError

POLL = 0.05


def _child(fn: Callable[..., Any], args: tuple, conn: Any, stop: Any) -> None:  # helper process
    cancel = CancelToken()

    def watch() -> None:  # any message, or the parent closing the pipe, means stop
        try:
            stop.recv()
        except (EOFError, OSError):
            pass
        cancel.cancel()

    threading.Thread(target=watch, daemon=True).start()

    def progress(done: int, total: int | None = None, message: str = "") -> None:
        conn.send(("progress", int(done), -1 if total is None else int(total), str(message)))

    try:
        result = fn(progress, cancel, *args)
    except RenderCancelled:
        conn.send(("cancelled",))
    except StudioError as err:
        conn.send(("error", err))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        conn.send(("error", StudioError(
            "Something went wrong",
            f"Background work failed unexpectedly ({type(exc).__name__}: {exc}).",
            "".join(traceback.format_exception(exc)),
        )))
    else:
        conn.send(("cancelled",) if cancel.cancelled else ("result", result))


def helpers_allowed() -> bool:
    """Whether helper processes are used (not in frozen builds, nor with
    ``STUDIO_RENDER_IN_THREAD=1``)."""
    return os.environ.get("STUDIO_RENDER_IN_THREAD") != "1" and not getattr(sys, "frozen", False)


def run_in_helper(fn: Callable[..., Any], args: tuple, progress: Callable[[int, int, str], None],
                  cancel: CancelToken) -> Any:
    """``fn(progress, cancel, *args)`` in a helper process (a module-level, picklable ``fn``);
    progress is forwarded, ``cancel`` stops it, its exceptions are raised here."""
    if not helpers_allowed():
        return fn(progress, cancel, *args)
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    stop_r, stop_w = ctx.Pipe(duplex=False)  # a pipe, not an Event: setting an Event can hang
    proc = ctx.Process(target=_child, args=(fn, args, send, stop_r), name="studio-task", daemon=True)
    proc.start()
    send.close()
    stop_r.close()
    stopped = False
    try:
        while True:
            if cancel.cancelled and not stopped:
                stopped = True
                try:
                    stop_w.send("stop")
                except OSError:  # the helper is gone already; handled below
                    pass
            if recv.poll(POLL):
                try:
                    msg = recv.recv()
                except EOFError:
                    msg = ("died",)
                if msg[0] == "progress":
                    progress(msg[1], msg[2], msg[3])
                    continue
                if msg[0] == "result":
                    return msg[1]
                if msg[0] == "cancelled":
                    raise RenderCancelled()
                if msg[0] == "error":
                    raise msg[1]
            if not proc.is_alive() and not recv.poll(0):
                if cancel.cancelled:
                    raise RenderCancelled()
                raise StudioError(
                    "Background work stopped",
                    f"The helper process ended unexpectedly (exit code {proc.exitcode}). Try again.",
                )
    finally:
        stop_w.close()  # the helper sees EOF and stops, if it is still working
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=5)
        recv.close()
