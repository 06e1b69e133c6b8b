"""The ID adapter: attention processors that make SVD's UNet attend to the face tokens.

StableAnimator's conditioning is ``[CLIP image token, ID token x num_tokens]`` per frame.

* :class:`IDAdapterAttnProcessor` replaces the cross-attention (``attn2``) of every *spatial*
  transformer block. The queries attend to the CLIP token with the block's own ``to_k``/``to_v``
  and, separately, to the ID tokens with the processor's ``id_to_k``/``id_to_v``. The face
  result is re-normalised to the mean and standard deviation (over tokens and channels, per
  sample) of the CLIP result before the two are summed, then ``to_out`` runs once. With zero ID
  tokens (the unconditional pass) the face result is constant, so the sum still gains the CLIP
  result's mean. ``scale`` is the face strength (1.0 in the official code; a 0-d buffer).
* :class:`ClipOnlyAttnProcessor` replaces the cross-attention of every *temporal* block: it
  sees the CLIP token of frame 0 only, not the ID tokens.

Self-attention keeps diffusers' default processor. :func:`install_id_adapter` sets all of them;
the ``id_to_k``/``id_to_v`` weights become ``<attn2>.processor.id_to_{k,v}.weight`` entries of the
UNet state dict, as in the official ``Animation/unet.pth``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention, AttnProcessor2_0
from torch import nn

NUM_TOKENS = 4


def _attend(attn: Attention, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Multi-head softmax attention of (batch, tokens, heads*dim) projections."""
    b = query.shape[0]
    head_dim = key.shape[-1] // attn.heads
    q, k, v = (t.view(b, -1, attn.heads, head_dim).transpose(1, 2) for t in (query, key, value))
    out = F.scaled_dot_product_attention(q, k, v)
    return out.transpose(1, 2).reshape(b, -1, attn.heads * head_dim).to(query.dtype)


def _mean_std(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) standard deviation over tokens and channels, per sample, keeping dims.

    Two passes (mean, then the mean square of the deviations): the value of ``Tensor.std``, to
    float rounding (about 1e-7 relative), at a fraction of its CPU time on these small slices.
    """
    mean = x.mean(dim=(1, 2), keepdim=True)
    n = x.shape[1] * x.shape[2]
    return mean, ((x - mean).square().sum(dim=(1, 2), keepdim=True) / (n - 1)).sqrt()


class IDAdapterAttnProcessor(nn.Module):
    """Spatial cross-attention to the CLIP token plus the renormalised attention to the ID tokens."""

    def __init__(self, hidden_size: int, cross_attention_dim: int, num_tokens: int = NUM_TOKENS,
                 scale: float = 1.0) -> None:
        super().__init__()
        self.num_tokens = num_tokens
        # a 0-d buffer, not a float: a compiled UNet (``torch_compile``) reads it as an input, so a new
        # face strength reuses the compiled code instead of recompiling (not in the state dict)
        self.register_buffer("scale", torch.tensor(float(scale)), persistent=False)
        self.id_to_k = nn.Linear(cross_attention_dim, hidden_size, bias=False)
        self.id_to_v = nn.Linear(cross_attention_dim, hidden_size, bias=False)

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None) -> torch.Tensor:
        if encoder_hidden_states is None:
            raise ValueError("the ID adapter needs encoder states ([CLIP token, ID tokens])")
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        four_d = hidden_states.ndim == 4
        if four_d:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        split = encoder_hidden_states.shape[1] - self.num_tokens
        context, id_tokens = encoder_hidden_states[:, :split], encoder_hidden_states[:, split:]
        if attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        out = _attend(attn, query, attn.to_k(context), attn.to_v(context))
        face = _attend(attn, query, self.id_to_k(id_tokens.to(query.dtype)), self.id_to_v(id_tokens.to(query.dtype)))
        mean, std = _mean_std(out)
        face_mean, face_std = _mean_std(face)
        face = (face - face_mean) * (std / (face_std + 1e-5)) + mean
        out = attn.to_out[1](attn.to_out[0](out + self.scale * face))
        if four_d:
            out = out.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


class ClipOnlyAttnProcessor(AttnProcessor2_0):
    """Cross-attention that drops the trailing ID tokens from the encoder states (temporal blocks)."""

    def __init__(self, num_tokens: int = NUM_TOKENS) -> None:
        super().__init__()
        self.num_tokens = num_tokens

    def __call__(self, attn: Attention, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor | None = None,
                 attention_mask: torch.Tensor | None = None, temb: torch.Tensor | None = None,
                 *args, **kwargs) -> torch.Tensor:
        if encoder_hidden_states is not None:
            encoder_hidden_states = encoder_hidden_states[:, : encoder_hidden_states.shape[1] - self.num_tokens]
        return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb)


def _block_width(name: str, channels: list[int]) -> int:
    if name.startswith("mid_block"):
        return channels[-1]
    block = int(name.split(".")[1])
    return list(reversed(channels))[block] if name.startswith("up_blocks") else channels[block]


def install_id_adapter(unet: nn.Module, num_tokens: int = NUM_TOKENS, scale: float = 1.0) -> None:
    """Set the StableAnimator processors on a diffusers ``UNetSpatioTemporalConditionModel``."""
    channels, cross = list(unet.config.block_out_channels), unet.config.cross_attention_dim
    procs: dict = {}
    for name in unet.attn_processors:
        if not name.endswith("attn2.processor"):
            procs[name] = AttnProcessor2_0()
        elif "temporal_transformer_blocks" in name:
            procs[name] = ClipOnlyAttnProcessor(num_tokens)
        else:
            procs[name] = IDAdapterAttnProcessor(_block_width(name, channels), cross, num_tokens, scale)
    unet.set_attn_processor(procs)


def set_face_strength(unet: nn.Module, scale: float) -> None:
    """Scale every ID-adapter processor's face contribution (1.0 = the official strength)."""
    for proc in unet.attn_processors.values():
        if isinstance(proc, IDAdapterAttnProcessor):
            proc.scale.fill_(scale)
