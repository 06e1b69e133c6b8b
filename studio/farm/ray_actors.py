"""The Ray actor that wraps a :class:`~studio.farm.worker.Worker`.

One actor owns one GPU (``num_gpus=1``) or one CPU core and keeps its backends, so an X-Dyna
pipeline stays loaded across jobs with the same weights. ``render`` is a streaming generator:
every event reaches the driver as soon as it is made. The actor is threaded
(``max_concurrency``), so ``cancel`` runs while ``render`` works.

Ray is imported only by :func:`actor_class`, called when a Ray executor starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from studio.core.events import RenderEvent
from studio.core.jobs import RenderJob
from studio.farm.worker import BackendFactories, Worker

#: Calls an actor serves at once: a render or a split call, plus cancel and health checks.
MAX_CONCURRENCY = 4


class RenderActor:
    """A farm worker on Ray (see the module docstring)."""

    def __init__(self, factories: BackendFactories | None = None) -> None:
        self.worker = Worker(factories)

    def pid(self) -> int:
        """The actor's process id."""
        return os.getpid()

    def compute_threads(self, backend: str) -> int:
        """The CPU threads ``backend``'s split render uses in this actor (Ray sets one per CPU it
        reserves); bit-identical split renders need equal counts."""
        from studio.core import registry

        split = registry.get_spec(backend).split_render()
        return int(split.threads()) if split is not None else 1

    def ping(self) -> bool:
        """Whether the actor answers."""
        return True

    def render(self, job: RenderJob) -> Iterator[RenderEvent]:
        """The job's events (see :meth:`Worker.render`)."""
        yield from self.worker.render(job)

    def cancel(self) -> None:
        """Cancel the running job."""
        self.worker.cancel()

    def split_prepare(self, key: str, job: RenderJob) -> dict[str, Any]:
        """See :meth:`Worker.split_prepare`."""
        return self.worker.split_prepare(key, job)

    def split_predict(self, key: str, step_index: int, x: np.ndarray, windows: list[list[int]],
                      mine: list[int]) -> list[np.ndarray]:
        """See :meth:`Worker.split_predict`."""
        return self.worker.split_predict(key, step_index, x, windows, mine)

    def split_decode(self, key: str, latents: np.ndarray) -> np.ndarray:
        """See :meth:`Worker.split_decode`."""
        return self.worker.split_decode(key, latents)

    def split_end(self, key: str) -> None:
        """See :meth:`Worker.split_end`."""
        self.worker.split_end(key)


def actor_class(num_cpus: float = 1, num_gpus: float = 0) -> Any:
    """The Ray actor class of :class:`RenderActor` with these resources."""
    import ray

    return ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_concurrency=MAX_CONCURRENCY,
                      max_restarts=0)(RenderActor)
