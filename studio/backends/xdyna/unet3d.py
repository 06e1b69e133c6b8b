"""The X-Dyna denoising network: SD1.5 UNet + AnimateDiff v1 motion modules + Dynamics-Adapter + IP-Adapter.

Usage (what the pipeline does)::

    from studio.backends.xdyna.unet3d import XDynaUNet3D

    unet = XDynaUNet3D.from_config(sd_unet_config, motion_module_kwargs)
    unet.load_state_dict(torch.load(ckpt, weights_only=True), strict=True)
    eps = unet(sample, t, encoder_hidden_states, down_residuals, mid_residual)

``sample`` is ``(B, 4, F, h, w)`` where frame 0 of every batch element is the clean reference
latent and frames 1..F-1 are one context window (F = 17 in X-Dyna). ``encoder_hidden_states`` is
``(B, 93, D)``: 77 text tokens then 16 IP-Adapter image tokens. ControlNet residuals, if given,
are ``(B, C, F, h, w)`` each (zeros for the reference frame), 12 down tensors plus one mid tensor
for SD1.5. The output is the ``(B, 4, F, h, w)`` noise prediction (frame 0 is meaningless and
discarded by the sampler).

This reproduces the official ``UNet3DConditionModel`` (github bytedance/X-Dyna) forward pass
numerically, with the same state-dict keys, so the released ``unet-checkpoint-epoch-5.ckpt``
loads with ``strict=True``. Official behaviour kept on purpose (see the module docstrings):

* ResNet GroupNorms and ``conv_norm_out`` pool statistics over all frames of the call, the
  reference included (:mod:`.resnet3d`).
* Motion modules skip the reference frame (``cross_id``) and cover at most 24 frames per window
  (:mod:`.motion_module`).
* ``attn1`` attends to frame 0 of the same batch element in addition to self-attention;
  ``attn2`` needs exactly 77 + 16 tokens (:mod:`.attention`).
* The down/up block types of the SD config are replaced by the 3-D versions; motion modules sit
  in all four down and four up blocks and not in the mid block (``motion_module_resolutions``
  [1, 2, 4, 8], ``motion_module_mid_block`` False in ``configs/x_dyna.yaml``).

Internally every tensor is ``(B * F, C, h, w)``; the 5-D layout exists only at the boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from torch import nn

from studio.backends.xdyna.attention import IMAGE_TOKENS, TEXT_TOKENS
from studio.backends.xdyna.blocks3d import DownBlock3D, MidBlock3D, UpBlock3D
from studio.backends.xdyna.motion_module import MotionModuleConfig
from studio.backends.xdyna.resnet3d import FramePooledGroupNorm
from studio.backends.xdyna.unet3d_config import DOWN_TYPES, UP_TYPES, UNet3DConfig
from studio.core.errors import StudioError

__all__ = ["UNet3DConfig", "XDynaUNet3D"]


class XDynaUNet3D(nn.Module):
    """The X-Dyna UNet3D (official ``UNet3DConditionModel`` with X-Dyna's settings).

    Build with :meth:`from_config`; see the module docstring for the call contract.
    """

    def __init__(self, config: UNet3DConfig | None = None, motion: MotionModuleConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or UNet3DConfig()
        self.motion_config = motion = motion or MotionModuleConfig()
        config.validate()
        channels = config.block_out_channels
        heads = config.attention_head_dim
        groups, eps = config.norm_num_groups, config.norm_eps
        temb_channels = channels[0] * 4
        cross_dim = config.cross_attention_dim

        self.conv_in = nn.Conv2d(config.in_channels, channels[0], kernel_size=3, padding=1)
        self.time_proj = Timesteps(channels[0], config.flip_sin_to_cos, config.freq_shift)
        self.time_embedding = TimestepEmbedding(channels[0], temb_channels)

        self.down_blocks = nn.ModuleList()
        out_channels = channels[0]
        for i, block_type in enumerate(DOWN_TYPES):
            in_channels, out_channels = out_channels, channels[i]
            with_attention = block_type.startswith("CrossAttn")
            self.down_blocks.append(
                DownBlock3D(
                    in_channels,
                    out_channels,
                    temb_channels,
                    config.layers_per_block,
                    groups,
                    eps,
                    add_downsample=i < len(channels) - 1,
                    downsample_padding=config.downsample_padding,
                    motion=motion,
                    heads=heads[i] if with_attention else None,
                    cross_attention_dim=cross_dim if with_attention else None,
                    use_linear_projection=config.use_linear_projection,
                )
            )

        self.mid_block = MidBlock3D(
            channels[-1],
            temb_channels,
            groups,
            eps,
            heads[-1],
            cross_dim,
            output_scale_factor=config.mid_block_scale_factor,
            use_linear_projection=config.use_linear_projection,
        )

        self.up_blocks = nn.ModuleList()
        reversed_channels = list(reversed(channels))
        reversed_heads = list(reversed(heads))
        out_channels = reversed_channels[0]
        for i, block_type in enumerate(UP_TYPES):
            prev_out, out_channels = out_channels, reversed_channels[i]
            in_channels = reversed_channels[min(i + 1, len(channels) - 1)]
            with_attention = block_type.startswith("CrossAttn")
            self.up_blocks.append(
                UpBlock3D(
                    in_channels,
                    prev_out,
                    out_channels,
                    temb_channels,
                    config.layers_per_block + 1,
                    groups,
                    eps,
                    add_upsample=i < len(channels) - 1,
                    motion=motion,
                    heads=reversed_heads[i] if with_attention else None,
                    cross_attention_dim=cross_dim if with_attention else None,
                    use_linear_projection=config.use_linear_projection,
                )
            )

        self.conv_norm_out = FramePooledGroupNorm(groups, channels[0], eps=eps)
        self.conv_out = nn.Conv2d(channels[0], config.out_channels, kernel_size=3, padding=1)

    @classmethod
    def from_config(
        cls, sd_unet_config: Mapping[str, Any], motion_module_kwargs: Mapping[str, Any] | None = None
    ) -> "XDynaUNet3D":
        """Build from an SD ``unet/config.json`` dict and the official ``motion_module_kwargs``.

        ``motion_module_kwargs`` defaults to the official ``configs/x_dyna.yaml`` values. Build on
        the ``meta`` device (``with torch.device("meta"):``) to inspect shapes without memory.
        """
        return cls(UNet3DConfig.from_sd_config(sd_unet_config), MotionModuleConfig.from_kwargs(motion_module_kwargs))

    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype (inputs are cast to it)."""
        return self.conv_in.weight.dtype

    @property
    def device(self) -> torch.device:
        """Parameter device."""
        return self.conv_in.weight.device

    @property
    def max_window_frames(self) -> int:
        """Most video frames per call (reference excluded) the motion modules' position encoding covers."""
        return self.motion_config.temporal_position_encoding_max_len

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        down_block_additional_residuals: Sequence[torch.Tensor] | None = None,
        mid_block_additional_residual: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the noise of ``sample`` (B, C_in, F, h, w); see the module docstring."""
        batch, _, num_frames, height, width = self._check_inputs(
            sample, encoder_hidden_states, down_block_additional_residuals, mid_block_additional_residual
        )
        dtype = self.dtype
        if self.config.center_input_sample:
            sample = 2 * sample - 1.0
        hidden = _to_rows(sample.to(dtype))
        encoder_hidden_states = encoder_hidden_states.to(dtype)
        temb = self._time_embedding(timestep, batch, sample.device)

        hidden = self.conv_in(hidden)
        skips: tuple[torch.Tensor, ...] = (hidden,)
        for block in self.down_blocks:
            hidden, block_skips = block(hidden, temb, encoder_hidden_states, num_frames)
            skips += block_skips

        if down_block_additional_residuals is not None:
            # In place (no second set of skips), except the skip that is also the mid block's
            # input: the official code adds the residuals to copies, leaving that input as it is.
            skips = tuple(
                s + _to_rows(r.to(dtype)) if s is hidden else s.add_(_to_rows(r.to(dtype)))
                for s, r in zip(skips, down_block_additional_residuals)
            )

        hidden = self.mid_block(hidden, temb, encoder_hidden_states, num_frames)
        if mid_block_additional_residual is not None:
            hidden = hidden + _to_rows(mid_block_additional_residual.to(dtype))

        # Odd latent sizes: force each upsampler to the size of the matching skip.
        up_factor = 2 ** (len(self.up_blocks) - 1)
        forward_size = height % up_factor != 0 or width % up_factor != 0
        for i, block in enumerate(self.up_blocks):
            count = len(block.resnets)
            block_skips, skips = skips[-count:], skips[:-count]
            upsample_size = tuple(skips[-1].shape[-2:]) if forward_size and i < len(self.up_blocks) - 1 else None
            hidden = block(hidden, block_skips, temb, encoder_hidden_states, num_frames, upsample_size)

        hidden = F.silu(self.conv_norm_out(hidden, num_frames))
        hidden = self.conv_out(hidden)
        return hidden.view(batch, num_frames, -1, height, width).transpose(1, 2).contiguous()

    def _time_embedding(self, timestep: torch.Tensor | float | int, batch: int, device: torch.device) -> torch.Tensor:
        if not torch.is_tensor(timestep):
            dtype = torch.float64 if isinstance(timestep, float) else torch.int64
            timestep = torch.tensor([timestep], dtype=dtype, device=device)
        timestep = timestep.to(device).reshape(-1)
        if timestep.numel() not in (1, batch):
            raise StudioError(
                "Wrong number of timesteps",
                f"Pass one timestep or one per batch element ({batch}), got {timestep.numel()}.",
            )
        t_emb = self.time_proj(timestep.expand(batch)).to(self.dtype)
        return self.time_embedding(t_emb)

    def _check_inputs(
        self,
        sample: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        down_residuals: Sequence[torch.Tensor] | None,
        mid_residual: torch.Tensor | None,
    ) -> tuple[int, int, int, int, int]:
        if sample.ndim != 5 or sample.shape[1] != self.config.in_channels:
            raise StudioError(
                "Wrong UNet input shape",
                f"sample must be (batch, {self.config.in_channels}, frames, h, w), got {tuple(sample.shape)}.",
            )
        batch, _, num_frames, height, width = sample.shape
        if num_frames < 2:
            raise StudioError(
                "No frames to animate",
                f"sample has {num_frames} frame(s); it needs the reference frame plus at least one video frame.",
            )
        if num_frames - 1 > self.max_window_frames:
            raise StudioError(
                "Window too long for the motion modules",
                f"A UNet call covers the reference plus at most {self.max_window_frames} frames "
                f"(position-encoding limit), got {num_frames - 1}. Use a context window of 16 frames.",
            )
        expected_tokens = TEXT_TOKENS + IMAGE_TOKENS
        if encoder_hidden_states.shape != (batch, expected_tokens, self.config.cross_attention_dim):
            raise StudioError(
                "Wrong conditioning shape",
                f"encoder_hidden_states must be (batch={batch}, {expected_tokens}, "
                f"{self.config.cross_attention_dim}) (77 text + 16 image tokens), "
                f"got {tuple(encoder_hidden_states.shape)}.",
            )
        if (down_residuals is None) != (mid_residual is None):
            raise StudioError(
                "Incomplete ControlNet residuals",
                "Pass both down_block_additional_residuals and mid_block_additional_residual, or neither.",
            )
        if down_residuals is not None:
            expected = self.skip_shapes(batch, num_frames, height, width)
            got = [tuple(r.shape) for r in down_residuals]
            if got != expected:
                raise StudioError(
                    "ControlNet residuals do not fit the UNet",
                    f"Expected {len(expected)} down residuals of shapes {expected}, got {got}.",
                )
            mid_shape = (batch, self.config.block_out_channels[-1], num_frames, *expected[-1][-2:])
            if tuple(mid_residual.shape) != mid_shape:
                raise StudioError(
                    "ControlNet residuals do not fit the UNet",
                    f"Expected a mid residual of shape {mid_shape}, got {tuple(mid_residual.shape)}.",
                )
        return batch, sample.shape[1], num_frames, height, width

    def skip_shapes(self, batch: int, num_frames: int, height: int, width: int) -> list[tuple[int, ...]]:
        """Shapes ``(B, C, F, h, w)`` of the down-path skips, i.e. of the ControlNet down residuals."""
        channels = self.config.block_out_channels
        shapes = [(batch, channels[0], num_frames, height, width)]
        for i, block in enumerate(self.down_blocks):
            shapes += [(batch, channels[i], num_frames, height, width)] * len(block.resnets)
            if block.downsamplers is not None:
                height, width = (height + 1) // 2, (width + 1) // 2
                shapes.append((batch, channels[i], num_frames, height, width))
        return shapes


def _to_rows(video: torch.Tensor) -> torch.Tensor:
    """(B, C, F, h, w) -> (B * F, C, h, w)."""
    batch, channels, frames, height, width = video.shape
    return video.transpose(1, 2).reshape(batch * frames, channels, height, width)
