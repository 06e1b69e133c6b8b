"""The executor used when Ray is not installed: one local helper process, one job at a time.

The helper keeps a :class:`~studio.farm.worker.Worker` (so loaded pipelines survive between
jobs) and sends the worker's events back over a pipe. If it dies the job is requeued
(:class:`~studio.farm.executor.WorkerLost`) and a fresh helper starts for the next job.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from typing import Any

from studio.core.backend import Backend
from studio.core.errors import StudioError
from studio.core.events import RenderEvent
from studio.core.jobs import RenderJob
from studio.farm.executor import RemoteBackend, WorkerLost
from studio.farm.worker import BackendFactories, Worker, for_worker

#: Seconds to wait for the helper to start.
START_TIMEOUT = 120.0


def _serve(factories: BackendFactories, commands: Any, events: Any) -> None:  # the helper process
    """Run ``render`` commands on a :class:`Worker` until ``quit`` (or the driver goes away)."""
    import signal

    # Ctrl-C in a terminal reaches the whole process group: the runner decides what a stop means
    # (its jobs go back to the queue) and cancels this helper's job through the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = Worker(factories)
    jobs: list[RenderJob | None] = []
    ready = threading.Condition()

    def listen() -> None:  # a cancel arrives while a job renders
        while True:
            try:
                msg = commands.recv()
            except (EOFError, OSError):
                msg = ("quit",)
            if msg[0] == "cancel":
                worker.cancel()
                continue
            with ready:
                jobs.append(msg[1] if msg[0] == "render" else None)
                ready.notify()
            if msg[0] == "quit":
                return

    threading.Thread(target=listen, daemon=True).start()
    events.send(("started",))
    while True:
        with ready:
            while not jobs:
                ready.wait()
            job = jobs.pop(0)
        if job is None:
            return
        for ev in worker.render(job):
            events.send(("event", ev))
        events.send(("end",))


class _PipeStream:
    """The events of one job in the helper process."""

    def __init__(self, helper: "_Helper") -> None:
        self.helper = helper
        self.ended = False

    def poll(self, timeout: float) -> bool:
        if self.helper.events.poll(timeout):
            return True
        if not self.helper.proc.is_alive():
            raise WorkerLost("The local render helper process",
                             f"exit code {self.helper.proc.exitcode}")
        return False

    def next_event(self) -> RenderEvent | None:
        try:
            msg = self.helper.events.recv()
        except (EOFError, OSError) as exc:
            raise WorkerLost("The local render helper process", repr(exc)) from exc
        if msg[0] == "end":
            self.ended = True
            return None
        return msg[1]

    def cancel(self) -> None:
        try:
            self.helper.commands.send(("cancel",))
        except (OSError, ValueError):
            pass


class _Helper:
    """One helper process and its two pipes."""

    def __init__(self, factories: BackendFactories) -> None:
        ctx = mp.get_context("spawn")
        cmd_r, self.commands = ctx.Pipe(duplex=False)
        self.events, ev_w = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_serve, args=(factories, cmd_r, ev_w), name="studio-farm-helper", daemon=True)
        self.proc.start()
        cmd_r.close()
        ev_w.close()
        if not self.events.poll(START_TIMEOUT) or self.events.recv()[0] != "started":
            self.close()
            raise StudioError(
                "The render helper did not start",
                "The queue's local helper process did not answer. Run `studio doctor`, then "
                "`studio queue run` again.",
            )

    def start(self, job: RenderJob) -> _PipeStream:
        try:
            self.commands.send(("render", for_worker(job)))
        except (OSError, ValueError) as exc:
            raise WorkerLost("The local render helper process", repr(exc)) from exc
        return _PipeStream(self)

    def close(self) -> None:
        try:
            self.commands.send(("quit",))
        except (OSError, ValueError):
            pass
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)


class _LocalLease:
    def __init__(self, executor: "LocalExecutor", backend: Backend) -> None:
        self.executor = executor
        self.backend = backend

    def release(self) -> None:
        self.executor._busy = False


class LocalExecutor:
    """Jobs one by one in a local helper process (see the module docstring).

    ``factories`` builds backends in the helper (default: :func:`studio.core.registry.create_backend`).
    """

    name = "local"

    def __init__(self, factories: BackendFactories | None = None) -> None:
        self.factories = dict(factories or {})
        self._helper: _Helper | None = None
        self._busy = False
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """One job at a time."""
        return 1

    def describe(self) -> str:
        """What runs the jobs."""
        return "one local helper process (install the [farm] extra for Ray workers)"

    def _start(self, job: RenderJob) -> _PipeStream:
        with self._lock:
            if self._helper is None or not self._helper.proc.is_alive():
                self._helper = _Helper(self.factories)
            return self._helper.start(job)

    def acquire(self, backend: str) -> _LocalLease | None:
        """The helper, when it is free."""
        if self._busy:
            return None
        from studio.core.registry import create_backend as get_backend

        local = self.factories[backend]() if backend in self.factories else get_backend(backend)
        self._busy = True
        return _LocalLease(self, RemoteBackend(local, self._start, "the local helper process"))

    def can_split(self, backend: str | None = None) -> bool:
        """One helper: never."""
        return False

    def acquire_split(self, backend: str | None = None) -> None:
        """Splitting a clip needs several workers: never here."""
        return None

    def helper_pid(self) -> int | None:
        """The helper process id (tests kill it), or ``None``."""
        return self._helper.proc.pid if self._helper is not None and self._helper.proc.is_alive() else None

    def close(self) -> None:
        """Stop the helper."""
        if self._helper is not None:
            self._helper.close()
            self._helper = None
