"""The float noise floor of a tiny render, measured on the CPU that runs the tests (issue 23).

Options that change how a render is computed but not what (the CFG halves as one batch of two or
two batches of one, ControlNet residuals shared or recomputed, the low-VRAM setting, guidance 1
without the uncond half) give the same result up to float32 rounding: the same sums, added in
another order. How large that difference is depends on the CPU's kernels -- on the tiny face
render (20 frames, 1 step) sequential CFG moved the latents by 6.4e-6 and the float video by
5.9e-5 on an AVX-512 Xeon with MKL, by 6.3e-7 / 6.0e-6 on the same machine with
``ATEN_CPU_CAPABILITY=default``, and the video by 1.4e-4 on an AMD EPYC -- so no fixed tolerance
holds on every machine. Instead, :meth:`NoiseFloors.floor` renders the same clip twice more in
ways that must agree with it up to rounding, and takes the larger difference:

* **ulp**: every value of the initial noise moved by one ulp (up or down at random): a
  rounding-sized change of the input, carried through every layer and rounded as this CPU rounds;
* **reblocked**: the feed-forwards in 7-token chunks: the same products computed by GEMMs of
  other row counts, which this CPU's BLAS blocks and sums in its own way.

Both scale with the CPU's rounding, as the options' differences do (the ulp floor was 6.7e-6 in
the latents on AVX-512, 5.7e-7 with ``ATEN_CPU_CAPABILITY=default``). :meth:`NoiseFloors.check`
passes a render whose latents and float video are within :data:`SAFETY` times the floor of the
baseline's, whose uint8 frames differ by at most one level (a rounding flip; float noise this
small cannot move a value by two) on at most :data:`SAFETY` times the floor's share of values.

Measured with ``ATEN_CPU_CAPABILITY`` avx512 (1 and 2 torch threads), avx2 and default, and
with MKL and oneDNN held to AVX2 (``MKL_ENABLE_INSTRUCTIONS=AVX2 DNNL_MAX_CPU_ISA=AVX2``, MKL's
code path on many AMD CPUs): every option's difference stayed within 1.25x the floor, so :data:`SAFETY` = 8
leaves a wide margin for other CPUs. A real change of the computation stays far outside: a VAE
whose weights went through float16 once (a bug this suite had, a test leaving the shared
pipeline's VAE rounded) moved the latents by 5.0e-4 and the video by 4.4e-3, 9x and 12x the
tolerance, and flipped 6.5 % of the uint8 values (14x).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from studio.backends.xdyna.pipeline import RunOptions, XDynaCall, XDynaOutput

#: How many times the measured floor a render may differ from the baseline.
SAFETY = 8.0
#: Tokens per feed-forward chunk of the reblocked render (not a divisor of the 64 tokens per frame).
REBLOCK_TOKENS = 7


@dataclass(frozen=True)
class Difference:
    """How far two renders of the same clip are apart."""

    latents: float  # max |difference| of the latents
    video: float  # max |difference| of the float video in [0, 1]
    video_mean: float  # mean |difference| of the float video
    levels: int  # max |difference| of the uint8 frames
    flips: float  # share of uint8 values that differ

    @classmethod
    def between(cls, a: XDynaOutput, b: XDynaOutput) -> Difference:
        """The difference of ``b`` from ``a``."""
        video = np.abs(a.video.astype(np.float64) - b.video)
        levels = np.abs(a.frames.astype(np.int16) - b.frames)
        return cls(float(np.abs(a.latents.astype(np.float64) - b.latents).max()), float(video.max()),
                   float(video.mean()), int(levels.max()), float((levels > 0).mean()))


@dataclass(frozen=True)
class Floor:
    """The largest difference rounding alone makes, per quantity."""

    latents: float
    video: float
    flips: float  # share of uint8 values a rounding-sized change flips


def one_ulp(t: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """``t`` with every value moved to its next float up or down (at random)."""
    up = torch.rand(t.shape, generator=torch.Generator().manual_seed(seed)) < 0.5
    return torch.nextafter(t, torch.where(up, torch.tensor(float("inf")), torch.tensor(float("-inf"))))


class NoiseFloors:
    """Baseline renders of the tiny face case and their noise floors, each made once per session.

    ``render_kwargs`` (``seed``, ``guidance_scale``, ...) select the render; the first ``n`` frames
    of the case are rendered with one denoising step unless ``num_inference_steps`` says otherwise.
    """

    def __init__(self, pipe: Any, inputs: dict[str, np.ndarray], n: int = 20) -> None:
        self.pipe, self.inputs, self.n = pipe, inputs, n
        self._baselines: dict[tuple, XDynaOutput] = {}
        self._floors: dict[tuple, Floor] = {}

    def render(self, options: RunOptions | None = None, **kw: Any) -> XDynaOutput:
        """One render of the case with ``options`` (the pipeline is left with the default options)."""
        kw.setdefault("num_inference_steps", 1)
        x = self.inputs
        self.pipe.configure(options or RunOptions())
        try:
            return self.pipe(XDynaCall(x["reference"], x["pose"][: self.n], x["sface_local"][: self.n],
                                       x["sface_global"][: self.n], **kw))
        finally:
            self.pipe.configure(RunOptions())

    def baseline(self, **kw: Any) -> XDynaOutput:
        """The render with the default options."""
        key = tuple(sorted(kw.items()))
        if key not in self._baselines:
            self._baselines[key] = self.render(**kw)
        return self._baselines[key]

    def floor(self, **kw: Any) -> Floor:
        """The noise floor of :meth:`baseline` ``(**kw)`` on this CPU (see the module docstring)."""
        key = tuple(sorted(kw.items()))
        if key not in self._floors:
            base = self.baseline(**kw)
            draws = dataclasses.replace(base.draws, init_noise=one_ulp(base.draws.init_noise))
            ulp = self.render(**{**kw, "draws": draws})
            reblocked = self.render(RunOptions(ff_chunk_tokens=REBLOCK_TOKENS), **kw)
            diffs = [Difference.between(base, other) for other in (ulp, reblocked)]
            floor = Floor(max(d.latents for d in diffs), max(d.video for d in diffs),
                          # the share of values a change of that mean size flips, 255 x the mean for
                          # values spread evenly between rounding boundaries, or the share seen
                          max(max(d.flips, 255 * d.video_mean) for d in diffs))
            assert floor.latents > 0 and floor.video > 0, f"the perturbations changed nothing: {diffs}"
            self._floors[key] = floor
        return self._floors[key]

    def check(self, other: XDynaOutput, **kw: Any) -> Difference:
        """Assert ``other`` equals :meth:`baseline` ``(**kw)`` up to rounding; returns the difference."""
        base, floor = self.baseline(**kw), self.floor(**kw)
        d = Difference.between(base, other)
        said = f"{d} against the floor {floor} (x{SAFETY:g} allowed)"
        assert d.latents <= SAFETY * floor.latents, said
        assert d.video <= SAFETY * floor.video, said
        assert d.levels <= 1, said  # a rounding flip, never more
        assert d.flips <= SAFETY * floor.flips, said
        return d
