"""The driver's view of a worker: a :class:`~studio.core.backend.Backend` whose work happens
elsewhere, and the :class:`Executor` protocol that hands out workers.

Above the executor everything is the same whatever runs the jobs: the runner calls
:func:`studio.core.render.run_job` with a :class:`RemoteBackend`, which forwards the worker's
events; run_job writes the render folder and the cache and resumes from finished frames, so a
farm render and a local render share one code path.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, Protocol

from studio.core.backend import Backend, Capabilities
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import Cancelled, Failed, FramesReady, RenderEvent
from studio.core.jobs import RenderJob
from studio.core.render_store import ResumeStore

#: Seconds between cancel checks while waiting for a worker's next event.
POLL = 0.1


class WorkerLost(StudioError):
    """The worker running a job went away (killed, out of memory, its machine left the cluster).
    The job is requeued; frames that reached the driver are already on disk."""

    def __init__(self, what: str, details: str = "") -> None:
        super().__init__(
            "Farm worker lost",
            f"{what} stopped while rendering. The job goes back to the queue and resumes from its "
            "finished frames.",
            details,
        )


class EventStream(Protocol):
    """A running job on a worker, seen from the driver."""

    def poll(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the next event (or the end); ``True`` when
        :meth:`next_event` will not block. Raises :class:`WorkerLost` when the worker died."""

    def next_event(self) -> RenderEvent | None:
        """The next event, ``None`` when the worker's generator ended. Raises
        :class:`WorkerLost` when the worker died."""

    def cancel(self) -> None:
        """Ask the worker to stop the job."""


class RemoteBackend:
    """A backend on the driver that forwards events of ``backend`` running on a worker.

    ``start(job)`` starts the job on the worker and returns its :class:`EventStream`. For a
    backend with coupled frames (X-Dyna) the worker, which has no render folder, renders every
    frame; frames already finished on disk are dropped here so nothing is written twice.
    """

    def __init__(self, local: Backend, start: Any, where: str) -> None:
        self._local = local
        self._start = start
        self.where = where
        self.name = local.name

    @property
    def capabilities(self) -> Capabilities:
        """The real backend's capabilities; a coupled backend's are ``resumable`` here, since the
        driver drops the frames the job's store already holds."""
        caps = self._local.capabilities
        return caps if caps.independent_frames else dataclasses.replace(caps, resumable=True)

    def available(self) -> tuple[bool, str]:
        """Availability is decided on the worker; here: always."""
        return True, f"on {self.where}"

    def render(self, job: RenderJob, cancel: CancelToken, store: ResumeStore | None = None) -> Iterator[RenderEvent]:
        """Run ``job`` on the worker and yield its events (see the class docstring); ``store``
        (resumable backends) says which frames are already on disk."""
        done: frozenset[int] = frozenset()
        if not self.capabilities.independent_frames:
            done = store.done if store is not None else frozenset()
        stream = self._start(job)
        asked = ended = False
        try:
            while True:
                if cancel.cancelled and not asked:
                    stream.cancel()
                    asked = True
                if not stream.poll(POLL):
                    continue
                ev = stream.next_event()
                if ev is None:
                    ended = True
                    return
                if isinstance(ev, Failed):
                    raise ev.error
                if isinstance(ev, Cancelled):
                    raise RenderCancelled()
                if isinstance(ev, FramesReady) and done:
                    keep = [j for j, k in enumerate(ev.indices) if k not in done]
                    if not keep:
                        continue
                    ev = FramesReady(tuple(ev.indices[j] for j in keep), ev.frames[keep])
                yield ev
        except WorkerLost:
            ended = True
            raise
        finally:
            if not ended:  # stopped listening early: stop the worker and drain its events
                _drain(stream)


def _drain(stream: EventStream, timeout: float = 30.0) -> None:
    """Cancel a job on its worker and read its events up to the end (so the next job on that
    worker starts clean); gives up after ``timeout`` seconds or when the worker died."""
    import time

    stream.cancel()
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if stream.poll(POLL) and stream.next_event() is None:
                return
    except WorkerLost:
        return


class Lease(Protocol):
    """Workers lent to one job until :meth:`release`."""

    backend: Backend

    def release(self) -> None:
        """Give the workers back (a dead one is replaced)."""


class Executor(Protocol):
    """Where queued jobs run."""

    name: str

    @property
    def capacity(self) -> int:
        """How many jobs can run at once."""

    def acquire(self, backend: str) -> Lease | None:
        """A free worker for a job of ``backend``, or ``None`` when all suitable ones are busy."""

    def can_split(self, backend: str) -> bool:
        """Whether this executor has at least two workers for ``backend`` (a split job can ever run split)."""

    def acquire_split(self, backend: str) -> Lease | None:
        """Every worker for one split render of ``backend``, or ``None`` (busy, or fewer than two)."""

    def describe(self) -> str:
        """One line for a person: what runs the jobs."""

    def close(self) -> None:
        """Stop the workers."""
