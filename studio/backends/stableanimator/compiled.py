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

from torch import nn

from studio.backends.compiled import Compiled, compile_news


class CompiledModels:
    """The compiled UNet and VAE decoder of a pipeline's components (made once, reused by every render)."""

    def __init__(self, unet: nn.Module, decoder: nn.Module) -> None:
        failures: list[str] = []
        self.unet = Compiled(unet, "UNet", failures)
        self.decoder = Compiled(decoder, "VAE decoder", failures)
        #: the failures the render has said (once per pipeline)
        self.reported: set[str] = set()

    @property
    def failure(self) -> str | None:
        """Why compiling failed (every call then runs eagerly), or None."""
        return self.unet.failure

    def news(self) -> list[str]:
        """Progress messages: what the calls since the last news compiled, why compiling failed (once)."""
        return compile_news([self.unet, self.decoder], self.reported)
