"""Frame-rate conversion for exports: the clip keeps its duration (and so stays in sync with its
sound) while the number of frames changes.

``repeat`` shows, at each output time, the source frame on screen at that moment (frames are
repeated going up, dropped going down); ``blend`` mixes the two source frames around that moment
by their distance (smoother motion, slight ghosting).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Literal

import numpy as np

from studio.core.errors import StudioError

RetimeMode = Literal["repeat", "blend"]
#: Output frame rates offered besides the source's own.
COMMON_RATES = (8.0, 12.0, 24.0, 30.0)
_EPS = 1e-9


def retimed_count(n_src: int, src_fps: float, dst_fps: float) -> int:
    """How many output frames cover the duration of ``n_src`` frames at ``src_fps``."""
    _check(src_fps, dst_fps)
    return max(1, int(round(n_src * dst_fps / src_fps))) if n_src > 0 else 0


def source_positions(n_src: int, src_fps: float, dst_fps: float) -> np.ndarray:
    """The (fractional) source frame shown at each output frame's time, clipped to the clip."""
    n_out = retimed_count(n_src, src_fps, dst_fps)
    return np.minimum(np.arange(n_out, dtype=np.float64) * (src_fps / dst_fps), n_src - 1)


def retime(frames: Iterable[np.ndarray], n_src: int, src_fps: float, dst_fps: float,
           mode: RetimeMode = "repeat") -> Iterator[np.ndarray]:
    """Convert ``n_src`` frames at ``src_fps`` to ``dst_fps`` (see the module docstring);
    streams, holding at most two source frames."""
    if mode not in ("repeat", "blend"):
        raise StudioError("Unknown frame-rate conversion", f"{mode!r} must be 'repeat' or 'blend'.")
    if abs(src_fps - dst_fps) < 1e-6:
        yield from frames
        return
    positions = source_positions(n_src, src_fps, dst_fps)
    it = iter(frames)
    prev: np.ndarray | None = None
    cur_index = -1
    cur: np.ndarray | None = None

    def advance_to(index: int) -> None:
        nonlocal prev, cur, cur_index
        while cur_index < index:
            nxt = next(it, None)
            if nxt is None:
                raise StudioError("Cannot convert the frame rate",
                                  f"The clip ended after {cur_index + 1} of {n_src} frames.")
            prev, cur, cur_index = cur, nxt, cur_index + 1

    for p in positions:
        lo = int(math.floor(p + _EPS))
        w = p - lo
        if mode == "repeat" or w < 1e-6 or lo + 1 >= n_src:
            advance_to(lo)
            yield cur
            continue
        advance_to(lo + 1)
        a, b = prev.astype(np.float32), cur.astype(np.float32)
        yield np.clip(np.round(a * (1.0 - w) + b * w), 0, 255).astype(np.uint8)


def _check(src_fps: float, dst_fps: float) -> None:
    for name, v in (("source", src_fps), ("output", dst_fps)):
        if not (isinstance(v, (int, float)) and 0 < v <= 240):
            raise StudioError("Invalid frame rate", f"The {name} frame rate {v!r} must be between 0 and 240.")
