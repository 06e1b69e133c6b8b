"""One-Euro filtering of keypoint tracks (Casiez et al., CHI 2012).

The filter is a first-order low-pass whose cutoff rises with the speed of the signal: still
poses are smoothed strongly (no jitter), fast motion little (no lag). Runs restart after every
gap (NaN) and at shot cuts.
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro(series: np.ndarray, fps: float, *, min_cutoff: float = 2.0, beta: float = 40.0,
             d_cutoff: float = 1.0, breaks: np.ndarray | None = None) -> np.ndarray:
    """Filter ``series`` of shape ``(N, ...)`` along axis 0; NaNs are kept and restart the filter.

    Parameters
    ----------
    fps: samples per second.
    min_cutoff: cutoff (Hz) at rest. beta: cutoff increase per unit of speed (units/s);
    coordinates here are normalised, so a speed of 1 is one frame width per second.
    breaks: optional ``(N,)`` bool, ``True`` where a new run starts (shot cuts).
    """
    x = np.asarray(series, np.float64)
    n = x.shape[0]
    flat = x.reshape(n, -1)
    out = flat.copy()
    dt = 1.0 / max(float(fps), 1e-6)
    a_d = _alpha(d_cutoff, dt)
    for k in range(flat.shape[1]):
        prev = math.nan
        dprev = 0.0
        for i in range(n):
            v = flat[i, k]
            if math.isnan(v) or (breaks is not None and breaks[i]) or math.isnan(prev):
                prev = v
                dprev = 0.0
                out[i, k] = v
                continue
            d = (v - prev) / dt
            dprev = a_d * d + (1.0 - a_d) * dprev
            a = _alpha(min_cutoff + beta * abs(dprev), dt)
            prev = a * v + (1.0 - a) * prev
            out[i, k] = prev
    return out.reshape(x.shape).astype(series.dtype if np.issubdtype(np.asarray(series).dtype, np.floating) else np.float32)
