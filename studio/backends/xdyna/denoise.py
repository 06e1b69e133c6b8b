"""The X-Dyna denoising loop over sliding windows (``reference`` and ``static`` schedules).

Every step: draw the windows (reference schedule: shifted by the step's recorded offset), run
the UNet once per window on ``[reference] + window`` for both CFG halves (``[uncond, cond]``),
fuse the windows' noise predictions per frame with the plan's weights (flat = the official
plain average), apply CFG to the fused prediction, and take one DDIM step on every frame but
the reference, which is never updated.

Step-loop hygiene (nothing in the loop waits for the GPU): the frame index tensors of every
window and the timesteps are put on the device once, before the first step
(:meth:`Denoiser.prepare`); frames are gathered and scattered with ``index_select``/``index_add_``
on those tensors; the per-frame fusion counts are summed on the device; whether the two text
embeddings are equal (so the ControlNet residuals can be shared) is decided once per render.

Memory and speed options (:class:`Denoiser` fields): ``sequential_cfg`` runs the uncond and cond
halves one after the other (batch 1, the same numbers up to float noise) instead of as a batch
of 2; a guidance scale of 1 runs the cond half only (``uncond + 1 * (cond - uncond)`` is
``cond``); ``placement`` moves the ControlNets on and off the device around their calls in the
low-VRAM setting (:mod:`.placement`); ``preview`` receives latent-resolution previews of the frames
a step changed, throttled so they stay a small share of step time (:mod:`.preview`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from studio.backends.xdyna.residuals import ControlBranch, EvalCounts, StepResiduals
from studio.backends.xdyna.sampler import DDIMSchedule
from studio.backends.xdyna.trace import Trace
from studio.core.cancel import CancelToken
from studio.core.windows import WindowPlan, window_weights

#: ``callback(step_index, timestep, x0)`` with x0 the (1, 4, N, h, w) predicted clean latents.
StepCallback = Callable[[int, int, torch.Tensor], None]


@dataclass
class Denoiser:
    """What one render's denoising needs; built by :class:`~.pipeline.XDynaPipeline`."""

    unet: nn.Module
    schedule: DDIMSchedule
    branches: Sequence[ControlBranch]
    text_embeds: tuple[torch.Tensor, torch.Tensor]  # (uncond, cond), each (1, 77, D)
    hidden_states: torch.Tensor  # (2, 77 + 16, D): [uncond, cond] text + IP tokens
    guidance_scale: float
    conditioning_scale: float = 1.0
    reuse_residuals: bool = True
    counts: EvalCounts = field(default_factory=EvalCounts)
    trace: Trace | None = None
    cancel: CancelToken | None = None
    callback: StepCallback | None = None
    sequential_cfg: bool = False
    placement: Any = None  # a .placement.Placement, or None (everything stays where it is)
    preview: Any = None  # a .preview.PreviewSink, or None
    texts_equal: bool | None = None  # whether the uncond and cond text embeddings are equal

    def __post_init__(self) -> None:
        # guidance 1 makes the uncond half irrelevant: only the cond half runs
        self.active_halves: tuple[int, ...] = (1,) if self.guidance_scale == 1.0 else (0, 1)
        texts = [self.text_embeds[h] for h in self.active_halves]
        if len(texts) < 2:
            self.texts_equal = False
        elif self.texts_equal is None:  # compared once per render (torch.equal waits for the device)
            self.texts_equal = bool(torch.equal(texts[0], texts[1]))
        self._texts = texts
        self._hidden = self.hidden_states[list(self.active_halves)] if len(self.active_halves) == 1 \
            else self.hidden_states
        self._indices: dict[tuple[int, ...], torch.Tensor] = {}
        self._timesteps: dict[int, torch.Tensor] = {}

    @property
    def halves(self) -> int:
        """How many CFG halves each UNet call runs (1 when the guidance scale is 1)."""
        return len(self.active_halves)

    def prepare(self, windows: Sequence[Sequence[int]], timesteps: Sequence[int], device: torch.device) -> None:
        """Put the frame indices of ``windows`` and the ``timesteps`` on ``device`` in one copy each,
        so the step loop never builds a tensor from host data."""
        new = sorted({tuple(int(f) for f in w) for w in windows} - self._indices.keys())
        if new:
            flat = torch.tensor([f for w in new for f in w], dtype=torch.long).to(device)
            for w, part in zip(new, flat.split([len(w) for w in new])):
                self._indices[w] = part
        todo = [int(t) for t in timesteps if int(t) not in self._timesteps]
        if todo:
            for t, value in zip(todo, torch.tensor(todo, dtype=torch.long).to(device)):
                self._timesteps[t] = value

    def index(self, frames: Sequence[int], device: torch.device) -> torch.Tensor:
        """The device index tensor of ``frames`` (built by :meth:`prepare`, else now)."""
        key = tuple(int(f) for f in frames)
        if key not in self._indices:
            self._indices[key] = torch.tensor(key, dtype=torch.long, device=device)
        return self._indices[key]

    def timestep(self, t: int) -> torch.Tensor | int:
        """The device tensor of timestep ``t`` when :meth:`prepare` made one, else ``t``."""
        return self._timesteps.get(int(t), t)

    def _phase(self, name: str):
        return self.placement.phase(name) if self.placement is not None else contextlib.nullcontext()

    def residuals(self, latents: torch.Tensor, t: int, windows: Sequence[Sequence[int]]) -> StepResiduals:
        """Lazy ControlNet residuals of ``latents`` (1, 4, N, h, w) for this step's windows."""
        hook = None
        if self.trace is not None and self.counts.controlnet_frames == 0:
            hook = self.trace.controlnet_hook()
        return StepResiduals(
            self.branches, latents, self.timestep(t), self._texts, windows, self.conditioning_scale,
            self.counts, reuse=self.reuse_residuals, on_computed=hook, texts_equal=self.texts_equal,
        )

    def predict(
        self, ref: torch.Tensor, frames_latents: torch.Tensor, t: int, res: StepResiduals, frames: Sequence[int]
    ) -> torch.Tensor:
        """UNet noise prediction ``(H, 4, 1 + F, h, w)`` (float32) for the window ``frames``
        whose current latents are ``frames_latents`` (1, 4, F, h, w); ``ref`` is (1, 4, h, w).
        ``H`` is :attr:`halves`: 2 (``[uncond, cond]``), or 1 (cond) when the guidance scale is 1."""
        dtype = self.hidden_states.dtype
        halves = self.halves
        single = torch.cat([ref[:, :, None], frames_latents], dim=2).to(dtype)
        with self._phase("controlnet"):
            residuals = res.halves(frames) if self.branches else [(None, None)] * halves
        if self.trace is not None and self.counts.unet_calls == 0:
            self.trace.put("unet_call0_sample", single.repeat(halves, 1, 1, 1, 1))
            self.trace.put("unet_call0_encoder_hidden_states", self._hidden)
        t_in = self.timestep(t)
        with self._phase("unet"):
            if self.sequential_cfg and halves == 2:
                outs = []
                for h, (down, mid) in enumerate(residuals):
                    out = self.unet(single, t_in, self._hidden[h : h + 1], down_block_additional_residuals=down,
                                    mid_block_additional_residual=mid)
                    outs.append(getattr(out, "sample", out).float())
                    del down, mid, out
                residuals = None
                out = torch.cat(outs)
            else:
                sample = single.repeat(halves, 1, 1, 1, 1) if halves > 1 else single
                if residuals[0][0] is None:
                    down = mid = None
                elif halves == 1:
                    down, mid = residuals[0]
                else:
                    down = [torch.cat([r[0][k] for r in residuals]) for k in range(len(residuals[0][0]))]
                    mid = torch.cat([r[1] for r in residuals])
                residuals = None
                out = self.unet(sample, t_in, self._hidden, down_block_additional_residuals=down,
                                mid_block_additional_residual=mid)
                out = getattr(out, "sample", out).float()
        self.counts.unet_calls += 1
        self.counts.unet_frames += halves * single.shape[2]
        return out

    def guide(self, eps_pair: torch.Tensor) -> torch.Tensor:
        """Classifier-free guidance of a ``(2, ...)`` [uncond, cond] prediction -> ``(1, ...)``;
        a ``(1, ...)`` (cond only, guidance 1) prediction is returned as it is."""
        if eps_pair.shape[0] == 1:
            return eps_pair
        return guide(eps_pair, self.guidance_scale)

    def emit_preview(self, step_index: int, frames: Sequence[int], x0: torch.Tensor) -> None:
        """Hand the predicted clean latents ``x0`` (1, 4, len(frames), h, w) of the frames this
        step changed to :attr:`preview` when its throttle says a preview is due."""
        if self.preview is not None and self.preview.due():
            self.preview(step_index, frames, x0)

    def check_cancel(self) -> None:
        """Raise :class:`~studio.core.errors.RenderCancelled` if the render was cancelled."""
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()


def guide(eps_pair: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance of a ``(2, ...)`` [uncond, cond] prediction -> ``(1, ...)``."""
    uncond, cond = eps_pair.chunk(2)
    return uncond + scale * (cond - uncond)


class WindowFusion:
    """Fuses one step's window predictions per frame with the plan's weights.

    Windows must be added in the step's window order: the sums are then the same float
    operations in the same order whether the predictions were made here or by other workers
    (:mod:`studio.farm.split`), so the result is bit-identical.
    """

    def __init__(self, x: torch.Tensor, weighting: str, halves: int = 2,
                 index: Callable[[Sequence[int], torch.device], torch.Tensor] | None = None) -> None:
        """``x`` (1, 4, N, h, w) are the step's latents (shape, device); ``weighting`` the plan's;
        ``halves`` the CFG halves of each prediction; ``index(frames, device)`` gives the device
        index tensor of a window (:meth:`Denoiser.index`; default: built on each call)."""
        self.weighting = weighting
        self.eps_sum = torch.zeros((halves, *x.shape[1:]), dtype=torch.float32, device=x.device)
        self.total = torch.zeros(x.shape[2], dtype=torch.float64, device=x.device)
        self._index = index or (lambda frames, device: torch.tensor(list(frames), dtype=torch.long, device=device))

    def add(self, frames: Sequence[int], pred: torch.Tensor) -> None:
        """Add the ``(halves, 4, 1 + F, h, w)`` prediction of the window ``frames`` (reference first)."""
        device = self.eps_sum.device
        idx = self._index(frames, device)
        pred = pred.to(device)
        if self.weighting == "flat":
            self.eps_sum.index_add_(2, idx, pred[:, :, 1:])
            self.total.index_add_(0, idx, _ones(len(frames), device))
        else:
            w = _window_weights(len(frames), self.weighting, device)
            self.eps_sum.index_add_(2, idx, w.float().view(1, 1, -1, 1, 1) * pred[:, :, 1:])
            self.total.index_add_(0, idx, w)

    def result(self) -> torch.Tensor:
        """The fused ``(halves, 4, N, h, w)`` prediction (before guidance)."""
        return self.eps_sum / self.total.float().view(1, 1, -1, 1, 1)


_WEIGHTS: dict[tuple[int, str, str], torch.Tensor] = {}


def _window_weights(length: int, weighting: str, device: torch.device) -> torch.Tensor:
    """The plan's per-frame window weights as a float64 device tensor, made once per shape."""
    key = (length, weighting, str(device))
    if key not in _WEIGHTS:
        _WEIGHTS[key] = torch.as_tensor(np.asarray(window_weights(length, weighting), np.float64), device=device)
    return _WEIGHTS[key]


def _ones(length: int, device: torch.device) -> torch.Tensor:
    return _window_weights(length, "flat", device)


def denoise_windows(
    den: Denoiser,
    latents: torch.Tensor,
    plan: WindowPlan,
    offsets: Sequence[int],
    steps: int,
) -> torch.Tensor:
    """Denoise ``latents`` (1, 4, N+1, h, w; frame 0 = reference) over every window each step.

    Returns the final latents of the N frames, (1, 4, N, h, w) float32.
    """
    sched = den.schedule
    ref = latents[:, :, 0]
    x = latents[:, :, 1:].float().clone()
    timesteps = sched.timesteps(steps)
    every_window = [w for i in range(steps) for w in plan.windows(int(offsets[i]))]
    den.prepare(every_window, timesteps, x.device)
    all_frames = tuple(range(x.shape[2]))
    for step_index, t in enumerate(timesteps):
        den.check_cancel()
        offset = int(offsets[step_index])
        windows = plan.windows(offset)
        res = den.residuals(x, t, windows)
        fusion = WindowFusion(x, plan.weighting, den.halves, den.index)
        for frames in windows:
            pred = den.predict(ref, x.index_select(2, den.index(frames, x.device)), t, res, frames)
            fusion.add(frames, pred)
            if den.trace is not None:
                den.trace.add("unet_window_outputs", pred)
        eps = den.guide(fusion.result())
        x_prev, x0 = sched.step(eps, t, x, steps)
        if den.trace is not None:
            den.trace.add_step(step_index, t, offset, windows, x, eps, x_prev)
        x = x_prev
        if den.callback is not None:
            den.callback(step_index, t, x0)
        den.emit_preview(step_index, all_frames, x0)
    return x
