"""Attention processors for the X-Dyna spatial transformer blocks.

X-Dyna changes both attentions of every SD1.5 ``BasicTransformerBlock``:

* ``attn1`` becomes the **Dynamics-Adapter** (I2V-Adapter's "mixed causal attention"). Next to
  ordinary self-attention, every frame's tokens also attend to the tokens of the reference frame
  (frame 0 of the same batch element) through a trainable query projection ``to_q_ff`` and a
  trainable output projection ``to_out_ff``; the keys and values of that second branch are the
  frozen ``to_k``/``to_v`` applied to frame 0::

      out = to_out[0](Attn(to_q x, to_k x, to_v x)) + to_out_ff(Attn(to_q_ff x, to_k x0, to_v x0))
      out = dropout(out)

  The uncond and cond halves of a CFG batch each use their own frame 0, and frame 0 also attends
  to itself through the second branch. There is no scale on the reference branch.

* ``attn2`` becomes **IP-Adapter** cross-attention. The encoder states are exactly 77 text tokens
  followed by 16 image tokens; text attention (``to_k``/``to_v``) and image attention
  (``to_k_ip``/``to_v_ip``, no bias) share the query and are summed with scale 1.0 before
  ``to_out``.

Where the weights live
----------------------
Like diffusers' ``IPAdapterAttnProcessor2_0`` each processor here is the one place that knows
which extra projections it needs: :meth:`DynamicsAdapterAttnProcessor.install` and
:meth:`IPAdapterAttnProcessor.install` create them and set the processor on a plain diffusers
:class:`~diffusers.models.attention_processor.Attention`. The projections are registered on the
attention module itself (not on the processor) so the state-dict keys come out exactly as in the
official checkpoint (``...attn1.to_q_ff.weight``, ``...attn2.to_k_ip.weight``); a processor that
were an ``nn.Module`` would add a ``processor.`` segment to every key.

Both processors use ``torch.nn.functional.scaled_dot_product_attention`` and avoid repeating the
shared keys/values per frame: the queries of all frames of one batch element are folded into one
long sequence instead, which is the same computation (softmax is per query row).

Fused attention is pinned on CUDA: SDPA may only pick the flash or the memory-efficient kernel,
which never hold the (queries x keys) score matrix. Without the pin a GPU or dtype those kernels
do not support silently falls back to the math kernel, which at 896x512 materialises score
matrices of many GB (about 28 GB for one spatial self-attention of a CFG window); with it the
user gets a :class:`StudioError` that says what to change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention
from torch import nn

from studio.core.errors import StudioError

TEXT_TOKENS = 77
"""Number of CLIP text tokens at the start of the cross-attention states."""
IMAGE_TOKENS = 16
"""Number of IP-Adapter-Plus image tokens at the end of the cross-attention states."""


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, tokens, heads*dim) -> (batch, heads, tokens, dim), a view."""
    batch, tokens, inner = x.shape
    return x.view(batch, tokens, heads, inner // heads).transpose(1, 2)


def _merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(batch, heads, tokens, dim) -> (batch, tokens, heads*dim)."""
    batch, heads, tokens, dim = x.shape
    return x.transpose(1, 2).reshape(batch, tokens, heads * dim)


MAX_SDPA_BATCH = 32768
"""Most sequences per SDPA call. CUDA attention kernels put the batch on a grid axis limited to
65535 blocks; the official code crashes there with xformers (X-Dyna issues #6/#7, AnimateDiff
#155) when the motion modules see 2 x 7168 sequences at 896x512. Sequences are independent, so
splitting the batch does not change any number."""


def _fused_kernels():
    """The SDPA backends allowed on CUDA: flash and memory-efficient attention only."""
    from torch.nn.attention import SDPBackend

    return [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]


def no_fused_kernel_error(device: torch.device, err: BaseException, what: str = "") -> StudioError:
    """The error a user sees when the GPU cannot run the fused attention kernels."""
    name, capability = str(device), "unknown"
    if device.type == "cuda" and torch.cuda.is_available():
        name = torch.cuda.get_device_name(device)
        capability = "{}.{}".format(*torch.cuda.get_device_capability(device))
    return StudioError(
        "Fused attention not available on this GPU",
        f"{name} (compute capability {capability}) cannot run flash or memory-efficient attention{what}; "
        "the fallback would need many GB for score matrices. Render in float16 (precision setting), "
        "update the NVIDIA driver and the CUDA build of torch, or render on the CPU.",
        str(err),
    )


def _is_no_kernel(err: BaseException) -> bool:
    return isinstance(err, RuntimeError) and "no available kernel" in str(err).lower()


@contextlib.contextmanager
def fused_attention_only(device: torch.device | str) -> Iterator[None]:
    """Pin every SDPA call inside (ours, the ControlNets', the VAE's, CLIP's) to the fused kernels
    on CUDA; a "no available kernel" failure becomes :func:`no_fused_kernel_error`. Elsewhere a no-op."""
    device = torch.device(device)
    if device.type != "cuda":
        yield
        return
    from torch.nn.attention import sdpa_kernel

    try:
        with sdpa_kernel(_fused_kernels()):
            yield
    except RuntimeError as err:
        if not _is_no_kernel(err):
            raise
        raise no_fused_kernel_error(device, err) from err


def fused_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``F.scaled_dot_product_attention`` of (b, heads, t, d) tensors; on CUDA only the fused
    (flash / memory-efficient) kernels may run, else a :class:`StudioError` explains why not."""
    if query.device.type != "cuda":
        return F.scaled_dot_product_attention(query, key, value)
    from torch.nn.attention import sdpa_kernel

    try:
        with sdpa_kernel(_fused_kernels()):
            return F.scaled_dot_product_attention(query, key, value)
    except RuntimeError as err:
        if not _is_no_kernel(err):
            raise
        raise no_fused_kernel_error(
            query.device, err, f" for {query.dtype} tensors of shape {tuple(query.shape)}"
        ) from err


def _sdpa(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head attention of (b, tq, C) queries over (b, tk, C) keys/values -> (b, tq, C)."""
    if query.shape[0] > MAX_SDPA_BATCH:
        parts = [
            _sdpa(q, k, v, heads)
            for q, k, v in zip(
                query.split(MAX_SDPA_BATCH), key.split(MAX_SDPA_BATCH), value.split(MAX_SDPA_BATCH)
            )
        ]
        return torch.cat(parts)
    out = fused_attention(_heads(query, heads), _heads(key, heads), _heads(value, heads))
    return _merge_heads(out)


def _check_plain(attn: Attention, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None) -> None:
    if attention_mask is not None:
        raise StudioError(
            "Attention masks are not supported",
            "The X-Dyna UNet never uses attention masks; call it without `attention_mask`.",
        )
    if hidden_states.ndim != 3:
        raise StudioError(
            "Wrong attention input shape",
            f"Expected hidden states (batch*frames, tokens, channels), got shape {tuple(hidden_states.shape)}.",
        )
    if attn.group_norm is not None or attn.spatial_norm is not None or attn.norm_q is not None:
        raise StudioError(
            "Unsupported attention layout",
            "X-Dyna processors expect a plain diffusers Attention (no group/spatial/qk norm).",
        )


class DynamicsAdapterAttnProcessor:
    """Self-attention plus attention to the reference frame (X-Dyna's Dynamics-Adapter).

    Expects ``hidden_states`` of shape ``(batch * num_frames, tokens, C)`` with frames of one batch
    element contiguous and frame 0 the reference. Uses ``attn.to_q_ff`` and ``attn.to_out_ff``,
    which :meth:`install` adds to the attention module.
    """

    @classmethod
    def install(cls, attn: Attention) -> "DynamicsAdapterAttnProcessor":
        """Add ``to_q_ff`` (C->C, no bias) and ``to_out_ff`` (C->C, bias) to ``attn`` and use this processor.

        Existing layers are kept, so installing twice does not reset trained weights. New layers
        get the default ``nn.Linear`` initialisation (as in the official code; I2V-Adapter's zero
        init of ``to_out_ff`` was dropped by X-Dyna), on the device/dtype of ``attn.to_q``.
        """
        factory = {"device": attn.to_q.weight.device, "dtype": attn.to_q.weight.dtype}
        if not hasattr(attn, "to_q_ff"):
            attn.to_q_ff = nn.Linear(attn.to_q.in_features, attn.to_q.out_features, bias=False, **factory)
        if not hasattr(attn, "to_out_ff"):
            out = attn.to_out[0]
            attn.to_out_ff = nn.Linear(out.in_features, out.out_features, bias=True, **factory)
        processor = cls()
        attn.set_processor(processor)
        return processor

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        num_frames: int | None = None,
    ) -> torch.Tensor:
        """Return ``dropout(to_out(self-attn) + to_out_ff(reference-attn))`` for every token."""
        _check_plain(attn, hidden_states, attention_mask)
        if encoder_hidden_states is not None:
            raise StudioError(
                "Dynamics-Adapter is a self-attention",
                "attn1 of the X-Dyna UNet takes no encoder hidden states.",
            )
        batch_frames, tokens, _ = hidden_states.shape
        if num_frames is None or num_frames < 1 or batch_frames % num_frames:
            raise StudioError(
                "Dynamics-Adapter needs the frame count",
                f"Got {batch_frames} frame-batches with num_frames={num_frames}; pass the number of "
                "frames per batch element (reference frame included) as `num_frames`.",
            )
        batch = batch_frames // num_frames
        heads = attn.heads

        key = attn.to_k(hidden_states)
        value = attn.to_v(hidden_states)
        self_out = _sdpa(attn.to_q(hidden_states), key, value, heads)

        # Reference branch: all frames of a batch element query that element's frame 0.
        channels = key.shape[-1]
        ref_key = key.view(batch, num_frames, tokens, channels)[:, 0]
        ref_value = value.view(batch, num_frames, tokens, channels)[:, 0]
        ref_query = attn.to_q_ff(hidden_states).view(batch, num_frames * tokens, -1)
        ref_out = _sdpa(ref_query, ref_key, ref_value, heads).view(batch_frames, tokens, -1)

        out = attn.to_out[0](self_out)
        out += attn.to_out_ff(ref_out)
        return attn.to_out[1](out)


class IPAdapterAttnProcessor:
    """Cross-attention to 77 text tokens plus 16 IP-Adapter image tokens, summed with scale 1.0.

    ``encoder_hidden_states`` may hold one row per batch element (``(batch, 93, D)``); the
    hidden states may then carry ``batch * frames`` rows and every frame of a batch element
    attends to that element's tokens. Uses ``attn.to_k_ip``/``attn.to_v_ip`` added by
    :meth:`install`.
    """

    @classmethod
    def install(cls, attn: Attention) -> "IPAdapterAttnProcessor":
        """Add ``to_k_ip``/``to_v_ip`` (D->C, no bias) to ``attn`` and use this processor."""
        factory = {"device": attn.to_k.weight.device, "dtype": attn.to_k.weight.dtype}
        if not hasattr(attn, "to_k_ip"):
            attn.to_k_ip = nn.Linear(attn.to_k.in_features, attn.to_k.out_features, bias=False, **factory)
        if not hasattr(attn, "to_v_ip"):
            attn.to_v_ip = nn.Linear(attn.to_v.in_features, attn.to_v.out_features, bias=False, **factory)
        processor = cls()
        attn.set_processor(processor)
        return processor

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        num_frames: int | None = None,
    ) -> torch.Tensor:
        """Return ``dropout(to_out(Attn(q, text) + Attn(q, image)))``; ``num_frames`` is not needed."""
        _check_plain(attn, hidden_states, attention_mask)
        if encoder_hidden_states is None or encoder_hidden_states.ndim != 3:
            raise StudioError(
                "IP-Adapter attention needs encoder states",
                "Pass encoder_hidden_states of shape (batch, 93, D): 77 text tokens then 16 image tokens.",
            )
        if encoder_hidden_states.shape[1] != TEXT_TOKENS + IMAGE_TOKENS:
            raise StudioError(
                "Wrong number of conditioning tokens",
                f"X-Dyna cross-attention needs exactly {TEXT_TOKENS} text + {IMAGE_TOKENS} image tokens "
                f"(93), got {encoder_hidden_states.shape[1]}.",
            )
        rows, tokens, _ = hidden_states.shape
        batch = encoder_hidden_states.shape[0]
        if rows % batch:
            raise StudioError(
                "Batch mismatch in cross-attention",
                f"{rows} hidden-state rows cannot be split over {batch} encoder-state rows.",
            )
        heads = attn.heads
        query = attn.to_q(hidden_states).view(batch, (rows // batch) * tokens, -1)
        text = encoder_hidden_states[:, :TEXT_TOKENS]
        image = encoder_hidden_states[:, TEXT_TOKENS:]
        out = _sdpa(query, attn.to_k(text), attn.to_v(text), heads)
        out += _sdpa(query, attn.to_k_ip(image), attn.to_v_ip(image), heads)
        out = attn.to_out[0](out.view(rows, tokens, -1))
        return attn.to_out[1](out)


class TemporalAttnProcessor:
    """Plain multi-head self-attention for the motion modules' ``(sequences, frames, C)`` tokens.

    The same computation as diffusers' ``AttnProcessor2_0`` for this case, without its no-op
    ``/ rescale_output_factor`` pass, and with the batch split into chunks of at most
    :data:`MAX_SDPA_BATCH` sequences (one per spatial position and batch element).
    """

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return ``dropout(to_out(Attn(to_q x, to_k x, to_v x)))``."""
        _check_plain(attn, hidden_states, attention_mask)
        if encoder_hidden_states is not None or attn.rescale_output_factor != 1.0 or attn.residual_connection:
            raise StudioError(
                "Unsupported temporal attention",
                "Motion-module attention is plain self-attention (no encoder states, no rescale/residual).",
            )
        out = _sdpa(attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states), attn.heads)
        return attn.to_out[1](attn.to_out[0](out))
