"""The tiled Euler sampling loop of StableAnimator (SVD-xt + PoseNet + ID adapter).

Per step, for every tile (frame 0 + a run of frames, :mod:`tiles`), the UNet predicts the
unconditional pass (zero CLIP and ID tokens, zero image latents, no pose) and the conditional one
(CLIP + ID tokens, the reference latents, PoseNet features added after ``conv_in``). Both passes
run as one batch of two; the pose features of the unconditional half are zero, which adds
nothing. ``tiles_per_call`` tiles share one UNet call (batch ``2 x tiles``, laid out
``[uncond 0, cond 0, uncond 1, cond 1, ...]``): within a step every tile reads the same input
latents, so this only batches independent work (fewer, larger calls; same arithmetic). Tile
predictions are blended with triangular weights, divided by the summed weight per frame, then
guided per frame: ``uncond + g_f (cond - uncond)`` with ``g`` linear from
``min_guidance`` (frame 0) to ``max_guidance`` (last frame). The scheduler then takes one step
on the whole clip; in HJB refine steps (a :class:`~.hjb.FaceRefiner`) the Euler step's clean-latent
estimate is first optimised for the face's identity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from studio.backends.stableanimator.tiles import tile_indices


@dataclass
class StepState:
    """One finished step: its index, timestep, the guided prediction, the latents after it and the
    scheduler's estimate of the clean latents (what previews show)."""

    step: int
    steps: int
    timestep: float
    latents: torch.Tensor
    noise_pred: torch.Tensor
    denoised: torch.Tensor


class PoseInjection:
    """Adds per-call pose features to a UNet's ``conv_in`` output (a forward hook, no new keys)."""

    def __init__(self, unet: nn.Module) -> None:
        self.features: torch.Tensor | None = None
        self._handle = unet.conv_in.register_forward_hook(self._hook)

    def _hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        return output if self.features is None else output + self.features

    def remove(self) -> None:
        """Take the hook off the UNet."""
        self._handle.remove()


def tile_weight(size: int, device: torch.device) -> torch.Tensor:
    """Triangular blending weights of a tile's slots (as the official pipeline computes them)."""
    w = (torch.arange(size, device=device) + 0.5) * 2.0 / size
    return torch.minimum(w, 2 - w)


def guidance_ramp(min_guidance: float, max_guidance: float, frames: int, device, dtype) -> torch.Tensor:
    """Per-frame guidance scales, shape (1, frames, 1, 1, 1)."""
    return torch.linspace(min_guidance, max_guidance, frames).to(device, dtype)[None, :, None, None, None]


def denoise_tiled(
    unet: nn.Module,
    pose_injection: PoseInjection,
    scheduler,
    latents: torch.Tensor,
    image_latents: torch.Tensor,
    encoder_states: torch.Tensor,
    added_time_ids: torch.Tensor,
    pose_features: list[torch.Tensor],
    tile_size: int,
    tile_overlap: int,
    guidance: torch.Tensor,
    on_unet: Callable[[int, int, torch.Tensor], None] | None = None,
    refiner=None,
    tiles_per_call: int = 1,
) -> Iterator[StepState]:
    """Denoise ``latents`` (1, F, 4, h, w) over ``scheduler.timesteps``, yielding after every step
    (the last state holds the final latents); stopping the iteration stops the render.

    ``image_latents`` (2, F, 4, h, w) and ``encoder_states`` (2, 1 + tokens, C) hold [uncond, cond];
    ``pose_features[i]`` are PoseNet's features of tile ``i``. ``on_unet(step, tile, out)`` sees each
    tile's (2, T, 4, h, w) prediction. ``refiner`` (a :class:`~.hjb.FaceRefiner`, or None) takes the
    Euler step of the steps its settings name.
    """
    frames = latents.shape[1]
    tiles = tile_indices(frames, tile_size, tile_overlap)
    weight = tile_weight(tile_size, latents.device)
    n = max(1, tiles_per_call)
    groups = [list(range(g, min(g + n, len(tiles)))) for g in range(0, len(tiles), n)]
    # per call, built once: the pose features of [uncond (zero), cond] of each tile, the encoder states and time ids
    pose = [torch.cat([f for j in g for f in (torch.zeros_like(pose_features[j]), pose_features[j])]) for g in groups]
    states = [encoder_states.repeat(len(g), 1, 1) for g in groups]
    time_ids = [added_time_ids.repeat(len(g), 1) for g in groups]
    count = image_latents.new_zeros((frames,))
    for idx in tiles:
        count[idx] += weight
    timesteps = scheduler.timesteps
    for i, t in enumerate(timesteps):
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        model_input = torch.cat([model_input, image_latents], dim=2)
        pred = torch.zeros_like(image_latents)
        for g, group in enumerate(groups):
            pose_injection.features = pose[g]
            out = unet(torch.cat([model_input[:, tiles[j]] for j in group]), t, encoder_hidden_states=states[g],
                       added_time_ids=time_ids[g], return_dict=False)[0]
            pose_injection.features = None
            for k, j in enumerate(group):
                tile_out = out[2 * k: 2 * k + 2]
                if on_unet is not None:
                    on_unet(i, j, tile_out)
                pred[:, tiles[j]] += tile_out * weight[:, None, None, None]
        pred.div_(count[:, None, None, None])
        uncond, cond = pred.chunk(2)
        pred = uncond + guidance * (cond - uncond)
        if refiner is not None and refiner.settings.active(i):
            latents, denoised = refiner.step(scheduler, i, len(timesteps), pred, t, latents)
        else:
            out = scheduler.step(pred, t, latents)
            latents, denoised = out.prev_sample, out.pred_original_sample
        yield StepState(i, len(timesteps), float(t), latents, pred, denoised)
