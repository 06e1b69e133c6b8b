"""Secondary motion of a draft live photo: hair and loose clothes trail the body and stir a little.

The rig knows, per mesh vertex, how *loose* it is: how far it lies beyond the body's core (hair
beyond the skull, a skirt beyond the legs, a loose shirt beyond the torso's outline), from 0 on
the core to 1 well outside it (:func:`looseness`, computed once per photo). Each frame of a live
photo moves the loose vertices on top of the skinned pose (:func:`flutter_offsets`): they lag the
body's sway (inertia) and carry a slow wave travelling down the body. The offsets are a smooth
function of the vertex position and fall to zero on the core, so the layers bend, never tear.
"""

from __future__ import annotations

import numpy as np

from studio.backends.draft.skeleton import BONES, bone_segments, segment_distance

#: Per part, the core's half width as a fraction of the body scale (beyond it vertices loosen),
#: and the width over which they go from tight to fully loose.
CORE: dict[str, float] = {"head": 0.2, "torso": 0.0, "r_arm": 0.09, "l_arm": 0.09, "r_leg": 0.1, "l_leg": 0.1}
LOOSEN = 0.25
#: Flutter amplitude (fraction of the body scale at amount 1), wave period and the lag of the trail.
AMPLITUDE = 0.03
WAVE_PERIOD_S = 2.7
TRAIL_S = 0.45


def looseness(part: str, pts: np.ndarray, ref: np.ndarray, torso_dist: np.ndarray, scale: float) -> np.ndarray:
    """``(N,)`` in [0, 1]: how far beyond the core of ``part`` each vertex ``pts`` lies (see the
    module). ``torso_dist`` is the distance map to the torso polygon; ``scale`` the body scale."""
    if part == "torso":
        h, w = torso_dist.shape
        x = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
        y = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
        d = torso_dist[y, x].astype(np.float64)
    else:
        segs = bone_segments(ref)
        d = np.min([segment_distance(pts, *segs[i]) for i, b in enumerate(BONES) if b.part == part], axis=0)
    loose = np.clip((d / scale - CORE[part]) / LOOSEN, 0.0, 1.0)
    return loose * loose * (3 - 2 * loose)  # smoothstep: no kink where loosening starts


def _sway(t: float, period: float) -> float:
    return float(np.sin(2 * np.pi * t / period))


def flutter_offsets(vertices: np.ndarray, loose: np.ndarray, scale: float, t: float, amount: float,
                    sway_period: float) -> np.ndarray:
    """``(V, 2)`` offsets of the rig's vertices (rest positions ``vertices``) at time ``t``: the
    trail of the body's sway (cycle ``sway_period`` seconds) and a wave down the body, scaled by
    ``loose`` and ``amount``; zero at ``t = 0``."""
    if amount <= 0 or loose is None:
        return np.zeros_like(vertices)
    a = AMPLITUDE * scale * amount
    # the loose parts lag the sway: they are where the body was a moment ago
    trail = _sway(t - TRAIL_S, sway_period) - _sway(t, sway_period) - _sway(-TRAIL_S, sway_period)
    phase = vertices[:, 1] / scale * np.pi
    wave = np.sin(2 * np.pi * t / WAVE_PERIOD_S - phase) - np.sin(-phase)  # zero at t = 0
    lift = 0.35 * (np.cos(2 * np.pi * t / (1.3 * WAVE_PERIOD_S) - phase) - np.cos(-phase))
    off = np.empty_like(vertices)
    off[:, 0] = a * loose * (trail + 0.5 * wave)
    off[:, 1] = a * loose * lift
    return off
