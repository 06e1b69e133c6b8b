"""Where DynamiCtrl's models live during a render (the ``offload`` and ``cpu_text_encoder``
options). Placement moves weights; the two offload profiles also compute in smaller pieces
(:func:`set_low_memory`), which is what lets them meet their memory goals at 768x1360 x 37
(bench/vram_model_dynamictrl.py):

* none: transformer and VAE on the device for the whole render; the official batching;
* model: each on the device only for its phase (VAE: encoding and decoding; transformer:
  denoising), the other on the CPU (what diffusers' model CPU offload does); the transformer's
  feed-forward over chunks of ``FF_CHUNK_TOKENS`` tokens and its rotary embedding
  ``ROTARY_HEAD_CHUNK`` heads at a time (the same bits), and the CFG halves one after the
  other (its ~10 GiB of transformer weights leave little room): the same values up to float
  rounding, since a batch-1 matrix product may round differently from a batch-2 one;
* sequential: the parts of each transformer block (its norms, PA-LN, attention, feed-forward:
  the block itself is never called as a module, see ``DynamiCtrlTransformer.run_block``) and
  the VAE's encoder and decoder visit the device one at a time, brought by forward pre-hooks;
  a part stays until another part is called or the phase ends, so the chunked feed-forward and
  the VAE's tiles do not move it again for every call; the transformer's embeddings and output
  head stay on the device; the same chunking as ``model``, CFG batched (the same bits);
* the T5 encoder stays on the CPU when ``cpu_text_encoder`` (encoded once per pass), else it
  visits the device for the text phase: whole, or under ``sequential`` block by block (its
  embedding and final norm for the phase, each block for its call).

On a CPU device every profile runs the same hooks, phases and pieces with nothing to move, so
the tests check on a CPU that the profiles give the same frames. :attr:`Placement.on_device`
names what is on the device at any moment; the memory model's weight accounting
(``resident`` in bench/vram_model_dynamictrl.py) is tested against it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: Offload profile -> (chunked feed-forward and rotary, CFG halves one after the other).
LOW_MEMORY = {"none": (False, False), "model": (True, True), "sequential": (True, False)}
#: Tokens per feed-forward chunk in the offload profiles (4096 of the ~20.6k per CFG half at
#: 768x1360 x 37: the 4x-wide hidden layer then takes ~0.2 GiB instead of ~1.9 GiB).
FF_CHUNK_TOKENS = 4096
#: Heads per rotary-embedding chunk in the offload profiles (of 48).
ROTARY_HEAD_CHUNK = 8


def set_low_memory(pipe, chunks: bool, cfg_halves: bool = False) -> None:
    """``chunks``: the transformer's feed-forward over token chunks and its rotary embedding a few
    heads at a time (:mod:`.attention`; the same bits); ``cfg_halves``: the CFG halves one
    after the other (the same values up to float rounding). Both off: the official batching."""
    from diffusers.models.attention_processor import CogVideoXAttnProcessor2_0

    from studio.backends.dynamictrl.attention import ChunkedRotaryAttnProcessor

    tr = pipe.transformer
    tr.ff_chunk_tokens = FF_CHUNK_TOKENS if chunks else None
    tr.set_attn_processor(ChunkedRotaryAttnProcessor(ROTARY_HEAD_CHUNK) if chunks else CogVideoXAttnProcessor2_0())
    pipe.cfg_in_halves = bool(cfg_halves)


class Placement:
    """Puts a pipeline's models on ``device`` per its offload profile (module docstring) and
    sets ``pipe.phase`` to :meth:`phase`."""

    def __init__(self, pipe, device: torch.device | str, offload: str = "none", cpu_text_encoder: bool = True) -> None:
        if offload not in LOW_MEMORY:
            raise ValueError(f"offload must be none, model or sequential, not {offload!r}")
        self.pipe, self.device, self.offload = pipe, torch.device(device), offload
        self.cpu_text_encoder = cpu_text_encoder
        #: What is on the device now, by name (e.g. "transformer", "vae.decoder",
        #: "transformer_blocks.3.ff"); the rest is on the CPU.
        self.on_device: dict[str, torch.nn.Module] = {}
        #: Calls of each part that sequential offload brings to the device, by name.
        self.visits: dict[str, int] = {}
        self._part: str | None = None          # the part sequential offload has on the device
        tr, vae, t5 = pipe.transformer, pipe.vae, pipe.text_encoder
        for model in (tr, vae, t5):
            model.to("cpu")
        if offload == "none":
            self._bring("transformer", tr)
            self._bring("vae", vae)
        elif offload == "sequential":
            for name, child in tr.named_children():
                if name != "transformer_blocks":
                    self._bring(f"transformer.{name}", child)
            for i, block in enumerate(tr.transformer_blocks):
                for name, part in block.named_children():
                    self._hook(f"transformer_blocks.{i}.{name}", part)
            for name, child in vae.named_children():
                self._hook(f"vae.{name}", child)
            if not cpu_text_encoder:
                for i, block in enumerate(t5.encoder.block):
                    self._hook(f"text_encoder.block.{i}", block)
        set_low_memory(pipe, *LOW_MEMORY[offload])
        pipe.phase = self.phase

    # -- moves -----------------------------------------------------------------------------------
    def _bring(self, name: str, module: torch.nn.Module) -> None:
        module.to(self.device)
        self.on_device[name] = module

    def _send_back(self, name: str) -> None:
        self.on_device.pop(name).to("cpu")

    def _hook(self, name: str, module: torch.nn.Module) -> None:
        """A pre-hook that brings ``module`` for its call (sending the previous part back)."""
        self.visits[name] = 0

        def pre(mod, args):
            self.visits[name] += 1
            if self._part != name:
                self._release_part()
                self._bring(name, mod)
                self._part = name

        module.register_forward_pre_hook(pre)

    def _release_part(self) -> None:
        if self._part is not None:
            self._send_back(self._part)
            self._part = None

    @property
    def device_bytes(self) -> int:
        """Bytes of the parameters and buffers on the device now."""
        return sum(t.numel() * t.element_size() for m in self.on_device.values()
                   for t in [*m.parameters(), *m.buffers()])

    # -- phases ----------------------------------------------------------------------------------
    def _phase_models(self, name: str) -> dict[str, torch.nn.Module]:
        """What comes to the device for phase ``name`` (besides what hooks bring)."""
        p = self.pipe
        if name == "text" and not self.cpu_text_encoder:
            t5 = p.text_encoder
            if self.offload == "sequential":   # the blocks come by their hooks
                return {"text_encoder.shared": t5.shared, "text_encoder.final_layer_norm": t5.encoder.final_layer_norm}
            return {"text_encoder": t5}
        if self.offload == "model" and name in ("vae", "transformer"):
            return {name: getattr(p, name)}
        return {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """``name`` in text / vae / transformer: the models that phase needs are on the device."""
        models = {k: m for k, m in self._phase_models(name).items() if k not in self.on_device}
        for key, module in models.items():
            self._bring(key, module)
        try:
            yield
        finally:
            self._release_part()
            for key in models:
                self._send_back(key)
