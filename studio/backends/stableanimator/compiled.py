"""``torch.compile`` for the render's two heavy calls: the UNet's steps and the VAE decode.

Opt-in (``StableAnimatorOptions.torch_compile``): inductor fuses the elementwise ops, group norms
and layout copies around the convolutions and matmuls into generated kernels (C++ on the CPU,
Triton on CUDA). The arithmetic is the same up to float reordering (the tiny golden case's final
latents move by about 2e-5, inside the official code's own noise floor;
tests/stableanimator/test_compiled.py). Measured with one CPU thread (``bench/stableanimator_bench.py
--compile``): 0.73x the eager time per render on the tiny golden case (64x64) and 0.84x at 128x128,
after a first call that compiles for 90-110 s from an empty inductor cache (about 10 s when
inductor's disk cache, ``/tmp/torchinductor_<user>`` by default, already holds the kernels).

Each shape compiles once (``dynamic=False``: kernels specialised to the size, as fast as they
get) and is reused while the pipeline lives; a render at a new size, tile batch or last decode
chunk compiles again (past dynamo's limit of 8 per call, further new shapes run eagerly). Only no-grad calls are compiled: the HJB refine steps decode with gradients
through the eager VAE decoder, and model offload (whose hooks move weights during a call) cannot be
combined with it (the options say so). When compiling fails (no C++ compiler on the CPU, no Triton
on CUDA) the call runs eagerly, so do the pipeline's other compiled calls from then on, and
:attr:`CompiledModels.failure` says why, for the render to report.
"""

from __future__ import annotations

import time

import torch
from torch import nn


def _signature(args: tuple, kwargs: dict) -> tuple:
    """What a call's compiled graph is specialised to: the shapes, dtypes and devices of its tensors."""
    def sig(v):
        return (tuple(v.shape), v.dtype, v.device.type) if isinstance(v, torch.Tensor) else type(v).__name__
    return tuple(sig(a) for a in args) + tuple((k, sig(v)) for k, v in sorted(kwargs.items()))


class Compiled:
    """A module's ``torch.compile``'d call, falling back to the module itself if compiling fails.

    ``compile_seconds`` maps each call signature (the tensors' shapes, dtypes, devices) to the wall
    time of its first call, the one that compiled it; :attr:`pending` collects those times until
    :meth:`CompiledModels.take_compiled` reports them, so a render can say what compiling cost.
    """

    def __init__(self, module: nn.Module, name: str, failures: list[str] | None = None) -> None:
        self.module, self.name = module, name
        self._fn = torch.compile(module, dynamic=False)
        #: why compiling failed, shared by the calls of one pipeline (once one fails, none tries again)
        self.failures = failures if failures is not None else []
        self.compile_seconds: dict[tuple, float] = {}
        self.pending: list[float] = []

    @property
    def failure(self) -> str | None:
        """Why compiling failed (this call's or a sibling's), or None."""
        return self.failures[0] if self.failures else None

    def __call__(self, *args, **kwargs):
        if self.failures:
            return self.module(*args, **kwargs)
        key = _signature(args, kwargs)
        t0 = time.perf_counter()
        try:
            out = self._fn(*args, **kwargs)
        except Exception as e:
            out = self.module(*args, **kwargs)  # the model's own error is raised here, as without compiling
            lines = str(e).strip().splitlines()
            self.failures.append(f"{self.name}: {type(e).__name__}: {lines[0] if lines else ''}"[:300])
            return out
        if key not in self.compile_seconds:
            self.compile_seconds[key] = time.perf_counter() - t0
            self.pending.append(self.compile_seconds[key])
        return out


class CompiledModels:
    """The compiled UNet and VAE decoder of a pipeline's components (made once, reused by every render)."""

    def __init__(self, unet: nn.Module, decoder: nn.Module) -> None:
        failures: list[str] = []
        self.unet = Compiled(unet, "UNet", failures)
        self.decoder = Compiled(decoder, "VAE decoder", failures)
        #: whether the render has said why compiling failed (once per pipeline)
        self.failure_reported = False

    @property
    def failure(self) -> str | None:
        """Why compiling failed (every call then runs eagerly), or None."""
        return self.unet.failure

    def take_compiled(self) -> list[str]:
        """What the calls since the last take compiled, as ``"UNet 74.1 s"`` (each reported once)."""
        done = [f"{c.name} {sum(c.pending):.1f} s" for c in (self.unet, self.decoder) if c.pending]
        self.unet.pending, self.decoder.pending = [], []
        return done
