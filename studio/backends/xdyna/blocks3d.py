"""Down, mid and up blocks of the X-Dyna UNet3D, and its spatial transformer.

The layout follows the official ``animatediff/models/unet_blocks.py`` (and SD1.5): every block
has ``resnets``, optionally ``attentions`` (spatial transformers whose ``attn1`` is the
Dynamics-Adapter and ``attn2`` the IP-Adapter cross-attention) and ``motion_modules``, plus
``downsamplers``/``upsamplers``; the order inside a layer is ResNet, spatial transformer, motion
module. All tensors are ``(batch * frames, C, h, w)``; ``num_frames`` (reference included) is
passed along so the layers that mix frames (pooled GroupNorm, Dynamics-Adapter, motion modules)
can find the frames of each batch element.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.downsampling import Downsample2D
from diffusers.models.upsampling import Upsample2D
from torch import nn

from studio.backends.xdyna.attention import DynamicsAdapterAttnProcessor, IPAdapterAttnProcessor
from studio.backends.xdyna.feedforward import chunked
from studio.backends.xdyna.motion_module import MotionModuleConfig, VanillaTemporalModule
from studio.backends.xdyna.resnet3d import ResnetBlock3D


class SpatialTransformer3D(nn.Module):
    """SD spatial transformer (``norm, proj_in, transformer_blocks.0, proj_out``) run on every frame.

    The GroupNorm here is per frame (official ``Transformer3DModel`` folds frames into the batch
    first). The transformer block is diffusers' ``BasicTransformerBlock`` with the X-Dyna
    processors installed on ``attn1`` and ``attn2`` and its feed-forward run in chunks of tokens
    (:mod:`.feedforward`, same numbers, a fraction of the memory).
    """

    def __init__(
        self,
        channels: int,
        heads: int,
        cross_attention_dim: int,
        groups: int,
        use_linear_projection: bool = False,
    ) -> None:
        super().__init__()
        self.use_linear_projection = use_linear_projection
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6, affine=True)
        if use_linear_projection:
            self.proj_in: nn.Module = nn.Linear(channels, channels)
        else:
            self.proj_in = nn.Conv2d(channels, channels, kernel_size=1)
        block = BasicTransformerBlock(
            channels,
            heads,
            channels // heads,
            cross_attention_dim=cross_attention_dim,
            activation_fn="geglu",
            attention_bias=False,
        )
        DynamicsAdapterAttnProcessor.install(block.attn1)
        IPAdapterAttnProcessor.install(block.attn2)
        chunked(block.ff)
        self.transformer_blocks = nn.ModuleList([block])
        if use_linear_projection:
            self.proj_out: nn.Module = nn.Linear(channels, channels)
        else:
            self.proj_out = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(
        self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor, num_frames: int
    ) -> torch.Tensor:
        """(b*f, C, h, w) with encoder states (b, 93, D) -> (b*f, C, h, w)."""
        rows, channels, height, width = hidden_states.shape
        residual = hidden_states
        hidden_states = self.norm(hidden_states)
        if not self.use_linear_projection:
            hidden_states = self.proj_in(hidden_states)
        tokens = hidden_states.permute(0, 2, 3, 1).reshape(rows, height * width, channels)
        if self.use_linear_projection:
            tokens = self.proj_in(tokens)
        for block in self.transformer_blocks:
            tokens = block(
                tokens,
                encoder_hidden_states=encoder_hidden_states,
                cross_attention_kwargs={"num_frames": num_frames},
            )
        if self.use_linear_projection:
            tokens = self.proj_out(tokens)
        hidden_states = tokens.reshape(rows, height, width, channels).permute(0, 3, 1, 2).contiguous()
        if not self.use_linear_projection:
            hidden_states = self.proj_out(hidden_states)
        return hidden_states + residual


class _Layers(nn.Module):
    """Shared plumbing of the down/up blocks: ResNet -> (transformer) -> (motion module) per layer."""

    resnets: nn.ModuleList
    attentions: nn.ModuleList
    motion_modules: nn.ModuleList

    def _layer(
        self,
        index: int,
        hidden_states: torch.Tensor,
        temb: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        num_frames: int,
    ) -> torch.Tensor:
        hidden_states = self.resnets[index](hidden_states, temb, num_frames)
        if len(self.attentions):
            hidden_states = self.attentions[index](hidden_states, encoder_hidden_states, num_frames)
        if len(self.motion_modules):
            hidden_states = self.motion_modules[index](hidden_states, num_frames)
        return hidden_states


class DownBlock3D(_Layers):
    """``layers`` ResNets (each with optional transformer and motion module) and an optional downsampler.

    Returns the block output and the skip tensors for the up path (one per layer, plus the
    downsampled tensor).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        temb_channels: int,
        layers: int,
        groups: int,
        eps: float,
        add_downsample: bool,
        downsample_padding: int,
        motion: MotionModuleConfig | None,
        heads: int | None = None,
        cross_attention_dim: int | None = None,
        use_linear_projection: bool = False,
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock3D(in_channels if i == 0 else out_channels, out_channels, temb_channels, groups, eps)
            for i in range(layers)
        )
        self.attentions = nn.ModuleList(
            SpatialTransformer3D(out_channels, heads, cross_attention_dim, groups, use_linear_projection)
            for _ in range(layers)
            if heads is not None and cross_attention_dim is not None
        )
        self.motion_modules = nn.ModuleList(
            VanillaTemporalModule(out_channels, motion) for _ in range(layers) if motion is not None
        )
        self.downsamplers = (
            nn.ModuleList(
                [Downsample2D(out_channels, use_conv=True, out_channels=out_channels, padding=downsample_padding, name="op")]
            )
            if add_downsample
            else None
        )

    def forward(
        self, hidden_states: torch.Tensor, temb: torch.Tensor, encoder_hidden_states: torch.Tensor, num_frames: int
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Run the block; returns (output, skip tensors)."""
        skips: tuple[torch.Tensor, ...] = ()
        for index in range(len(self.resnets)):
            hidden_states = self._layer(index, hidden_states, temb, encoder_hidden_states, num_frames)
            skips += (hidden_states,)
        if self.downsamplers is not None:
            hidden_states = self.downsamplers[0](hidden_states)
            skips += (hidden_states,)
        return hidden_states, skips


class UpBlock3D(_Layers):
    """``layers`` ResNets fed with concatenated skips (optional transformer/motion module) and an upsampler."""

    def __init__(
        self,
        in_channels: int,
        prev_output_channels: int,
        out_channels: int,
        temb_channels: int,
        layers: int,
        groups: int,
        eps: float,
        add_upsample: bool,
        motion: MotionModuleConfig | None,
        heads: int | None = None,
        cross_attention_dim: int | None = None,
        use_linear_projection: bool = False,
    ) -> None:
        super().__init__()
        resnets = []
        for i in range(layers):
            skip_channels = in_channels if i == layers - 1 else out_channels
            resnet_in = prev_output_channels if i == 0 else out_channels
            resnets.append(ResnetBlock3D(resnet_in + skip_channels, out_channels, temb_channels, groups, eps))
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleList(
            SpatialTransformer3D(out_channels, heads, cross_attention_dim, groups, use_linear_projection)
            for _ in range(layers)
            if heads is not None and cross_attention_dim is not None
        )
        self.motion_modules = nn.ModuleList(
            VanillaTemporalModule(out_channels, motion) for _ in range(layers) if motion is not None
        )
        self.upsamplers = (
            nn.ModuleList([Upsample2D(out_channels, use_conv=True, out_channels=out_channels)]) if add_upsample else None
        )

    def forward(
        self,
        hidden_states: torch.Tensor,
        skips: tuple[torch.Tensor, ...],
        temb: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        num_frames: int,
        upsample_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Consume ``skips`` from the end (last skip first), then upsample (to ``upsample_size`` if given)."""
        for index in range(len(self.resnets)):
            hidden_states = torch.cat([hidden_states, skips[-1 - index]], dim=1)
            hidden_states = self._layer(index, hidden_states, temb, encoder_hidden_states, num_frames)
        if self.upsamplers is not None:
            hidden_states = self.upsamplers[0](hidden_states, upsample_size)
        return hidden_states


class MidBlock3D(nn.Module):
    """``resnets.0``, then (``attentions.0``, ``resnets.1``); X-Dyna has no motion module here."""

    def __init__(
        self,
        channels: int,
        temb_channels: int,
        groups: int,
        eps: float,
        heads: int,
        cross_attention_dim: int,
        output_scale_factor: float = 1.0,
        use_linear_projection: bool = False,
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock3D(channels, channels, temb_channels, groups, eps, output_scale_factor) for _ in range(2)
        )
        self.attentions = nn.ModuleList(
            [SpatialTransformer3D(channels, heads, cross_attention_dim, groups, use_linear_projection)]
        )

    def forward(
        self, hidden_states: torch.Tensor, temb: torch.Tensor, encoder_hidden_states: torch.Tensor, num_frames: int
    ) -> torch.Tensor:
        """(b*f, C, h, w) -> (b*f, C, h, w)."""
        hidden_states = self.resnets[0](hidden_states, temb, num_frames)
        hidden_states = self.attentions[0](hidden_states, encoder_hidden_states, num_frames)
        return self.resnets[1](hidden_states, temb, num_frames)
