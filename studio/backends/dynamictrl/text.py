"""The T5 prompt path: sentencepiece tokens as the official ``T5Tokenizer`` makes them, T5 states.

The official pipeline tokenizes with ``T5Tokenizer`` (legacy mode, the release's
``tokenizer/spiece.model``): the sentencepiece pieces of the prompt, cut to 225, then ``</s>``
(id 1), padded with ``<pad>`` (id 0) to 226 tokens, and runs the T5 encoder on all 226 tokens
WITHOUT an attention mask (pad tokens are attended to; this changes the numbers and is
reproduced). The sentencepiece library is used directly, so no tokenizer conversion (and no
protobuf) is needed. Prompts are plain text: T5's special-token strings (``</s>``,
``<extra_id_N>``) are not split out of a prompt the way ``T5Tokenizer`` would.
"""

from __future__ import annotations

from pathlib import Path

import torch

#: Tokens per prompt (the official ``max_sequence_length``; the transformer expects 226).
MAX_TOKENS = 226
PAD_ID = 0
EOS_ID = 1


class PromptTokenizer:
    """Token ids of prompts, as the official pipeline's tokenizer call makes them."""

    def __init__(self, spiece_model: Path | str, max_tokens: int = MAX_TOKENS) -> None:
        import sentencepiece as spm

        self.path = Path(spiece_model)
        self.max_tokens = int(max_tokens)
        self._sp = spm.SentencePieceProcessor(model_file=str(self.path))

    def ids(self, prompt: str) -> list[int]:
        """One prompt's ids: pieces (cut to max-1), eos, pad."""
        pieces = list(self._sp.encode(prompt))[: self.max_tokens - 1] + [EOS_ID]
        return pieces + [PAD_ID] * (self.max_tokens - len(pieces))

    def __call__(self, prompts: list[str]) -> torch.Tensor:
        """(len(prompts), max_tokens) int64."""
        return torch.tensor([self.ids(p) for p in prompts], dtype=torch.long)

    def truncated(self, prompt: str) -> bool:
        """Whether ``prompt`` is longer than the tokens the model sees (the rest is dropped)."""
        return len(self._sp.encode(prompt)) > self.max_tokens - 1


def encode(text_encoder: torch.nn.Module, ids: torch.Tensor, device: torch.device | str,
           dtype: torch.dtype) -> torch.Tensor:
    """T5 last hidden states for ``ids`` (no attention mask, as the official pipeline), on
    ``device`` in ``dtype``; the encoder runs wherever its weights are (CPU when offloaded)."""
    enc_device = next(text_encoder.parameters()).device
    with torch.no_grad():
        states = text_encoder(ids.to(enc_device))[0]
    return states.to(device=device, dtype=dtype)
