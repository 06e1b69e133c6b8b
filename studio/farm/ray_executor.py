"""The Ray executor: render jobs on Ray actors, locally or on a cluster.

* No address: ``ray.init()`` starts a local cluster inside this process group; it stops when the
  executor closes (the end of ``studio queue run``). ``--address`` or ``RAY_ADDRESS`` joins an
  existing cluster (``ray start --head`` on the GPU machine).
* One actor per GPU of the cluster (``num_gpus=1``) serves X-Dyna jobs and keeps its pipeline
  loaded across jobs with the same weights; ``workers`` CPU actors serve draft jobs (and X-Dyna
  jobs when the cluster has no GPU).
* A job streams its events back from the actor's ``render`` generator; the driver writes the
  render folder. If the actor dies the job is requeued (:class:`~studio.farm.executor.WorkerLost`)
  and a new actor takes the dead one's place.
* A split job takes every X-Dyna actor at once (:mod:`studio.farm.split`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.events import RenderEvent
from studio.core.jobs import RenderJob
from studio.farm.executor import RemoteBackend, WorkerLost
from studio.farm.split import SplitBackend
from studio.farm.worker import BackendFactories, for_worker

#: Seconds a health check of an actor may take before it counts as dead.
PING_TIMEOUT = 10.0


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise StudioError(
            "Ray is not installed",
            "Running the queue on Ray needs the farm extra: pip install 'xdyna-studio[farm]'. Without it, "
            "`studio queue run` renders the jobs one by one in a local helper process.",
            repr(exc),
        ) from exc
    return ray


def ray_available() -> bool:
    """Whether ``ray`` can be imported here (looked up without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):
        return False


def _lost(what: str, exc: BaseException) -> WorkerLost:
    return WorkerLost(what, f"{type(exc).__name__}: {exc}")


def _is_death(exc: BaseException) -> bool:
    ray = _ray()
    return isinstance(exc, (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                            ray.exceptions.ObjectLostError, ray.exceptions.OutOfMemoryError))


@dataclass
class _Slot:
    """One actor and whether a job holds it."""

    kind: str  # "gpu" or "cpu"
    index: int
    handle: Any
    busy: bool = False

    @property
    def label(self) -> str:
        return f"Ray actor {self.kind}{self.index}"


class _RayStream:
    """The events of one job on an actor (a Ray streaming generator)."""

    def __init__(self, slot: _Slot, job: RenderJob) -> None:
        self.slot = slot
        self.gen = slot.handle.render.options(num_returns="streaming").remote(for_worker(job))

    def poll(self, timeout: float) -> bool:
        ray = _ray()
        try:
            ready, _ = ray.wait([self.gen], timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - a dead actor surfaces here or in next_event
            if _is_death(exc):
                raise _lost(self.slot.label, exc) from exc
            raise
        return bool(ready)

    def next_event(self) -> RenderEvent | None:
        ray = _ray()
        try:
            ref = next(self.gen)
        except StopIteration:
            return None
        try:
            return ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - see above
            if _is_death(exc):
                raise _lost(self.slot.label, exc) from exc
            raise StudioError(
                "Render failed", f"{self.slot.label} could not send its result ({type(exc).__name__}).", repr(exc)
            ) from exc

    def cancel(self) -> None:
        try:
            self.slot.handle.cancel.remote()
        except Exception:  # noqa: BLE001 - a dead actor has nothing to cancel
            pass


class _RayPool:
    """The :class:`~studio.farm.split.SplitPool` of some actors."""

    def __init__(self, slots: Sequence[_Slot]) -> None:
        self.slots = list(slots)
        self.last_bytes = 0

    @property
    def size(self) -> int:
        return len(self.slots)

    def _get(self, refs: list) -> list:
        ray = _ray()
        try:
            return ray.get(refs)
        except Exception as exc:  # noqa: BLE001
            if _is_death(exc):
                raise _lost("A Ray actor of the split render", exc) from exc
            cause = getattr(exc, "cause", None)
            if isinstance(cause, StudioError):
                raise cause from exc
            raise

    def prepare(self, key: str, job: RenderJob) -> list[dict[str, Any]]:
        return self._get([s.handle.split_prepare.remote(key, job) for s in self.slots])

    def predict(self, key: str, step_index: int, x: np.ndarray, windows: list[list[int]],
                blocks: Sequence[list[int]]) -> list[list[np.ndarray]]:
        ray = _ray()
        xref = ray.put(x)  # one copy in the object store, read by every actor
        return self._get([s.handle.split_predict.remote(key, step_index, xref, windows, b)
                          for s, b in zip(self.slots, blocks)])

    def decode(self, key: str, chunks: Sequence[np.ndarray]) -> list[np.ndarray]:
        return self._get([self.slots[i % self.size].handle.split_decode.remote(key, c) for i, c in enumerate(chunks)])

    def end(self, key: str) -> None:
        for s in self.slots:
            try:
                s.handle.split_end.remote(key)
            except Exception:  # noqa: BLE001 - a dead actor holds nothing
                pass


class _RayLease:
    def __init__(self, executor: "RayExecutor", slots: list[_Slot], backend: Any) -> None:
        self.executor = executor
        self.slots = slots
        self.backend = backend

    def release(self) -> None:
        self.executor._release(self.slots)


class RayExecutor:
    """Queue jobs on Ray actors (see the module docstring).

    Parameters
    ----------
    address: a cluster to join (``ray://host:10001`` or ``host:6379``); default ``$RAY_ADDRESS``,
        else a local cluster started here.
    workers: CPU actors (default 1 when the cluster has GPUs, else 2).
    factories: how actors build backends (default :func:`studio.core.registry.create_backend`).
    num_cpus: CPUs of the local cluster (default: Ray's choice, all cores).
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 factories: BackendFactories | None = None, num_cpus: int | None = None) -> None:
        ray = _ray()
        from studio.farm.ray_actors import actor_class

        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.factories = dict(factories or {})
        self._lock = threading.Lock()
        self._started = False
        if not ray.is_initialized():
            try:
                if self.address:
                    ray.init(address=self.address, log_to_driver=False)
                else:
                    # "local": always a new cluster of this process group, never one a `ray start` left
                    # registered on this machine (a stale registration would make ray.init() wait for it)
                    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
                    self._started = True
            except Exception as exc:  # noqa: BLE001 - connection problems of every kind
                where = f"the Ray cluster at {self.address}" if self.address else "a local Ray cluster"
                hint = ""
                if self.address:
                    hint = (" A cluster started with `ray start --head` checks a token: set RAY_AUTH_MODE=token "
                            "and RAY_AUTH_TOKEN to the head's `ray get-auth-token` here.")
                raise StudioError(
                    "Cannot start the render farm",
                    f"Could not connect to {where} ({type(exc).__name__}: {exc}). Check the address "
                    f"(`ray status` on the head machine) or run without --address for a local cluster.{hint}",
                    repr(exc),
                ) from exc
        resources = ray.cluster_resources()
        n_gpu = int(resources.get("GPU", 0))
        n_cpu = max(1, int(resources.get("CPU", 1)))
        if workers is None:
            workers = 1 if n_gpu else min(2, n_cpu)
        if workers < 1 and not n_gpu:
            raise StudioError("No workers", f"--workers {workers}: the queue needs at least one worker.")
        self._gpu_cls = actor_class(num_cpus=1, num_gpus=1)
        self._cpu_cls = actor_class(num_cpus=1, num_gpus=0)
        self.slots: list[_Slot] = [_Slot("gpu", i, self._new("gpu")) for i in range(n_gpu)]
        self.slots += [_Slot("cpu", i, self._new("cpu")) for i in range(max(0, workers))]

    def _new(self, kind: str) -> Any:
        cls = self._gpu_cls if kind == "gpu" else self._cpu_cls
        return cls.remote(self.factories)

    # -- executor protocol -------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        """Jobs that can run at once (one per actor)."""
        return len(self.slots)

    def describe(self) -> str:
        """What runs the jobs."""
        gpus = sum(s.kind == "gpu" for s in self.slots)
        cpus = len(self.slots) - gpus
        where = self.address or "a local Ray cluster"
        return f"{gpus} GPU and {cpus} CPU Ray actors on {where}"

    def _model_slots(self) -> list[_Slot]:
        gpu = [s for s in self.slots if s.kind == "gpu"]
        return gpu or [s for s in self.slots if s.kind == "cpu"]

    def _pool_for(self, backend: str) -> list[_Slot]:
        """GPU actors (when there are any) for backends with model weights, CPU actors otherwise."""
        from studio.core import registry

        if registry.get_spec(backend).capabilities.needs_weights:
            return self._model_slots()
        return [s for s in self.slots if s.kind == "cpu"]

    def acquire(self, backend: str) -> _RayLease | None:
        """A free actor for a job of ``backend``: GPU actors for backends with model weights when
        there are any, CPU actors otherwise and for weight-free backends."""
        from studio.core.registry import create_backend as get_backend

        pool = self._pool_for(backend)
        with self._lock:
            free = next((s for s in pool if not s.busy), None)
            if free is None:
                return None
            free.busy = True
        local = self.factories[backend]() if backend in self.factories else get_backend(backend)
        return _RayLease(self, [free], RemoteBackend(local, lambda job: _RayStream(free, job), free.label))

    def can_split(self, backend: str) -> bool:
        """``backend`` can split a clip and there are at least two actors for it."""
        from studio.core import registry

        return registry.get_spec(backend).capabilities.split_render and len(self._pool_for(backend)) >= 2

    def acquire_split(self, backend: str) -> _RayLease | None:
        """Every actor for ``backend``, when all are free and there are at least two."""
        pool = self._pool_for(backend)
        if len(pool) < 2:
            return None
        with self._lock:
            if any(s.busy for s in pool):
                return None
            for s in pool:
                s.busy = True
        return _RayLease(self, pool, SplitBackend(_RayPool(pool), backend))

    def _release(self, slots: list[_Slot]) -> None:
        ray = _ray()
        for s in slots:
            try:
                ray.get(s.handle.ping.remote(), timeout=PING_TIMEOUT)
            except Exception:  # noqa: BLE001 - dead or stuck: replace it
                try:
                    ray.kill(s.handle)
                except Exception:  # noqa: BLE001
                    pass
                s.handle = self._new(s.kind)
            with self._lock:
                s.busy = False

    @property
    def slots_free(self) -> int:
        """Actors not holding a job."""
        return sum(not s.busy for s in self.slots)

    def actor_pids(self) -> list[int]:
        """Process ids of the actors (tests kill one)."""
        ray = _ray()
        return ray.get([s.handle.pid.remote() for s in self.slots])

    def close(self) -> None:
        """Stop the actors, and the local cluster if this executor started it."""
        ray = _ray()
        for s in self.slots:
            try:
                ray.kill(s.handle)
            except Exception:  # noqa: BLE001
                pass
        self.slots = []
        if self._started and ray.is_initialized():
            ray.shutdown()
