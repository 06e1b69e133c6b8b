"""``torch.compile`` for the render's two heavy calls: the UNet's steps and the VAE decode.

Opt-in (``StableAnimatorOptions.torch_compile``): inductor fuses the elementwise ops, group norms
and layout copies around the convolutions and matmuls into generated kernels (C++ on the CPU,
Triton on CUDA). The arithmetic is the same up to float reordering (the tiny golden case's final
latents move by about 2e-5, inside the official code's own noise floor;
tests/stableanimator/test_compiled.py). Measured with one CPU thread (``bench/stableanimator_bench.py
--compile``): 0.65-0.73x the eager time per render on the tiny golden case (64x64) and 0.84x at 128x128,
after a first call that compiles for 90-140 s from an empty inductor cache (about 10 s when
inductor's disk cache, ``/tmp/torchinductor_<user>`` by default, already holds the kernels).

Each shape compiles once (``dynamic=False``: kernels specialised to the size, as fast as they
get) and is reused while the pipeline lives; a render at a new size, tile batch or last decode
chunk compiles again (past dynamo's limit of 8 per call, further new shapes run eagerly). What
changes between renders of one size reaches the compiled code as tensors (the latents, timesteps,
encoder states, pose features and the face strength, a 0-d buffer of the ID adapter), so another
seed, step count, guidance or face strength compiles nothing. Only no-grad calls are compiled: the
HJB refine steps decode with gradients through the eager VAE decoder, and model offload (whose
hooks move weights during a call) cannot be combined with it (the options say so). When compiling
fails (no C++ compiler on the CPU, no Triton on CUDA) the call runs eagerly, so do the pipeline's
other compiled calls from then on, and :attr:`CompiledModels.failure` says why, for the render to
report.
"""

from __future__ import annotations

import time

import torch
from torch import nn


def _graphs_compiled() -> int:
    """How many graphs dynamo has compiled in this process (its own count: shapes and guards alike)."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


class Compiled:
    """A module's ``torch.compile``'d call, falling back to the module itself if compiling fails.

    ``compiles`` holds the wall time of every call that compiled (a new shape, or a guard that failed:
    dynamo's own graph count went up during the call); :attr:`pending` collects those times until
    :meth:`CompiledModels.take_compiled` reports them, so a render can say what compiling cost.
    """

    def __init__(self, module: nn.Module, name: str, failures: list[str] | None = None) -> None:
        self.module, self.name = module, name
        self._fn = torch.compile(module, dynamic=False)
        #: why compiling failed, shared by the calls of one pipeline (once one fails, none tries again)
        self.failures = failures if failures is not None else []
        self.compiles: list[float] = []
        self.pending: list[float] = []

    @property
    def failure(self) -> str | None:
        """Why compiling failed (this call's or a sibling's), or None."""
        return self.failures[0] if self.failures else None

    def __call__(self, *args, **kwargs):
        if self.failures:
            return self.module(*args, **kwargs)
        graphs, t0 = _graphs_compiled(), time.perf_counter()
        try:
            out = self._fn(*args, **kwargs)
        except torch._dynamo.exc.RecompileError:  # asked for (``error_on_recompile``, the tests): not a failure
            raise
        except Exception as e:
            out = self.module(*args, **kwargs)  # the model's own error is raised here, as without compiling
            lines = str(e).strip().splitlines()
            self.failures.append(f"{self.name}: {type(e).__name__}: {lines[0] if lines else ''}"[:300])
            return out
        if _graphs_compiled() > graphs:
            self.compiles.append(time.perf_counter() - t0)
            self.pending.append(self.compiles[-1])
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
