"""The X-Dyna side of a render split across farm workers (:mod:`studio.farm.split` drives it).

Numpy in, numpy out: the farm never touches torch. A worker calls :func:`prepare_split` once
(the same initial latents on every worker, from the seed), then :func:`predict_windows` per step
for its block of windows and :func:`decode_latents` for chunks of final latents. The driver keeps
a :class:`SplitDenoiser`, which fuses the workers' predictions with the pipeline's own
:class:`~.denoise.WindowFusion` in the step's window order, applies guidance as
:meth:`~.denoise.Denoiser.guide` does and takes the DDIM step: the float operations of
:func:`~.denoise.denoise_windows`, in the same order, so CPU renders are bit-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from studio.backends.xdyna.denoise import WindowFusion, guide
from studio.backends.xdyna.preview import latents_to_rgb_preview, to_uint8
from studio.backends.xdyna.sampler import DDIMSchedule
from studio.core.jobs import RenderJob
from studio.core.windows import WindowPlan


def torch_threads() -> int:
    """The CPU threads torch uses in this process. Bit-identity with a single-process render
    holds at equal thread counts: more threads may group float reductions differently."""
    return int(torch.get_num_threads())


@dataclass(eq=False)
class WorkerState:
    """One split render's state on a worker."""

    prepared: Any  # .pipeline.PreparedRender
    pipe: Any  # .pipeline.XDynaPipeline


def prepare_split(backend: Any, job: RenderJob) -> tuple[WorkerState, dict[str, Any]]:
    """Load ``backend``'s pipeline for ``job`` and prepare the render; returns the worker's state
    and what the driver needs: the initial latents ``(1, 4, N + 1, h, w)`` (frame 0 = the
    reference), the per-step window offsets, guidance scale, CFG halves and output size."""
    from studio.backends.xdyna.backend import plan_for

    s = job.settings
    weights = backend._weights_for(job)
    pipe = backend.pipeline(weights, s.device, s.dtype, job.options.low_vram)
    call = backend.pipeline_call(job, plan_for(job), backend.uses_face(job, pipe, weights))
    prepared = pipe.prepare(call)
    info = {
        "latents": prepared.latents.float().cpu().numpy(),
        "offsets": [int(o) for o in prepared.draws.window_offsets],
        "guidance": float(prepared.denoiser.guidance_scale),
        "halves": int(prepared.denoiser.halves),
        "size": (int(call.pose.shape[1]), int(call.pose.shape[2])),
    }
    return WorkerState(prepared, pipe), info


def predict_windows(state: WorkerState, step_index: int, x: np.ndarray, windows: Sequence[Sequence[int]],
                    mine: Sequence[int]) -> list[np.ndarray]:
    """Noise predictions ``(H, 4, 1 + F, h, w)`` float32 of the step's windows ``mine`` (indices
    into ``windows``, all the step's windows) for the clip latents ``x`` (1, 4, N, h, w).

    ControlNet residuals come from the batches a single-process render uses (each frame with the
    first window of the step that needs it): frames shared with earlier windows of other workers
    are computed here in those windows' batches (:meth:`~.residuals.StepResiduals.fill`), so every
    prediction is bit-identical to the single-process one."""
    den, latents = state.prepared.denoiser, state.prepared.latents
    t = den.schedule.timesteps(state.prepared.steps)[step_index]
    xt = torch.from_numpy(np.array(x, np.float32)).to(latents.device)
    ref = latents[:, :, 0]
    windows = [list(w) for w in windows]
    needed = {f for i in mine for f in windows[i]}
    with torch.no_grad():
        res = den.residuals(xt, t, windows)
        if den.branches and den.reuse_residuals:
            seen: set[int] = set()
            for i, frames in enumerate(windows[: max(mine) + 1]):
                batch = [f for f in frames if f not in seen]
                seen.update(frames)
                if i not in mine and needed.intersection(batch):
                    res.fill(batch)
        out = []
        for i in sorted(mine):
            frames = windows[i]
            current = xt.index_select(2, den.index(frames, xt.device))
            out.append(den.predict(ref, current, t, res, frames).cpu().numpy())
        return out


def decode_latents(state: WorkerState, latents: np.ndarray) -> np.ndarray:
    """``(1, 4, F, h, w)`` final latents -> ``(F, H, W, 3)`` uint8 frames (VAE), as the backend decodes."""
    with torch.no_grad():
        return to_uint8(state.pipe.decode(torch.from_numpy(np.array(latents, np.float32))))


class SplitDenoiser:
    """The driver's half of the reference/static loop (see the module docstring)."""

    def __init__(self, info: dict[str, Any], plan: WindowPlan, steps: int) -> None:
        self.info = info
        self.plan = plan
        self.steps = steps
        self.schedule = DDIMSchedule()
        self.timesteps = self.schedule.timesteps(steps)
        self._x = torch.from_numpy(np.array(info["latents"], np.float32))[:, :, 1:].clone()

    @property
    def x(self) -> np.ndarray:
        """The clip's current latents ``(1, 4, N, h, w)`` float32."""
        return self._x.numpy()

    def windows(self, step_index: int) -> list[list[int]]:
        """The windows of step ``step_index`` (its recorded offset)."""
        return self.plan.windows(int(self.info["offsets"][step_index]))

    def step(self, step_index: int, windows: Sequence[Sequence[int]], preds: Sequence[np.ndarray]) -> np.ndarray:
        """Fuse ``preds`` (one per window, in the step's window order), guide, take the DDIM step;
        returns the uint8 preview ``(N, H, W, 3)`` of the predicted clean latents."""
        fusion = WindowFusion(self._x, self.plan.weighting, int(self.info["halves"]))
        for frames, pred in zip(windows, preds):
            fusion.add(list(frames), torch.from_numpy(np.array(pred)))
        fused = fusion.result()
        eps = fused if fused.shape[0] == 1 else guide(fused, self.info["guidance"])  # as Denoiser.guide
        self._x, x0 = self.schedule.step(eps, self.timesteps[step_index], self._x, self.steps)
        return latents_to_rgb_preview(x0, tuple(self.info["size"]))


class XDynaSplit:
    """X-Dyna's :class:`~studio.core.backend.SplitRender` (the spec's ``split``): the farm reaches
    the functions above only through it."""

    def refusal(self, job: RenderJob) -> str | None:
        """Why ``job`` cannot be split: the stream schedule is sequential by design."""
        if job.options.schedule == "stream":
            return ("the stream schedule renders window after window; queue it without --split and the farm "
                    "runs it beside other jobs")
        return None

    def prepare(self, backend: Any, job: RenderJob) -> tuple[WorkerState, dict[str, Any]]:
        """:func:`prepare_split`."""
        return prepare_split(backend, job)

    def predict(self, state: WorkerState, step_index: int, x: np.ndarray, windows: list[list[int]],
                mine: list[int]) -> list[np.ndarray]:
        """:func:`predict_windows`."""
        return predict_windows(state, step_index, x, windows, mine)

    def decode(self, state: WorkerState, latents: np.ndarray) -> np.ndarray:
        """:func:`decode_latents`."""
        return decode_latents(state, latents)

    def denoiser(self, info: dict[str, Any], job: RenderJob) -> SplitDenoiser:
        """The driver's :class:`SplitDenoiser` for ``job``."""
        from studio.backends.xdyna.backend import plan_for

        return SplitDenoiser(info, plan_for(job), job.options.steps)

    def threads(self) -> int:
        """:func:`torch_threads`."""
        return torch_threads()


#: The instance the spec names.
SPLIT = XDynaSplit()
