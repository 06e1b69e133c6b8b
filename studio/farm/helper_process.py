"""One long-lived helper process that serves commands: the host of the GUI's
:class:`~studio.gui.process_backend.ProcessBackend` and the farm's
:class:`~studio.farm.local_executor.LocalExecutor`.

The parent holds a :class:`HelperProcess`; the helper runs :func:`serve`, which builds a
*handler* from a picklable factory and then answers commands sent as tuples ``(kind, payload)``:

* a listener thread receives commands while the main thread works, so a ``("cancel",)`` reaches
  the command that is running (or queued) at once: every command gets its own
  :class:`~studio.core.cancel.CancelToken` when it arrives, and ``cancel`` sets the newest one;
* ``("quit",)`` -- or the parent going away -- ends the helper after the commands before it;
* every other command is handed to ``handler(kind, payload, cancel, send)`` in arrival order;
  ``send(message)`` writes a tuple to the parent's event pipe.

The helper says ``("started",)`` once the handler is built; :class:`HelperProcess` waits for it
and raises the :class:`~studio.core.errors.StudioError` it was given when the helper does not
start (it died, or did not answer within the time allowed). Nothing here imports Qt or torch.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError

#: Seconds a poll waits before checking that the helper is still alive.
POLL = 0.05

Send = Callable[[tuple], None]
#: ``handler(kind, payload, cancel, send)``: serves one command in the helper process.
Handler = Callable[[str, Any, CancelToken, Send], None]


def serve(make_handler: Callable[..., Handler], args: tuple, commands: Any, events: Any,
          nice: int = 0, ignore_sigint: bool = False) -> None:  # the helper process
    """Build ``make_handler(*args)`` and serve ``commands`` with it until ``quit`` (see the
    module docstring). ``nice`` is added to the process's niceness (Unix) so the window or the
    driver wins the CPU; ``ignore_sigint`` leaves Ctrl-C in a terminal to the parent, which
    decides what a stop means and cancels through the pipe."""
    import os
    import signal

    from studio.core.process_exit import freeze_at_exit

    freeze_at_exit()  # the helper's models and imports: no full collections over them at exit
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    handler = make_handler(*args)
    queue: list[tuple[tuple, CancelToken]] = []
    newest = [CancelToken()]
    ready = threading.Condition()

    def listen() -> None:  # commands arrive while one is served (cancel)
        while True:
            try:
                msg = commands.recv()
            except (EOFError, OSError):
                msg = ("quit",)
            with ready:
                if msg[0] == "cancel":
                    newest[0].cancel()
                    continue
                newest[0] = CancelToken()
                queue.append((msg, newest[0]))
                ready.notify()
            if msg[0] == "quit":
                return

    threading.Thread(target=listen, daemon=True).start()
    events.send(("started",))
    while True:
        with ready:
            while not queue:
                ready.wait()
            msg, cancel = queue.pop(0)
        if msg[0] == "quit":
            return
        handler(msg[0], msg[1] if len(msg) > 1 else None, cancel, events.send)


class HelperProcess:
    """The parent's side: a spawned helper running :func:`serve`, its command and event pipes.

    ``make_handler(*args)`` must be picklable (a module-level callable). Construction blocks
    until the helper has started; when it dies first or stays silent for ``start_timeout``
    seconds it is stopped and ``not_started`` is raised.
    """

    def __init__(self, make_handler: Callable[..., Handler], args: tuple, *, name: str,
                 not_started: StudioError, start_timeout: float, nice: int = 0,
                 ignore_sigint: bool = False) -> None:
        ctx = mp.get_context("spawn")
        cmd_r, self._commands = ctx.Pipe(duplex=False)
        self._events, ev_w = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=serve, args=(make_handler, tuple(args), cmd_r, ev_w, nice, ignore_sigint),
                                 name=name, daemon=True)
        self._proc.start()
        cmd_r.close()
        ev_w.close()
        if not self._started(start_timeout):
            self.close()
            raise not_started

    def _started(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._events.poll(POLL):
                try:
                    return self._events.recv()[0] == "started"
                except (EOFError, OSError):
                    return False
            if not self._proc.is_alive():
                return False
        return False

    # -- the process ---------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        """The helper's process id."""
        return self._proc.pid

    @property
    def exitcode(self) -> int | None:
        """The helper's exit code once it has ended, else ``None``."""
        return self._proc.exitcode

    def is_alive(self) -> bool:
        """Whether the helper is running."""
        return self._proc.is_alive()

    def kill(self) -> None:
        """Kill the helper at once (SIGKILL)."""
        self._proc.kill()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the helper to end."""
        self._proc.join(timeout)

    # -- the pipes -----------------------------------------------------------------------------
    def send(self, message: tuple) -> None:
        """Send a command; raises ``OSError``/``ValueError`` when the pipe is gone."""
        self._commands.send(message)

    def cancel(self) -> None:
        """Cancel the newest command (ignored when the helper is gone)."""
        try:
            self._commands.send(("cancel",))
        except (OSError, ValueError):
            pass

    def poll(self, timeout: float) -> bool:
        """Whether an event arrived within ``timeout`` seconds."""
        return self._events.poll(timeout)

    def recv(self) -> tuple:
        """The next event; raises ``EOFError``/``OSError`` when the helper is gone."""
        return self._events.recv()

    def close(self, timeout: float = 5.0) -> None:
        """Ask the helper to quit; stop it when it does not within ``timeout`` seconds."""
        try:
            self._commands.send(("quit",))
        except (OSError, ValueError):
            pass
        self._proc.join(timeout=timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=timeout)
