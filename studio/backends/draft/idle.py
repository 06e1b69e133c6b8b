"""Idle motion for live photos in the draft renderer: the held pose breathes and sways gently,
so a live photo can be previewed without X-Dyna weights.

Breathing lifts the shoulders, head and arms a little (a 4 s cycle); the upper body sways about
the hips (a 6.5 s cycle). Both are scaled to the torso and capped at :data:`MAX_SHIFT_PX`, so the
person stays within a few pixels of the photo's pose. Legs and hips do not move.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: OpenPose-18 points above the hips (nose, neck, shoulders, elbows, wrists, eyes, ears).
UPPER = (0, 1, 2, 3, 4, 5, 6, 7, 14, 15, 16, 17)
NECK, R_HIP, L_HIP = 1, 8, 11
BREATH_PERIOD_S = 4.0
SWAY_PERIOD_S = 6.5
#: Breathing lift and sway at the neck, as fractions of the torso length.
BREATH_LIFT = 0.010
SWAY_SHIFT = 0.010
#: No point moves farther than this from the photo's pose (render pixels).
MAX_SHIFT_PX = 4.0


def idle_poses(ref_pose: np.ndarray, frames: Sequence[int], fps: float) -> np.ndarray:
    """``(len(frames), 18, 2)`` poses (render pixels): ``ref_pose`` breathing and swaying at the
    time of each frame index (``i / fps`` seconds)."""
    ref = np.asarray(ref_pose, np.float64)
    hips = ref[[R_HIP, L_HIP]]
    hip = np.nanmean(hips, axis=0) if np.isfinite(hips).any() else np.nanmean(ref, axis=0)
    neck = ref[NECK] if np.isfinite(ref[NECK]).all() else np.nanmean(ref[list(UPPER)], axis=0)
    torso = float(np.hypot(*(neck - hip))) if np.isfinite(neck - hip).all() else 0.0
    torso = torso if torso > 1.0 else 100.0
    height = max(hip[1] - neck[1], 1.0)
    upper = np.array(UPPER)
    # how much each upper point takes part: 0 at the hips, 1 at the neck and above
    weight = np.clip((hip[1] - ref[upper, 1]) / height, 0.0, 1.0)
    weight = np.where(np.isfinite(weight), weight, 0.0)
    out = np.repeat(ref[None], len(frames), axis=0)
    for k, i in enumerate(frames):
        t = float(i) / float(fps)
        lift = BREATH_LIFT * torso * 0.5 * (1.0 - np.cos(2 * np.pi * t / BREATH_PERIOD_S))
        angle = SWAY_SHIFT * np.sin(2 * np.pi * t / SWAY_PERIOD_S)  # radians; the neck moves ~angle*torso
        rel = ref[upper] - hip
        c, s = np.cos(angle * weight), np.sin(angle * weight)
        rotated = np.stack([c * rel[:, 0] - s * rel[:, 1], s * rel[:, 0] + c * rel[:, 1]], axis=1) + hip
        moved = rotated - np.stack([np.zeros_like(weight), lift * weight], axis=1)
        shift = moved - ref[upper]
        norm = np.hypot(shift[:, 0], shift[:, 1])
        scale = np.minimum(1.0, MAX_SHIFT_PX / np.maximum(norm, 1e-9))[:, None]
        out[k, upper] = ref[upper] + shift * scale
    return out
