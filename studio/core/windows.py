"""Sliding 16-frame windows over a clip and the weights that fuse their overlaps.

Three schedules:

* ``reference`` -- the official X-Dyna schedule (``animatediff/utils/context.py`` with
  ``step=0, closed_loop=True``): windows start at ``0, s, 2s, ... < N`` with stride
  ``s = context - overlap`` and cover ``(start + e + offset) % N``; the last window wraps to the
  start of the clip; ``offset`` is redrawn every denoising step. A clip of ``N <= context``
  frames is one window ``[0 .. N-1]`` and the offset is unused.
* ``static`` -- no wrap-around: windows at stride ``s``; the last window is shifted back so it
  ends exactly on the last frame. For clips that do not loop.
* ``stream`` -- the ``static`` windows, denoised one after another by the render engine.

Fusion weights are per position inside a window: ``flat`` (plain average, the official rule)
or ``pyramid`` (linearly falling toward the window edges, so seams blend smoothly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from studio.core.errors import StudioError

Schedule = Literal["reference", "static", "stream"]
Weighting = Literal["flat", "pyramid"]

CONTEXT_FRAMES = 16
CONTEXT_OVERLAP = 4


def _check(n_frames: int, context: int, overlap: int) -> None:
    if n_frames < 1:
        raise StudioError("Nothing to render", f"The clip has {n_frames} frames; it needs at least 1.")
    if context < 1 or not 0 <= overlap < context:
        raise StudioError(
            "Invalid window settings",
            f"Window size {context} with overlap {overlap}: the overlap must be at least 0 and "
            "smaller than the window.",
        )


def reference_windows(
    n_frames: int, offset: int = 0, context: int = CONTEXT_FRAMES, overlap: int = CONTEXT_OVERLAP
) -> list[list[int]]:
    """The official X-Dyna windows for one denoising step (wrap-around, shifted by ``offset``)."""
    _check(n_frames, context, overlap)
    if n_frames <= context:
        return [list(range(n_frames))]
    stride = context - overlap
    return [
        [(start + e + offset) % n_frames for e in range(context)]
        for start in range(0, n_frames, stride)
    ]


def static_windows(
    n_frames: int, context: int = CONTEXT_FRAMES, overlap: int = CONTEXT_OVERLAP
) -> list[list[int]]:
    """Windows without wrap-around; the last one ends on the last frame."""
    _check(n_frames, context, overlap)
    if n_frames <= context:
        return [list(range(n_frames))]
    stride = context - overlap
    starts = list(range(0, n_frames - context + 1, stride))
    if starts[-1] + context < n_frames:
        starts.append(n_frames - context)
    return [list(range(s, s + context)) for s in starts]


def window_weights(length: int, weighting: Weighting = "flat") -> np.ndarray:
    """Fusion weight for each position of a window of ``length`` frames (all > 0)."""
    if weighting == "flat":
        return np.ones(length, np.float64)
    if weighting == "pyramid":
        # 1, 2, ..., peak, ..., 2, 1 -- as in FreeNoise's "pyramid" scheme.
        half = (length + 1) // 2
        ramp = np.arange(1, half + 1, dtype=np.float64)
        return np.concatenate([ramp, ramp[: length - half][::-1]])
    raise StudioError("Invalid window settings", f"Unknown fusion weighting '{weighting}'; use flat or pyramid.")


@dataclass(frozen=True)
class WindowPlan:
    """Which frames each window covers and how overlapping predictions are fused."""

    n_frames: int
    context: int = CONTEXT_FRAMES
    overlap: int = CONTEXT_OVERLAP
    schedule: Schedule = "reference"
    weighting: Weighting = "flat"

    def __post_init__(self) -> None:
        _check(self.n_frames, self.context, self.overlap)
        if self.schedule not in ("reference", "static", "stream"):
            raise StudioError(
                "Invalid window settings", f"Unknown schedule '{self.schedule}'; use reference, static or stream."
            )
        window_weights(2, self.weighting)  # validates the name

    @property
    def uses_offset(self) -> bool:
        """Whether windows move with a per-step random offset (reference schedule, long clips)."""
        return self.schedule == "reference" and self.n_frames > self.context

    def windows(self, offset: int = 0) -> list[list[int]]:
        """The windows for one step; ``offset`` only matters for the reference schedule."""
        if self.schedule == "reference":
            return reference_windows(self.n_frames, offset, self.context, self.overlap)
        return static_windows(self.n_frames, self.context, self.overlap)

    def frame_weights(self, offset: int = 0) -> list[np.ndarray]:
        """Per window, the fusion weight of each of its frames, normalised so that for every
        frame the weights of all windows covering it sum to 1."""
        wins = self.windows(offset)
        raw = [window_weights(len(w), self.weighting) for w in wins]
        total = np.zeros(self.n_frames, np.float64)
        for w, r in zip(wins, raw):
            np.add.at(total, w, r)
        return [r / total[w] for w, r in zip(wins, raw)]

    def coverage(self, offset: int = 0) -> np.ndarray:
        """``(N,)`` how many windows cover each frame."""
        c = np.zeros(self.n_frames, np.int64)
        for w in self.windows(offset):
            np.add.at(c, w, 1)
        return c
