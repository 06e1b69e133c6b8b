"""The DynamiCtrl transformer: CogVideoX 1.5 with a pose-adaptive LayerNorm in every block.

Built on diffusers' :class:`CogVideoXTransformer3DModel` (patch embedding, time and ofs
embeddings, blocks, output head are diffusers'); what DynamiCtrl adds is written here:

* :class:`PoseAdaptiveNorm` (``transformer_blocks.N.control_norm1`` in the release): a
  LayerNorm of the pose tokens, shifted and scaled from the time embedding, plus a gate.
* The pose latents (VAE-encoded pose video, 16 channels) are duplicated on channels to the 32
  the patch embedding expects and embedded by the SAME ``patch_embed`` as the video.
* In each block the PA-LN output is added to the normalised video tokens before attention (pose
  tokens never join attention), and the block passes ``n + gate * n`` (``n`` its PA-LN output)
  on as the next block's pose tokens. Everything else is CogVideoX's block, step for step.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers import CogVideoXTransformer3DModel
from torch import nn


class PoseAdaptiveNorm(nn.Module):
    """LayerNorm of the pose tokens modulated by the time embedding: returns (normed, gate)."""

    def __init__(self, conditioning_dim: int, dim: int, elementwise_affine: bool = True,
                 eps: float = 1e-5) -> None:
        super().__init__()
        self.silu = nn.SiLU()
        self.linear = nn.Linear(conditioning_dim, 3 * dim, bias=True)
        self.norm = nn.LayerNorm(dim, eps=eps, elementwise_affine=elementwise_affine)

    def forward(self, pose: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shift, scale, gate = self.linear(self.silu(temb)).chunk(3, dim=1)
        normed = self.norm(pose) * (1 + scale[:, None, :]) + shift[:, None, :]
        return normed, gate[:, None, :]


class DynamiCtrlTransformer(CogVideoXTransformer3DModel):
    """CogVideoX transformer + PA-LN (the release's ``transformer/`` folder loads into it as is:
    same config keys, same parameter names, ``control_norm1`` added to each block)."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: Tokens per feed-forward chunk (None: all at once). The feed-forward acts on each token
        #: alone, so chunking changes the memory (its 4x-wide hidden layer), not the numbers.
        self.ff_chunk_tokens: int | None = None
        cfg = self.config
        inner = cfg.num_attention_heads * cfg.attention_head_dim
        for block in self.transformer_blocks:
            block.add_module("control_norm1", PoseAdaptiveNorm(
                cfg.time_embed_dim, inner, cfg.norm_elementwise_affine, cfg.norm_eps))

    # -- pieces ------------------------------------------------------------------------------
    def time_embed(self, timestep: torch.Tensor, ofs: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
        """Time embedding (+ the ofs embedding of 1.5-style checkpoints)."""
        emb = self.time_embedding(self.time_proj(timestep).to(dtype))
        if self.ofs_embedding is not None:
            if ofs is None:
                raise ValueError("this transformer has an ofs embedding: pass ofs (2.0 in DynamiCtrl)")
            emb = emb + self.ofs_embedding(self.ofs_proj(ofs).to(dtype))
        return emb

    def embed_pose(self, pose_latents: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Pose tokens: the pose latents twice on channels through the shared patch embedding.

        The patch embedding embeds text and video together; without positional embeddings
        (rotary checkpoints) the video part does not depend on the text, so an empty text is
        passed; with them the real text is, as in the official code."""
        doubled = torch.cat([pose_latents, pose_latents], dim=2)
        ctx = text if self.patch_embed.use_positional_embeddings else text[:, :0]
        tokens = self.embedding_dropout(self.patch_embed(ctx, doubled))
        return tokens[:, ctx.shape[1]:]

    @staticmethod
    def feed_forward(ff: nn.Module, tokens: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
        """``ff(tokens)``, ``chunk`` tokens at a time when given (the same bits, less memory: each
        chunk's output is written into the result at once, so no list of chunks is held)."""
        if not chunk or tokens.shape[1] <= chunk:
            return ff(tokens)
        out = None
        for start in range(0, tokens.shape[1], chunk):
            part = ff(tokens[:, start:start + chunk])
            if out is None:
                out = part.new_empty((tokens.shape[0], tokens.shape[1], part.shape[-1]))
            out[:, start:start + chunk] = part
            del part
        return out

    @staticmethod
    def run_block(block: nn.Module, streams: list[torch.Tensor], temb: torch.Tensor,
                  rotary: tuple[torch.Tensor, torch.Tensor] | None, ff_chunk: int | None = None) -> list[torch.Tensor]:
        """One CogVideoX block with PA-LN on ``streams = [video, text, pose]``; returns the next
        block's. The list is emptied on entry, so each input is freed as soon as it is replaced
        (not held by the caller for the whole block)."""
        video, text, pose = streams
        streams.clear()
        n_text = text.shape[1]
        norm_video, norm_text, gate_msa, enc_gate_msa = block.norm1(video, text, temb)
        norm_pose, pose_gate = block.control_norm1(pose, temb)
        joined = norm_video.add_(norm_pose)   # in place: the same sum, one tensor fewer held
        del norm_video
        pose = norm_pose + pose_gate * norm_pose
        del norm_pose
        attn_video, attn_text = block.attn1(hidden_states=joined, encoder_hidden_states=norm_text,
                                            image_rotary_emb=rotary)
        del joined
        video = video + gate_msa * attn_video
        text = text + enc_gate_msa * attn_text
        del attn_video, attn_text
        norm_video, norm_text, gate_ff, enc_gate_ff = block.norm2(video, text, temb)
        joined = torch.cat([norm_text, norm_video], dim=1)
        del norm_video, norm_text
        ff = DynamiCtrlTransformer.feed_forward(block.ff, joined, ff_chunk)
        del joined
        video = video + gate_ff * ff[:, n_text:]
        text = text + enc_gate_ff * ff[:, :n_text]
        return [video, text, pose]

    def unpatchify(self, tokens: torch.Tensor, batch: int, frames: int, height: int, width: int) -> torch.Tensor:
        """(B, tokens, p_t*p*p*C) -> (B, F, C, H, W)."""
        p, p_t = self.config.patch_size, self.config.patch_size_t
        if p_t is None:
            out = tokens.reshape(batch, frames, height // p, width // p, -1, p, p)
            return out.permute(0, 1, 4, 2, 5, 3, 6).flatten(5, 6).flatten(3, 4)
        out = tokens.reshape(batch, (frames + p_t - 1) // p_t, height // p, width // p, -1, p_t, p, p)
        return out.permute(0, 1, 5, 4, 2, 6, 3, 7).flatten(6, 7).flatten(4, 5).flatten(1, 2)

    # -- forward -----------------------------------------------------------------------------
    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor,  # type: ignore[override]
                timestep: torch.Tensor, pose_latents: torch.Tensor, ofs: torch.Tensor | None = None,
                image_rotary_emb: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Velocity prediction for ``hidden_states`` (B, F, 32, h, w: noise then image latents),
        text ``encoder_hidden_states`` (B, T, D_text) and ``pose_latents`` (B, F, 16, h, w)."""
        batch, frames, _, height, width = hidden_states.shape
        temb = self.time_embed(timestep, ofs, hidden_states.dtype)
        n_text = encoder_hidden_states.shape[1]
        tokens = self.embedding_dropout(self.patch_embed(encoder_hidden_states, hidden_states))
        streams = [tokens[:, n_text:], tokens[:, :n_text], self.embed_pose(pose_latents, encoder_hidden_states)]
        del tokens                               # (its storage goes with the first block's outputs)
        for block in self.transformer_blocks:
            streams = self.run_block(block, streams, temb, image_rotary_emb, self.ff_chunk_tokens)
        video = streams[0]
        video = self.norm_final(video)          # per-token LayerNorm: text need not be joined
        video = self.proj_out(self.norm_out(video, temb=temb))
        return self.unpatchify(video, batch, frames, height, width)
