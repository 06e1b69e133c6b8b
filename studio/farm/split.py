"""One clip rendered by several workers at once, for backends whose spec has a split render
(:class:`~studio.core.backend.SplitRender`; X-Dyna's reference and static schedules).

Within one denoising step the windows are independent given the step's latents, so the driver

1. asks every worker to prepare the render (each builds the same initial latents from the seed;
   the weights stay where they are),
2. every step, sends the clip latents to the workers and gives each a contiguous block of the
   step's windows; each returns its windows' noise predictions,
3. fuses the predictions in the single-process window order with the pipeline's own
   window fusion (X-Dyna's ``WindowFusion``), applies guidance and the DDIM step,
4. saves the final latents beside the PNGs and has the workers VAE-decode chunks of frames.

The float operations of the fusion and the step are those of the single-process loop in the
same order, so on the CPU the frames are byte-identical to an unsplit render. The ``stream``
schedule is sequential by design (window k+1 starts from window k's result): it parallelises
across jobs only, never within one.

Cost model, per step: the latents go to each worker (``4 N h w`` floats) and one prediction per
window comes back (``2 x 4 x 17 h w`` floats): at 512x896 (64x112 latents) and 48 frames about
5.5 MB out per worker and 3.9 MB back per window, against 0.25-1.5 s of GPU work per window.
:func:`transfer_bytes` computes it.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import Progress, RenderEvent, StepPreview
from studio.core.jobs import RenderJob
from studio.core.render_store import ResumeStore
from studio.core.resume import denoise_then_decode
from studio.farm.worker import for_worker

#: Frames per decode chunk (as the single-process backend).
DECODE_CHUNK = 4


class SplitPool(Protocol):
    """Several workers that serve the ``split_*`` calls of :class:`~studio.farm.worker.Worker`
    in parallel; results come back in worker order."""

    @property
    def size(self) -> int:
        """How many workers."""

    def prepare(self, key: str, job: RenderJob) -> list[dict[str, Any]]:
        """``split_prepare`` on every worker."""

    def predict(self, key: str, step_index: int, x: np.ndarray, windows: list[list[int]],
                blocks: Sequence[list[int]]) -> list[list[np.ndarray]]:
        """``split_predict`` of the windows ``blocks[i]`` on worker ``i``."""

    def decode(self, key: str, chunks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``split_decode`` of chunk ``i`` on worker ``i % size``."""

    def end(self, key: str) -> None:
        """``split_end`` on every worker."""


def divide(n_windows: int, n_workers: int) -> list[list[int]]:
    """Window indices ``0..n_windows-1`` in contiguous blocks, one per worker (empty blocks
    dropped): blocks keep neighbouring windows, which share ControlNet frames, together."""
    blocks = np.array_split(np.arange(n_windows), max(1, min(n_workers, n_windows)))
    return [b.tolist() for b in blocks if len(b)]


def transfer_bytes(n_frames: int, latent_hw: tuple[int, int], windows: Sequence[Sequence[int]],
                   n_workers: int, halves: int = 2) -> int:
    """Bytes moved per denoising step: the clip latents to each worker used, and each window's
    prediction (``halves`` CFG halves, reference frame included) back, float32."""
    h, w = latent_hw
    used = len(divide(len(windows), n_workers))
    out = used * 4 * n_frames * h * w * 4
    back = sum(halves * 4 * (1 + len(win)) * h * w * 4 for win in windows)
    return out + back


class SplitBackend:
    """A :class:`~studio.core.backend.Backend` that renders a job of backend ``name`` across a
    :class:`SplitPool` (see the module docstring). Used by the runner for queued jobs with
    ``split`` set; :func:`studio.core.render.run_job` drives it like any backend."""

    def __init__(self, pool: SplitPool, name: str) -> None:
        from studio.core import registry

        self.pool = pool
        self.name = name
        self.spec = registry.get_spec(name)
        self.capabilities = self.spec.capabilities
        #: Bytes sent and received in the last step (for the bench).
        self.last_step_bytes = 0

    def load(self) -> None:
        """The workers load their own models (in :meth:`SplitPool.prepare`)."""

    def close(self) -> None:
        """Nothing is held here: the workers keep their models for the next job."""

    def available(self) -> tuple[bool, str]:
        """Ready when the pool has at least two workers."""
        if self.pool.size < 2:
            return False, "A split render needs at least two workers."
        return True, f"split across {self.pool.size} workers"

    def render(self, job: RenderJob, cancel: CancelToken, store: ResumeStore | None = None) -> Iterator[RenderEvent]:
        """Render ``job`` across the pool; events as the backend's own render, resumed from
        ``store`` as it is (:func:`~studio.core.resume.denoise_then_decode`)."""
        why = split_refusal(job)
        if why is not None:
            raise StudioError("This job cannot be split", f"This {job.backend} job cannot be split across workers: {why}.")
        store = store if store is not None else ResumeStore.nothing()
        key = f"{job.fingerprint()}-{uuid.uuid4().hex[:8]}"
        try:
            yield Progress(0, 1, "load", f"Preparing the render on {self.pool.size} workers")
            infos = self.pool.prepare(key, for_worker(job))
            yield Progress(1, 1, "load")
            cancel.raise_if_cancelled()
            info = infos[0]
            # equal on CPUs; GPUs of different models may differ in float rounding, different weights do not
            if any(not np.allclose(i["latents"], info["latents"], rtol=0, atol=1e-2) for i in infos[1:]):
                raise StudioError(
                    "Workers disagree",
                    "The workers of a split render prepared different initial latents: they do not run the "
                    "same studio version or weights. Install the same version and weights on every machine of "
                    "the cluster, or queue the job without --split.",
                )

            def decode(chunks: Sequence[list[int]], latents: np.ndarray) -> list[np.ndarray]:
                return self.pool.decode(key, [np.ascontiguousarray(latents[:, :, c]) for c in chunks])

            yield from denoise_then_decode(store, job.n_frames, lambda: self._denoise(job, key, info, cancel),
                                           decode, cancel, DECODE_CHUNK, batch=self.pool.size)
        finally:
            with contextlib.suppress(Exception):
                self.pool.end(key)

    def _denoise(self, job: RenderJob, key: str, info: dict[str, Any], cancel: CancelToken) -> Iterator[Any]:
        """The backend's denoising loop with the windows' predictions made by the pool (X-Dyna's
        reference/static loop); yields events, then the final latents."""
        den = self.spec.split_render().denoiser(info, job)
        steps = den.steps
        every = tuple(range(job.n_frames))
        for step_index in range(steps):
            cancel.raise_if_cancelled()
            windows = den.windows(step_index)
            blocks = divide(len(windows), self.pool.size)
            x = den.x
            preds = self.pool.predict(key, step_index, x, windows, blocks)
            self.last_step_bytes = transfer_bytes(x.shape[2], tuple(x.shape[3:]), windows, self.pool.size,
                                                  info["halves"])
            ordered = [p for block_preds in preds for p in block_preds]  # blocks are contiguous: step order
            preview = den.step(step_index, windows, ordered)
            yield Progress(step_index + 1, steps, "denoise")
            yield StepPreview(every, preview, step_index)
        yield den.x


def split_refusal(job: RenderJob) -> str | None:
    """Why ``job`` cannot be split across workers (``None``: it can): its backend has no split
    render, or the split render refuses these options (X-Dyna's stream schedule)."""
    from studio.core import registry

    split = registry.get_spec(job.backend).split_render() if registry.get_spec(job.backend).capabilities.split_render \
        else None
    if split is None:
        return f"the {job.backend} renderer renders a clip on one worker only; queue it without --split"
    return split.refusal(job)


class LocalSplitPool:
    """A :class:`SplitPool` of :class:`~studio.farm.worker.Worker` objects in this process, run
    one after another: the split arithmetic without a cluster (tests, and a reference for the
    Ray pool)."""

    def __init__(self, workers: Sequence[Any]) -> None:
        self.workers = list(workers)

    @property
    def size(self) -> int:
        """How many workers."""
        return len(self.workers)

    def prepare(self, key: str, job: RenderJob) -> list[dict[str, Any]]:
        """Prepare on every worker."""
        return [w.split_prepare(key, job) for w in self.workers]

    def predict(self, key: str, step_index: int, x: np.ndarray, windows: list[list[int]],
                blocks: Sequence[list[int]]) -> list[list[np.ndarray]]:
        """Block ``i`` on worker ``i``."""
        return [w.split_predict(key, step_index, x, windows, b) for w, b in zip(self.workers, blocks)]

    def decode(self, key: str, chunks: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Chunk ``i`` on worker ``i % size``."""
        return [self.workers[i % self.size].split_decode(key, c) for i, c in enumerate(chunks)]

    def end(self, key: str) -> None:
        """Forget the render on every worker."""
        for w in self.workers:
            w.split_end(key)
