"""ResNet block of the X-Dyna UNet, with GroupNorm statistics pooled over all frames.

The official ``ResnetBlock3D`` (and the UNet's ``conv_norm_out``) apply a plain
``torch.nn.GroupNorm`` to 5-D ``(batch, C, frames, h, w)`` tensors, because
``use_inflated_groupnorm`` is left at False. Their mean and variance are therefore computed
over every frame of the call, the clean reference frame included: changing one frame changes
the normalised features of all others. That coupling is part of the trained model, so it is
reproduced exactly here; it is also why the reference frame has to run inside every window's
forward pass (its features depend on the window's noisy frames and on t).

Everything in :mod:`studio.backends.xdyna.unet3d` runs on ``(batch * frames, C, h, w)`` tensors
(frames of one batch element contiguous) so convolutions, spatial attention and the motion
modules need no layout changes; :class:`FramePooledGroupNorm` computes the pooled statistics
directly in that layout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_EXACT_DTYPES = (torch.float32, torch.float64)
_HALF_CHUNK_ELEMENTS = 1 << 24


def _pooled_stats(grouped: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Biased variance and mean of ``grouped`` (b, f, g, n) over dims (1, 3), shaped (b, 1, g, 1).

    float32/float64 inputs are reduced directly. Half inputs are reduced per (frame, group) in
    float32 a few frames at a time (no full float32 copy of a large activation; a float16
    variance could overflow) and combined exactly: with equal counts per frame,
    ``var = mean_f(var_f + (mean_f - mean)^2)``.
    """
    if grouped.dtype in _EXACT_DTYPES:
        return torch.var_mean(grouped, dim=(1, 3), correction=0, keepdim=True)
    batch, frames, groups, count = grouped.shape
    rows = grouped.reshape(batch * frames, groups, count)
    step = max(1, _HALF_CHUNK_ELEMENTS // (groups * count))
    parts = [torch.var_mean(chunk.float(), dim=2, correction=0) for chunk in rows.split(step)]
    frame_var = torch.cat([v for v, _ in parts]).view(batch, frames, groups)
    frame_mean = torch.cat([m for _, m in parts]).view(batch, frames, groups)
    mean = frame_mean.mean(dim=1, keepdim=True)
    var = (frame_var + (frame_mean - mean).square()).mean(dim=1, keepdim=True)
    return var.unsqueeze(-1), mean.unsqueeze(-1)


class FramePooledGroupNorm(nn.GroupNorm):
    """GroupNorm over ``(channels-in-group, frames, h, w)`` for inputs laid out as ``(b*f, C, h, w)``.

    Numerically the same as an affine ``nn.GroupNorm`` applied to the ``(b, C, f, h, w)`` tensor;
    weight and bias keys are those of ``nn.GroupNorm``. Statistics are computed in float32 for half inputs
    (see :func:`_pooled_stats`).
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__(num_groups, num_channels, eps=eps, affine=True)

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:  # type: ignore[override]
        """Normalise ``hidden_states`` (batch * num_frames, C, h, w) with per-(batch, group) statistics."""
        rows, channels, height, width = hidden_states.shape
        batch, groups = rows // num_frames, self.num_groups
        per_group = channels // groups
        grouped = hidden_states.reshape(batch, num_frames, groups, per_group * height * width)
        var, mean = _pooled_stats(grouped)  # (b, 1, g, 1)
        scale = torch.rsqrt(var + self.eps) * self.weight.view(1, 1, groups, per_group).to(var.dtype)  # (b,1,g,cg)
        shift = self.bias.view(1, 1, groups, per_group).to(var.dtype) - mean * scale
        dtype = hidden_states.dtype
        scale = scale.reshape(batch, 1, channels, 1).to(dtype)
        shift = shift.reshape(batch, 1, channels, 1).to(dtype)
        video = hidden_states.reshape(batch, num_frames, channels, height * width)
        return torch.addcmul(shift, video, scale).view(rows, channels, height, width)


class ResnetBlock3D(nn.Module):
    """SD ResNet block applied per frame, except that ``norm1``/``norm2`` pool over frames.

    ``norm1 -> SiLU -> conv1 -> + time_emb_proj(SiLU(temb)) -> norm2 -> SiLU -> conv2``, plus the
    (1x1 ``conv_shortcut``) input, divided by ``output_scale_factor``. Keys match the official
    checkpoint: ``norm1, conv1, time_emb_proj, norm2, conv2[, conv_shortcut]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        temb_channels: int,
        groups: int,
        eps: float,
        output_scale_factor: float = 1.0,
    ) -> None:
        super().__init__()
        self.output_scale_factor = output_scale_factor
        self.norm1 = FramePooledGroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = FramePooledGroupNorm(groups, out_channels, eps=eps)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.conv_shortcut = (
            nn.Conv2d(in_channels, out_channels, kernel_size=1) if in_channels != out_channels else None
        )

    def forward(self, hidden_states: torch.Tensor, temb: torch.Tensor, num_frames: int) -> torch.Tensor:
        """``hidden_states`` (b*f, C_in, h, w), ``temb`` (b, temb_channels) -> (b*f, C_out, h, w)."""
        residual = hidden_states
        # In-place SiLU/adds only touch fresh intermediates: fewer allocations, same numbers.
        hidden_states = F.silu(self.norm1(hidden_states, num_frames), inplace=True)
        hidden_states = self.conv1(hidden_states)
        rows, channels, height, width = hidden_states.shape
        time = self.time_emb_proj(F.silu(temb))  # (b, C_out), one per batch element for all its frames
        hidden_states.view(rows // num_frames, num_frames, channels, height, width).add_(time[:, None, :, None, None])
        hidden_states = F.silu(self.norm2(hidden_states, num_frames), inplace=True)
        hidden_states = self.conv2(hidden_states)
        if self.conv_shortcut is not None:
            residual = self.conv_shortcut(residual)
        output = hidden_states.add_(residual)
        if self.output_scale_factor != 1.0:
            output = output / self.output_scale_factor
        return output
