"""AnimateDiff v1 motion modules as used by X-Dyna (``VanillaTemporalModule``).

A motion module is a small transformer that attends along the time axis at every spatial
position. X-Dyna places one after every ResNet/spatial-transformer pair of the four down and
four up blocks (not in the mid block), with the official ``configs/x_dyna.yaml`` settings:
8 heads, 1 transformer block of two ``Temporal_Self`` attentions, sinusoidal position encoding
with ``max_len`` 24, and ``cross_id``.

Official quirks reproduced here
-------------------------------
* ``cross_id``: frame 0 of every UNet call is the clean reference latent. It is sliced off before
  the temporal transformer and concatenated back, unchanged, afterwards, so the reference never
  takes part in temporal attention and the motion module never changes it.
* Position encoding is a fixed sinusoidal table of ``max_len`` rows stored as a buffer ``pe``
  (``...attention_blocks.N.pos_encoder.pe``, shape (1, max_len, C)) and part of the checkpoint.
  It is added to the normalised tokens before q/k/v. A window longer than ``max_len`` frames
  (reference excluded) has no encoding and raises :class:`~studio.core.errors.StudioError`.
* The GroupNorm in front of the transformer is ``GroupNorm(32, C, eps=1e-6)`` with 32 groups
  hard-coded (the UNet's ``norm_num_groups`` is not passed through) and normalises each frame
  on its own.

Layout: tensors enter and leave as ``(batch * frames, C, h, w)`` (frames of one batch element
contiguous), the layout used throughout :mod:`studio.backends.xdyna.unet3d`. Inside, the
transformer runs on ``(batch * h * w, frames, C)`` token sequences; all per-token operations
(LayerNorm, Linear, feed-forward) are independent of that choice, so this is the same
computation as the official per-attention-block rearranges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import torch
from diffusers.models.attention_processor import Attention
from torch import nn

from studio.backends.xdyna.attention import TemporalAttnProcessor
from studio.backends.xdyna.feedforward import ChunkedFeedForward
from studio.core.errors import StudioError

MOTION_MODULE_GROUPS = 32
"""GroupNorm groups of the motion modules, hard-coded in the official code."""


@dataclass(frozen=True)
class MotionModuleConfig:
    """Hyper-parameters of one ``VanillaTemporalModule`` (the official ``motion_module_kwargs``).

    Defaults are the values of the official ``configs/x_dyna.yaml``.
    """

    num_attention_heads: int = 8
    num_transformer_block: int = 1
    attention_block_types: tuple[str, ...] = ("Temporal_Self", "Temporal_Self")
    temporal_position_encoding: bool = True
    temporal_position_encoding_max_len: int = 24
    temporal_attention_dim_div: int = 1
    zero_initialize: bool = True
    cross_id: bool = True
    cross_frame_attention_mode: Any = field(default=None)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any] | None) -> "MotionModuleConfig":
        """Build from the official ``motion_module_kwargs`` dict; unknown keys raise StudioError."""
        if kwargs is None:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise StudioError(
                "Unknown motion-module setting",
                f"motion_module_kwargs has unsupported keys {unknown}; supported: {sorted(known)}.",
            )
        values = dict(kwargs)
        if "attention_block_types" in values:
            values["attention_block_types"] = tuple(values["attention_block_types"])
        config = cls(**values)
        bad = [t for t in config.attention_block_types if t != "Temporal_Self"]
        if bad:
            raise StudioError(
                "Unsupported motion-module attention",
                f"Only 'Temporal_Self' attention blocks are used by X-Dyna, got {bad}.",
            )
        if config.cross_frame_attention_mode is not None:
            raise StudioError(
                "Unsupported motion-module setting",
                f"cross_frame_attention_mode must be None, got {config.cross_frame_attention_mode!r}.",
            )
        if config.num_attention_heads < 1 or config.num_transformer_block < 1:
            raise StudioError(
                "Invalid motion-module setting",
                "num_attention_heads and num_transformer_block must be at least 1.",
            )
        return config


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table ``pe`` (1, max_len, dim) to (batch, frames, dim) tokens."""

    def __init__(self, dim: int, max_len: int = 24) -> None:
        super().__init__()
        position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
        pe = torch.zeros(1, max_len, dim)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    @property
    def max_len(self) -> int:
        """Longest sequence the table covers."""
        return self.pe.shape[1]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Return ``tokens + pe[:, :frames]``."""
        frames = tokens.shape[1]
        if frames > self.max_len:
            raise StudioError(
                "Window too long for the motion modules",
                f"The motion modules' position encoding covers at most {self.max_len} frames per window, "
                f"got {frames}. Use a context window of at most {self.max_len} frames (X-Dyna uses 16).",
            )
        return tokens + self.pe[:, :frames].to(tokens.dtype)


class TemporalSelfAttention(Attention):
    """A diffusers ``Attention`` over the frame axis with the position encoding added to its input.

    Input and output: (batch * h * w, frames, C). Keys: ``to_q/to_k/to_v`` (no bias),
    ``to_out.0`` and ``pos_encoder.pe`` (when position encoding is on).
    """

    def __init__(self, dim: int, heads: int, dim_head: int, position_encoding: bool, max_len: int) -> None:
        super().__init__(query_dim=dim, heads=heads, dim_head=dim_head, bias=False)
        self.set_processor(TemporalAttnProcessor())
        self.pos_encoder = SinusoidalPositionalEncoding(dim, max_len) if position_encoding else None

    def forward(self, hidden_states: torch.Tensor, **kwargs: Any) -> torch.Tensor:  # type: ignore[override]
        """Self-attention over frames of ``hidden_states + pe``."""
        if self.pos_encoder is not None:
            hidden_states = self.pos_encoder(hidden_states)
        return super().forward(hidden_states, **kwargs)


class TemporalTransformerBlock(nn.Module):
    """Pre-norm temporal self-attentions (``attention_blocks``/``norms``) then a GEGLU feed-forward
    (run in chunks of tokens, :mod:`.feedforward`)."""

    def __init__(self, dim: int, heads: int, dim_head: int, config: MotionModuleConfig) -> None:
        super().__init__()
        self.attention_blocks = nn.ModuleList(
            TemporalSelfAttention(
                dim,
                heads,
                dim_head,
                config.temporal_position_encoding,
                config.temporal_position_encoding_max_len,
            )
            for _ in config.attention_block_types
        )
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in config.attention_block_types)
        self.ff = ChunkedFeedForward(dim, activation_fn="geglu")
        self.ff_norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(batch * h * w, frames, dim) -> same shape."""
        for attention, norm in zip(self.attention_blocks, self.norms):
            tokens = attention(norm(tokens)) + tokens
        return self.ff(self.ff_norm(tokens)) + tokens


class TemporalTransformer3D(nn.Module):
    """Per-frame GroupNorm, ``proj_in``, temporal transformer blocks, ``proj_out``, residual add."""

    def __init__(self, channels: int, config: MotionModuleConfig) -> None:
        super().__init__()
        heads = config.num_attention_heads
        dim_head = channels // heads // config.temporal_attention_dim_div
        inner = heads * dim_head
        self.norm = nn.GroupNorm(MOTION_MODULE_GROUPS, channels, eps=1e-6, affine=True)
        self.proj_in = nn.Linear(channels, inner)
        self.transformer_blocks = nn.ModuleList(
            TemporalTransformerBlock(inner, heads, dim_head, config) for _ in range(config.num_transformer_block)
        )
        self.proj_out = nn.Linear(inner, channels)

    def forward(self, hidden_states: torch.Tensor, num_frames: int, skip_first: bool = False) -> torch.Tensor:
        """(batch * frames, C, h, w) -> same shape.

        With ``skip_first`` the first frame of every batch element is returned unchanged and the
        transformer sees only the other frames (the official ``cross_id`` slice-and-concatenate,
        done without the slice and concatenation copies).
        """
        rows, channels, height, width = hidden_states.shape
        batch = rows // num_frames
        first = 1 if skip_first else 0
        frames = num_frames - first
        # The GroupNorm is per frame, so normalising the skipped frame too changes nothing else.
        normed = self.norm(hidden_states).view(batch, num_frames, channels, height * width)
        # (b f) c h w -> (b h w) f c
        tokens = normed[:, first:].permute(0, 3, 1, 2).reshape(batch * height * width, frames, channels)
        tokens = self.proj_in(tokens)
        for block in self.transformer_blocks:
            tokens = block(tokens)
        tokens = self.proj_out(tokens)
        # (b h w) f c -> b f c (h w), added to the input frames straight into the output tensor
        delta = tokens.view(batch, height * width, frames, channels).permute(0, 2, 3, 1)
        video = hidden_states.reshape(batch, num_frames, channels, height * width)
        if torch.is_grad_enabled() and (delta.requires_grad or video.requires_grad):
            moved = delta + video[:, first:]  # out= below is not differentiable
            output = torch.cat([video[:, :first], moved], dim=1) if first else moved
            return output.reshape(rows, channels, height, width)
        output = torch.empty_like(video)
        if first:
            output[:, 0] = video[:, 0]
        torch.add(delta, video[:, first:], out=output[:, first:])
        return output.view(rows, channels, height, width)


class VanillaTemporalModule(nn.Module):
    """One AnimateDiff v1 motion module (key prefix ``temporal_transformer.``).

    With ``cross_id`` the first frame of every batch element (the reference) bypasses the module.
    """

    def __init__(self, channels: int, config: MotionModuleConfig | None = None) -> None:
        super().__init__()
        config = config or MotionModuleConfig()
        if channels % MOTION_MODULE_GROUPS or channels % config.num_attention_heads:
            raise StudioError(
                "Motion-module width not supported",
                f"Motion modules need channels divisible by {MOTION_MODULE_GROUPS} (hard-coded GroupNorm) "
                f"and by num_attention_heads={config.num_attention_heads}; got {channels}.",
            )
        self.cross_id = config.cross_id
        self.temporal_transformer = TemporalTransformer3D(channels, config)
        if config.zero_initialize:
            nn.init.zeros_(self.temporal_transformer.proj_out.weight)
            nn.init.zeros_(self.temporal_transformer.proj_out.bias)

    def forward(self, hidden_states: torch.Tensor, num_frames: int) -> torch.Tensor:
        """(batch * frames, C, h, w) -> same shape; frame 0 returned unchanged when ``cross_id``."""
        if self.cross_id and num_frames < 2:
            raise StudioError(
                "No frames to animate",
                "A UNet call needs the reference frame plus at least one video frame.",
            )
        return self.temporal_transformer(hidden_states, num_frames, skip_first=self.cross_id)
