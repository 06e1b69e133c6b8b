"""The X-Dyna denoising loop over sliding windows (``reference`` and ``static`` schedules).

Every step: draw the windows (reference schedule: shifted by the step's recorded offset), run
the UNet once per window on ``[reference] + window`` for both CFG halves (``[uncond, cond]``),
fuse the windows' noise predictions per frame with the plan's weights (flat = the official
plain average), apply CFG to the fused prediction, and take one DDIM step on every frame but
the reference, which is never updated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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

    def residuals(self, latents: torch.Tensor, t: int, windows: Sequence[Sequence[int]]) -> StepResiduals:
        """Lazy ControlNet residuals of ``latents`` (1, 4, N, h, w) for this step's windows."""
        hook = None
        if self.trace is not None and self.counts.controlnet_frames == 0:
            hook = self.trace.controlnet_hook()
        return StepResiduals(
            self.branches, latents, t, self.text_embeds, windows, self.conditioning_scale,
            self.counts, reuse=self.reuse_residuals, on_computed=hook,
        )

    def predict(
        self, ref: torch.Tensor, frames_latents: torch.Tensor, t: int, res: StepResiduals, frames: Sequence[int]
    ) -> torch.Tensor:
        """UNet noise prediction ``(2, 4, 1 + F, h, w)`` (float32) for the window ``frames``
        whose current latents are ``frames_latents`` (1, 4, F, h, w); ``ref`` is (1, 4, h, w)."""
        dtype = self.hidden_states.dtype
        sample = torch.cat([ref[:, :, None], frames_latents], dim=2).to(dtype).repeat(2, 1, 1, 1, 1)
        down, mid = res.window(frames) if self.branches else (None, None)
        if self.trace is not None and self.counts.unet_calls == 0:
            self.trace.put("unet_call0_sample", sample)
            self.trace.put("unet_call0_encoder_hidden_states", self.hidden_states)
        out = self.unet(sample, t, self.hidden_states, down_block_additional_residuals=down,
                        mid_block_additional_residual=mid)
        out = getattr(out, "sample", out)
        self.counts.unet_calls += 1
        self.counts.unet_frames += sample.shape[0] * sample.shape[2]
        return out.float()

    def guide(self, eps_pair: torch.Tensor) -> torch.Tensor:
        """Classifier-free guidance of a ``(2, ...)`` [uncond, cond] prediction -> ``(1, ...)``."""
        uncond, cond = eps_pair.chunk(2)
        return uncond + self.guidance_scale * (cond - uncond)

    def check_cancel(self) -> None:
        """Raise :class:`~studio.core.errors.RenderCancelled` if the render was cancelled."""
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()


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
    n = x.shape[2]
    for step_index, t in enumerate(sched.timesteps(steps)):
        den.check_cancel()
        offset = int(offsets[step_index])
        windows = plan.windows(offset)
        res = den.residuals(x, t, windows)
        eps_sum = torch.zeros((2, *x.shape[1:]), dtype=torch.float32, device=x.device)
        total = np.zeros(n, np.float64)
        for frames in windows:
            pred = den.predict(ref, x[:, :, frames], t, res, frames)
            weights = window_weights(len(frames), plan.weighting)
            w = torch.as_tensor(weights, dtype=torch.float32, device=x.device).view(1, 1, -1, 1, 1)
            eps_sum[:, :, frames] += pred[:, :, 1:] if plan.weighting == "flat" else w * pred[:, :, 1:]
            np.add.at(total, frames, weights)
            if den.trace is not None:
                den.trace.add("unet_window_outputs", pred)
        counter = torch.as_tensor(total, dtype=torch.float32, device=x.device).view(1, 1, -1, 1, 1)
        eps = den.guide(eps_sum / counter)
        x_prev, x0 = sched.step(eps, t, x, steps)
        if den.trace is not None:
            den.trace.add_step(step_index, t, offset, windows, x, eps, x_prev)
        x = x_prev
        if den.callback is not None:
            den.callback(step_index, t, x0)
    return x
