"""StableAnimator's face encoder: an ArcFace embedding and a CLIP image embedding -> ID tokens.

The 512-d ArcFace embedding is projected to ``num_tokens`` tokens of the cross-attention width and
layer-normalised; a 4-layer perceiver then refines those tokens by attending to the projected
CLIP image embedding and to themselves (IP-Adapter-FaceID-Plus style). Parameter names follow the
official ``Animation/face_encoder.pth`` (``proj``, ``norm``, ``fusion_model.{proj_in, layers,
proj_out, norm_out}``), so the published file loads strictly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PerceiverAttention(nn.Module):
    """Latent tokens attend to [image features, latent tokens] (keys/values from both)."""

    def __init__(self, dim: int, dim_head: int = 64, heads: int = 8) -> None:
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = dim_head * heads
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.dim_head).transpose(1, 2)

    def forward(self, features: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        features, latents = self.norm1(features), self.norm2(latents)
        q = self._heads(self.to_q(latents))
        k, v = (self._heads(t) for t in self.to_kv(torch.cat([features, latents], dim=1)).chunk(2, dim=-1))
        out = F.scaled_dot_product_attention(q, k, v)
        b, _, n, _ = out.shape
        return self.to_out(out.transpose(1, 2).reshape(b, n, self.heads * self.dim_head))


def _feed_forward(dim: int, mult: int = 4) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * mult, bias=False), nn.GELU(),
                         nn.Linear(dim * mult, dim, bias=False))


class FacePerceiver(nn.Module):
    """``depth`` rounds of perceiver attention + feed-forward, with residuals, then project and norm."""

    def __init__(self, dim: int, depth: int, dim_head: int, heads: int, embedding_dim: int, output_dim: int,
                 ff_mult: int = 4) -> None:
        super().__init__()
        self.proj_in = nn.Linear(embedding_dim, dim)
        self.proj_out = nn.Linear(dim, output_dim)
        self.norm_out = nn.LayerNorm(output_dim)
        self.layers = nn.ModuleList(
            nn.ModuleList([PerceiverAttention(dim, dim_head, heads), _feed_forward(dim, ff_mult)]) for _ in range(depth)
        )

    def forward(self, latents: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        features = self.proj_in(features)
        for attn, ff in self.layers:
            latents = attn(features, latents) + latents
            latents = ff(latents) + latents
        return self.norm_out(self.proj_out(latents))


class FaceEncoder(nn.Module):
    """(batch, 512) ArcFace embedding + (batch, 1, clip) CLIP embedding -> (batch, num_tokens, width)."""

    def __init__(self, cross_attention_dim: int = 1024, id_embeddings_dim: int = 512, clip_embeddings_dim: int = 1024,
                 num_tokens: int = 4) -> None:
        super().__init__()
        if cross_attention_dim % 64:
            raise ValueError(f"face encoder width {cross_attention_dim} is not a multiple of 64")
        self.width, self.num_tokens = cross_attention_dim, num_tokens
        self.proj = nn.Sequential(nn.Linear(id_embeddings_dim, id_embeddings_dim * 2), nn.GELU(),
                                  nn.Linear(id_embeddings_dim * 2, cross_attention_dim * num_tokens))
        self.norm = nn.LayerNorm(cross_attention_dim)
        self.fusion_model = FacePerceiver(cross_attention_dim, 4, 64, cross_attention_dim // 64, clip_embeddings_dim,
                                          cross_attention_dim)

    def forward(self, id_embedding: torch.Tensor, clip_embedding: torch.Tensor) -> torch.Tensor:
        tokens = self.norm(self.proj(id_embedding).reshape(-1, self.num_tokens, self.width))
        return self.fusion_model(tokens, clip_embedding)
