"""The GEGLU feed-forward of the spatial and temporal transformers, run in chunks of tokens.

A transformer feed-forward works on every token on its own, so splitting the tokens into chunks
gives the same numbers while only one chunk's intermediates exist at a time. That matters at
full size: at 896x512 one spatial feed-forward of a CFG window sees 2 x 17 x 7168 tokens, and its
GEGLU projection (8 x 320 channels), gate and product take 1.25 + 0.62 + 0.62 GB at once when
run unchunked. In chunks of :data:`FF_CHUNK_TOKENS` tokens they take about 0.17 GB, and the
output is written straight into one preallocated tensor (no list of chunks, no concatenation).

:class:`ChunkedFeedForward` is a diffusers :class:`~diffusers.models.attention.FeedForward` (same
``net.0.proj`` / ``net.2`` parameters, so the checkpoint keys do not change) with a chunked
forward; :func:`chunked` turns an existing ``FeedForward`` into one in place.
"""

from __future__ import annotations

import torch
from diffusers.models.attention import FeedForward

FF_CHUNK_TOKENS = 16384
"""Tokens per feed-forward chunk (0 = unchunked). At 320 channels a chunk's GEGLU intermediates
are 16384 x 2560 x 2 bytes = 84 MB in float16."""


class ChunkedFeedForward(FeedForward):
    """``FeedForward`` that runs at most :attr:`chunk_tokens` tokens at a time (0: all at once).

    The tokens are the input's leading dimensions flattened; every chunk goes through the same
    modules as the unchunked forward, so the result is the same.
    """

    chunk_tokens: int = FF_CHUNK_TOKENS

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:  # type: ignore[override]
        """``(..., C)`` tokens -> ``(..., C_out)``."""
        chunk = self.chunk_tokens
        lead = hidden_states.shape[:-1]
        tokens = hidden_states.reshape(-1, hidden_states.shape[-1])
        if chunk <= 0 or tokens.shape[0] <= chunk or torch.is_grad_enabled():
            return super().forward(hidden_states)
        out: torch.Tensor | None = None
        for start in range(0, tokens.shape[0], chunk):
            part = tokens[start : start + chunk]
            for module in self.net:
                part = module(part)
            if out is None:
                out = part.new_empty((tokens.shape[0], part.shape[-1]))
            out[start : start + part.shape[0]] = part
        assert out is not None
        return out.view(*lead, out.shape[-1])


def chunked(ff: FeedForward, chunk_tokens: int = FF_CHUNK_TOKENS) -> ChunkedFeedForward:
    """Make ``ff`` (a diffusers ``FeedForward``) chunked, in place; its parameters are unchanged."""
    ff.__class__ = ChunkedFeedForward
    ff.chunk_tokens = int(chunk_tokens)
    return ff  # type: ignore[return-value]


def set_chunk_tokens(model: torch.nn.Module, chunk_tokens: int) -> int:
    """Set the chunk size of every :class:`ChunkedFeedForward` in ``model``; returns how many."""
    count = 0
    for module in model.modules():
        if isinstance(module, ChunkedFeedForward):
            module.chunk_tokens = int(chunk_tokens)
            count += 1
    return count


def chunk_all(model: torch.nn.Module, chunk_tokens: int = FF_CHUNK_TOKENS) -> int:
    """Make every diffusers ``FeedForward`` in ``model`` (e.g. a ControlNet's) chunked; returns how many."""
    count = 0
    for module in model.modules():
        if type(module) is FeedForward:
            chunked(module, chunk_tokens)
            count += 1
    return count
