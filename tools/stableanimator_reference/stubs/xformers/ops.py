"""Exact attention with the ``xformers.ops.memory_efficient_attention`` signature.

``SA_STUB_ATTENTION=sdpa`` (noise-floor runs only) computes the same attention with torch's
``scaled_dot_product_attention`` kernel instead of the explicit matmul-softmax-matmul: equal in
exact arithmetic, summed in another order.
"""

import math
import os

import torch


def memory_efficient_attention(query, key, value, attn_bias=None, p=0.0, scale=None, op=None):
    """softmax(q k^T * scale + bias) v for [B, M, K] or xformers' [B, M, H, K] inputs."""
    four_d = query.ndim == 4
    if four_d:  # xformers layout [B, M, H, K] -> [B, H, M, K]
        query, key, value = (t.transpose(1, 2) for t in (query, key, value))
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    if os.environ.get("SA_STUB_ATTENTION") == "sdpa":
        bias = None if attn_bias is None else attn_bias.float()
        out = torch.nn.functional.scaled_dot_product_attention(query.float(), key.float(), value.float(),
                                                               attn_mask=bias, scale=scale).to(query.dtype)
        return out.transpose(1, 2) if four_d else out
    scores = (query.float() @ key.float().transpose(-1, -2)) * scale
    if attn_bias is not None:
        scores = scores + attn_bias.float()
    out = torch.softmax(scores, dim=-1) @ value.float()
    out = out.to(query.dtype)
    return out.transpose(1, 2) if four_d else out
