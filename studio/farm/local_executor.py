"""The executor used when Ray is not installed: one local helper process, one job at a time.

The helper keeps a :class:`~studio.farm.worker.Worker` (so loaded pipelines survive between
jobs) and sends the worker's events back over a pipe. If it dies the job is requeued
(:class:`~studio.farm.executor.WorkerLost`) and a fresh helper starts for the next job.
"""

from __future__ import annotations

import threading

from studio.core.backend import Backend
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import RenderEvent
from studio.core.jobs import RenderJob
from studio.farm.executor import RemoteBackend, WorkerLost
from studio.farm.helper_process import HelperProcess, Send
from studio.farm.worker import BackendFactories, Worker, for_worker

#: Seconds to wait for the helper to start.
START_TIMEOUT = 120.0


class _RenderJobs:
    """The helper's handler (:mod:`studio.farm.helper_process`): ``render`` commands run on a
    :class:`Worker`, whose events go back to the driver, then ``("end",)``."""

    def __init__(self, factories: BackendFactories) -> None:
        self.worker = Worker(factories)

    def __call__(self, kind: str, job: RenderJob, cancel: CancelToken, send: Send) -> None:
        for ev in self.worker.render(job, cancel):
            send(("event", ev))
        send(("end",))


class _PipeStream:
    """The events of one job in the helper process."""

    def __init__(self, helper: HelperProcess) -> None:
        self.helper = helper
        self.ended = False

    def poll(self, timeout: float) -> bool:
        if self.helper.poll(timeout):
            return True
        if not self.helper.is_alive():
            raise WorkerLost("The local render helper process", f"exit code {self.helper.exitcode}")
        return False

    def next_event(self) -> RenderEvent | None:
        try:
            msg = self.helper.recv()
        except (EOFError, OSError) as exc:
            raise WorkerLost("The local render helper process", repr(exc)) from exc
        if msg[0] == "end":
            self.ended = True
            return None
        return msg[1]

    def cancel(self) -> None:
        self.helper.cancel()


def _start_helper(factories: BackendFactories) -> HelperProcess:
    """A fresh helper process serving :class:`_RenderJobs`."""
    return HelperProcess(
        _RenderJobs, (factories,), name="studio-farm-helper", start_timeout=START_TIMEOUT,
        # Ctrl-C in a terminal reaches the whole process group: the runner decides what a stop
        # means (its jobs go back to the queue) and cancels this helper's job through the pipe
        ignore_sigint=True,
        not_started=StudioError(
            "The render helper did not start",
            "The queue's local helper process did not answer. Run `studio doctor`, then "
            "`studio queue run` again.",
        ),
    )


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
        self._helper: HelperProcess | None = None
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
            if self._helper is None or not self._helper.is_alive():
                self._helper = _start_helper(self.factories)
            try:
                self._helper.send(("render", for_worker(job)))
            except (OSError, ValueError) as exc:
                raise WorkerLost("The local render helper process", repr(exc)) from exc
            return _PipeStream(self._helper)

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
        return self._helper.pid if self._helper is not None and self._helper.is_alive() else None

    def close(self) -> None:
        """Stop the helper."""
        if self._helper is not None:
            self._helper.close()
            self._helper = None
