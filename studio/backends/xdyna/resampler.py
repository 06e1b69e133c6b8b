"""IP-Adapter-Plus image projection (the Perceiver "Resampler").

Turns the penultimate hidden states of the CLIP ViT-H image encoder (``(B, 257, 1280)``) into
16 image tokens of the UNet's cross-attention width. Parameter names follow
``ip-adapter-plus_sd15.bin["image_proj"]`` (``latents``, ``proj_in``, ``proj_out``, ``norm_out``,
``layers.{i}.0`` attention, ``layers.{i}.1`` feed-forward) so that file loads as is.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: Hyper-parameters of the released model (``inference_xdyna.py``); ``embedding_dim`` is the
#: image encoder's hidden size.
OFFICIAL_KWARGS: dict[str, Any] = {
    "dim": 768,
    "depth": 4,
    "dim_head": 64,
    "heads": 12,
    "num_queries": 16,
    "embedding_dim": 1280,
    "output_dim": 768,
    "ff_mult": 4,
}


class PerceiverAttention(nn.Module):
    """Learned queries attend to the image features concatenated with themselves."""

    def __init__(self, dim: int, dim_head: int, heads: int) -> None:
        super().__init__()
        inner = dim_head * heads
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def forward(self, features: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """``features`` (B, L, dim), ``queries`` (B, Q, dim) -> (B, Q, dim)."""
        features = self.norm1(features)
        queries = self.norm2(queries)
        b, q_len, _ = queries.shape
        q = self.to_q(queries)
        k, v = self.to_kv(torch.cat([features, queries], dim=1)).chunk(2, dim=-1)
        q, k, v = (t.view(b, t.shape[1], self.heads, -1).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).reshape(b, q_len, -1))


def _feed_forward(dim: int, mult: int) -> nn.Sequential:
    return nn.Sequential(
        nn.LayerNorm(dim),
        nn.Linear(dim, dim * mult, bias=False),
        nn.GELU(),
        nn.Linear(dim * mult, dim, bias=False),
    )


class Resampler(nn.Module):
    """IP-Adapter-Plus projection: ``num_queries`` tokens of width ``output_dim``."""

    def __init__(
        self,
        dim: int = 768,
        depth: int = 4,
        dim_head: int = 64,
        heads: int = 12,
        num_queries: int = 16,
        embedding_dim: int = 1280,
        output_dim: int = 768,
        ff_mult: int = 4,
    ) -> None:
        super().__init__()
        self.latents = nn.Parameter(torch.randn(1, num_queries, dim) / dim**0.5)
        self.proj_in = nn.Linear(embedding_dim, dim)
        self.proj_out = nn.Linear(dim, output_dim)
        self.norm_out = nn.LayerNorm(output_dim)
        self.layers = nn.ModuleList(
            nn.ModuleList([PerceiverAttention(dim, dim_head, heads), _feed_forward(dim, ff_mult)])
            for _ in range(depth)
        )

    def forward(self, image_features: torch.Tensor) -> torch.Tensor:
        """``image_features`` (B, L, embedding_dim) -> image tokens (B, num_queries, output_dim)."""
        x = self.proj_in(image_features)
        tokens = self.latents.expand(x.shape[0], -1, -1)
        for attn, ff in self.layers:
            tokens = attn(x, tokens) + tokens
            tokens = ff(tokens) + tokens
        return self.norm_out(self.proj_out(tokens))
