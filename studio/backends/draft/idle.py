"""Idle motion for live photos in the draft renderer: the held pose breathes, sways and tilts its
head, so a live photo can be previewed without X-Dyna weights and visibly lives.

At ``amount = 1`` (the default of ``RenderSettings.live_motion``), as fractions of the torso
length (neck to mid-hip) or in degrees:

- **breathing** (a 3.2 s cycle): the chest rises -- neck, shoulders and head lift by
  :data:`BREATH_LIFT` and the shoulders widen a little -- and the arms ride up with them;
- **sway** (a 4.2 s cycle): the upper body turns about the hips by :data:`SWAY_DEG` while the
  hips shift sideways by :data:`HIP_SHIFT` over planted feet (the knees go half way);
- **head** (a 3.9 s cycle, out of step with the sway): a tilt of :data:`TILT_DEG` about the neck
  and a slight nod;
- **arms**: they hang with gravity, so they turn back against most of the sway, and the
  forearms follow the upper arms a quarter of a second late (secondary motion).

Every motion is zero at t = 0 (the first frame is the photo's pose) and scales with ``amount``
(0 = still); no point moves farther than :data:`MAX_SHIFT` torso lengths times ``amount``. The
draft rig deforms the photo smoothly between bones, so small turns like these bend the body
rather than tear it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NOSE, NECK = 0, 1
R_SHOULDER, R_ELBOW, R_WRIST = 2, 3, 4
L_SHOULDER, L_ELBOW, L_WRIST = 5, 6, 7
R_HIP, R_KNEE, R_ANKLE = 8, 9, 10
L_HIP, L_KNEE, L_ANKLE = 11, 12, 13
HEAD = (0, 14, 15, 16, 17)
UPPER = (0, 1, 2, 3, 4, 5, 6, 7, 14, 15, 16, 17)

BREATH_PERIOD_S = 3.2
SWAY_PERIOD_S = 4.2
HEAD_PERIOD_S = 3.9
#: Breathing lift of the neck and shoulders, and the shoulders' widening, per torso length.
BREATH_LIFT = 0.035
BREATH_WIDEN = 0.008
#: Sway of the upper body about the hips (degrees) and the hips' sideways shift (per torso).
SWAY_DEG = 4.5
HIP_SHIFT = 0.05
#: Head tilt about the neck and nod (degrees).
TILT_DEG = 3.5
NOD_DEG = 1.0
#: Share of the sway the hanging arms turn back, and the forearms' lag (seconds).
ARM_HANG = 0.3
FOREARM_LAG_S = 0.25
#: Phase of the head's cycle against the sway's (radians), so their turns do not peak together.
HEAD_PHASE = 2.1
#: No point moves farther than this many torso lengths times the amount (a safety net for odd
#: poses; the motions above stay well inside it).
MAX_SHIFT = 0.2


def _turn(pts: np.ndarray, centre: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    rel = pts - centre
    return np.stack([c * rel[..., 0] - s * rel[..., 1], s * rel[..., 0] + c * rel[..., 1]], axis=-1) + centre


def _sway(t: float) -> float:
    return float(np.sin(2 * np.pi * t / SWAY_PERIOD_S))


def idle_pose(ref: np.ndarray, t: float, amount: float = 1.0) -> np.ndarray:
    """``(18, 2)``: the complete pose ``ref`` (pixels) at time ``t`` seconds (see the module)."""
    ref = np.asarray(ref, np.float64)
    p = ref.copy()
    if amount <= 0:
        return p
    mid_hip = 0.5 * (ref[R_HIP] + ref[L_HIP])
    torso = float(np.hypot(*(ref[NECK] - mid_hip)))
    torso = torso if np.isfinite(torso) and torso > 1.0 else 100.0
    up = (ref[NECK] - mid_hip) / torso if np.isfinite(ref[NECK] - mid_hip).all() else np.array([0.0, -1.0])
    side = np.array([-up[1], up[0]])  # towards the person's left... or right: only its sign flips
    breath = 0.5 * (1.0 - np.cos(2 * np.pi * t / BREATH_PERIOD_S))
    sway = _sway(t)
    head = np.sin(2 * np.pi * t / HEAD_PERIOD_S + HEAD_PHASE) - np.sin(HEAD_PHASE)
    nod = np.sin(2 * np.pi * t / (0.7 * HEAD_PERIOD_S) - HEAD_PHASE) - np.sin(-HEAD_PHASE)

    # hips shift sideways over planted feet; the knees go half way
    shift = amount * HIP_SHIFT * torso * sway * side
    upper = list(UPPER)
    p[[R_HIP, L_HIP]] += shift
    p[[R_KNEE, L_KNEE]] += 0.5 * shift
    p[upper] += shift
    # breathing: the chest rises and widens, the arms ride up with it
    lift = amount * BREATH_LIFT * torso * breath * up
    p[upper] += lift
    widen = amount * BREATH_WIDEN * torso * breath
    for shoulder, elbow, wrist, sign in ((R_SHOULDER, R_ELBOW, R_WRIST, -1.0), (L_SHOULDER, L_ELBOW, L_WRIST, 1.0)):
        out = np.sign((ref[shoulder] - ref[NECK]) @ side) or sign
        p[[shoulder, elbow, wrist]] += out * widen * side
    # the upper body turns about the hips
    angle = np.radians(amount * SWAY_DEG) * sway
    centre = mid_hip + shift
    p[upper] = _turn(p[upper], centre, angle)
    # the arms hang: they turn back against most of the sway, the forearms a little late
    late = np.radians(amount * SWAY_DEG) * (_sway(t - FOREARM_LAG_S) - _sway(-FOREARM_LAG_S))
    for shoulder, elbow, wrist in ((R_SHOULDER, R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW, L_WRIST)):
        p[[elbow, wrist]] = _turn(p[[elbow, wrist]], p[shoulder], -ARM_HANG * angle)
        p[wrist] = _turn(p[wrist], p[elbow], -ARM_HANG * (late - angle))
    # the head tilts and nods about the neck
    tilt = np.radians(amount * TILT_DEG) * head
    p[list(HEAD)] = _turn(p[list(HEAD)], p[NECK], tilt)
    nod_shift = amount * np.radians(NOD_DEG) * nod * float(np.hypot(*(ref[NOSE] - ref[NECK])))
    p[list(HEAD)] += nod_shift * -up * 0.5
    # keep every point near the photo's pose
    move = p - ref
    norm = np.hypot(move[:, 0], move[:, 1])
    cap = MAX_SHIFT * torso * amount
    scale = np.minimum(1.0, cap / np.maximum(norm, 1e-9))[:, None]
    out = ref + move * scale
    return np.where(np.isfinite(out), out, ref)


def idle_poses(ref_pose: np.ndarray, frames: Sequence[int], fps: float, amount: float = 1.0) -> np.ndarray:
    """``(len(frames), 18, 2)`` poses (render pixels): ``ref_pose`` breathing and swaying at the
    time of each frame index (``i / fps`` seconds), scaled by ``amount``."""
    return np.stack([idle_pose(ref_pose, float(i) / float(fps), amount) for i in frames]) if len(frames) else \
        np.zeros((0, *np.shape(ref_pose)))
