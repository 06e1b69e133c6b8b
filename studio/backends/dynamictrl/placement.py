"""Where DynamiCtrl's models live during a render (the ``offload`` and ``cpu_text_encoder``
options). Placement moves weights, never changes what is computed.

* none: transformer and VAE on the device for the whole render;
* model: each on the device only for its phase (VAE: encoding and decoding; transformer:
  denoising), the other on the CPU (what diffusers' model CPU offload does);
* sequential: the transformer's blocks and the VAE's top-level parts visit the device one at a
  time, moved by forward hooks (least memory, slowest);
* the T5 encoder stays on the CPU when ``cpu_text_encoder`` (encoded once per pass), else it
  visits the device for the encoding.
"""

from __future__ import annotations

from contextlib import contextmanager
from collections.abc import Iterator

import torch


def _visit(module: torch.nn.Module, device: torch.device) -> None:
    """Hooks that move ``module`` to ``device`` for each call and back to the CPU after."""
    def pre(mod, args, kwargs):
        mod.to(device)

    def post(mod, args, kwargs, out):
        mod.to("cpu")
        return out

    module.register_forward_pre_hook(pre, with_kwargs=True)
    module.register_forward_hook(post, with_kwargs=True)


class Placement:
    """Moves a :class:`~.pipeline.DynamiCtrlPipeline`'s models for one offload mode."""

    def __init__(self, pipe, device: torch.device | str, offload: str = "none", cpu_text_encoder: bool = True) -> None:
        self.pipe, self.device, self.offload = pipe, torch.device(device), offload
        self.cpu_text_encoder = cpu_text_encoder
        if self.device.type == "cpu":
            self.offload = "none"
        if self.offload == "sequential":
            for block in pipe.transformer.transformer_blocks:
                _visit(block, self.device)
            for name, child in pipe.transformer.named_children():
                if name != "transformer_blocks":
                    child.to(self.device)
            for child in pipe.vae.children():
                _visit(child, self.device)
        elif self.offload == "none":
            pipe.transformer.to(self.device)
            pipe.vae.to(self.device)
        pipe.text_encoder.to("cpu")
        pipe.phase = self.phase

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """``name`` in text / vae / transformer: the models that phase needs are on the device."""
        p = self.pipe
        if name == "text" and not self.cpu_text_encoder:
            p.text_encoder.to(self.device)
        if self.offload == "model":
            (p.vae if name == "vae" else p.transformer if name == "transformer" else torch.nn.Identity()).to(self.device)
        try:
            yield
        finally:
            if name == "text" and not self.cpu_text_encoder:
                p.text_encoder.to("cpu")
            if self.offload == "model" and name in ("vae", "transformer"):
                (p.vae if name == "vae" else p.transformer).to("cpu")
