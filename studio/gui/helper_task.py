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
    from studio.core.phases import mark
    from studio.core.process_exit import freeze_at_exit

    freeze_at_exit()  # what the call imported (mediapipe, torch): no full collections over it at exit
    mark("helper process started")  # the interpreter, multiprocessing and the function's imports
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


def _spare(warm: Callable[[], Any] | None, tasks: Any, conn: Any, stop: Any) -> None:  # helper process
    """A helper started ahead of its work: ``warm()`` (imports, models), then the one
    ``(fn, args)`` that arrives on ``tasks`` runs as :func:`_child` would run it. Ends when
    the parent closes ``tasks`` first."""
    from studio.core.phases import mark
    from studio.core.process_exit import freeze_at_exit

    freeze_at_exit()
    if warm is not None:
        try:
            warm()
        except Exception:  # noqa: BLE001 - the call itself meets (and reports) the same problem
            pass
    mark("spare helper warm")
    try:
        fn, args = tasks.recv()
    except (EOFError, OSError):
        return
    _child(fn, args, conn, stop)


class Spare:
    """A helper process started before its work is known, so that its start-up (the
    interpreter, imports, ``warm()``: e.g. MediaPipe and its graphs) overlaps the time a user
    takes to pick a file. :func:`run_in_helper` hands its function to the spare when given one
    (once: a spare serves one call), and the call sees the same progress, cancel and errors as
    in a fresh helper. ``warm`` must be a module-level (picklable) callable."""

    def __init__(self, warm: Callable[[], Any] | None = None) -> None:
        ctx = mp.get_context("spawn")
        self.recv, send = ctx.Pipe(duplex=False)
        stop_r, self.stop_w = ctx.Pipe(duplex=False)
        tasks_r, self._tasks = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_spare, args=(warm, tasks_r, send, stop_r), name="studio-spare", daemon=True)
        self.proc.start()
        for end in (send, stop_r, tasks_r):
            end.close()
        self.taken = False

    def usable(self) -> bool:
        """Whether the spare can still take a call (not taken, still running)."""
        return not self.taken and self.proc.is_alive()

    def take(self, fn: Callable[..., Any], args: tuple) -> None:
        """Hand ``fn(progress, cancel, *args)`` to the spare (raises ``OSError`` when it is gone)."""
        self.taken = True
        self._tasks.send((fn, args))
        self._tasks.close()

    def close(self) -> None:
        """Stop the spare if no call took it (a taken spare ends with its call)."""
        if self.taken:
            return
        self.taken = True
        for end in (self._tasks, self.stop_w, self.recv):
            end.close()
        self.proc.join(timeout=2)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)


def run_in_helper(fn: Callable[..., Any], args: tuple, progress: Callable[[int, int, str], None],
                  cancel: CancelToken, spare: Spare | None = None) -> Any:
    """``fn(progress, cancel, *args)`` in a helper process (a module-level, picklable ``fn``):
    ``spare`` when it is usable, else a new one; progress is forwarded, ``cancel`` stops it,
    its exceptions are raised here."""
    if not helpers_allowed():
        return fn(progress, cancel, *args)
    from studio.core.phases import mark

    if spare is not None and spare.usable():
        try:
            spare.take(fn, args)
        except OSError:
            spare = None
    else:
        spare = None
    if spare is not None:
        mark("spare helper taken")
        proc, recv, stop_w = spare.proc, spare.recv, spare.stop_w
    else:
        mark("helper spawn")
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
