"""CogVideoX attention with the rotary embedding applied a few heads at a time (low memory).

diffusers' ``CogVideoXAttnProcessor2_0`` applies the 3D rotary embedding to all heads of the
video queries and keys at once, through float32 temporaries (``x.float() * cos + ...``): at
768x1360 x 37 frames with the CFG batch of 2 that is ~2 GiB above the queries and keys, the
peak of a denoising step. :class:`ChunkedRotaryAttnProcessor` computes the same thing -- the
rotary embedding is elementwise per head, so applying it ``head_chunk`` heads at a time gives
the same bits -- with temporaries ``heads / head_chunk`` times smaller. Everything else is the
diffusers processor step for step (fused SDPA, output projection, text/video split), except
that the joined input is freed once projected and the queries, keys and values once attended.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class ChunkedRotaryAttnProcessor:
    """``CogVideoXAttnProcessor2_0`` with the rotary embedding applied ``head_chunk`` heads at a time."""

    def __init__(self, head_chunk: int = 8) -> None:
        self.head_chunk = int(head_chunk)

    def __call__(self, attn, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor,
                 attention_mask: torch.Tensor | None = None,
                 image_rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        from diffusers.models.embeddings import apply_rotary_emb

        n_text = encoder_hidden_states.size(1)
        hidden_states = torch.cat([encoder_hidden_states, hidden_states], dim=1)
        batch, length, _ = hidden_states.shape
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(attention_mask, length, batch)
            attention_mask = attention_mask.view(batch, attn.heads, -1, attention_mask.shape[-1])
        query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        del hidden_states                     # (freed before the attention, not after it)
        head_dim = key.shape[-1] // attn.heads
        query = query.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        key = key.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        value = value.view(batch, -1, attn.heads, head_dim).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        if image_rotary_emb is not None:
            targets = (query,) if attn.is_cross_attention else (query, key)
            for h in range(0, attn.heads, self.head_chunk):
                heads = slice(h, h + self.head_chunk)
                for x in targets:
                    x[:, heads, n_text:] = apply_rotary_emb(x[:, heads, n_text:], image_rotary_emb)
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask, dropout_p=0.0,
                                             is_causal=False)
        del query, key, value
        out = out.transpose(1, 2).reshape(batch, -1, attn.heads * head_dim)
        out = attn.to_out[1](attn.to_out[0](out))
        text, video = out.split([n_text, out.size(1) - n_text], dim=1)
        return video, text
