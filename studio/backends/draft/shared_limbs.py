"""Limbs of a reference pose that must not get pixels of their own.

Every pixel of the person goes to one body-part layer (:func:`studio.backends.draft.rig.part_labels`),
the part whose bone is nearest. When a detector puts two limbs on the same physical limb (the
legs on one line, both arms on one arm) that nearest-bone split cuts the one limb lengthwise
into two strips, and each strip follows a different driving limb: the render tears the limb into
smeared stripes. When it puts an arm on the far side of the body, that arm's bone runs across the
chest and takes a band of the torso with it. Neither limb is in the photo where the pose says, so
such a limb gets no layer: its pixels go to the limb that really is there (or the torso), and the
render shows one whole limb instead of two torn halves.

- **shared**: a limb whose bones lie within a limb's width of another limb's bones for most of
  their length; the limb whose attachment joint (shoulder or hip) is farther from the shared
  bones is the one dropped;
- **misplaced**: an arm the reference-pose check finds beyond the other shoulder
  (:mod:`studio.extract.pose_check`, ``arms_one_side``).

A normal photo has neither (a profile's overlapping legs are the *shared* case, and one layer
for both is right there too).
"""

from __future__ import annotations

import numpy as np

from studio.backends.draft.skeleton import (
    ATTACHMENTS,
    BONES,
    L_ANKLE,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_WRIST,
    NECK,
    R_ANKLE,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_WRIST,
    bone_segments,
    segment_distance,
)
from studio.extract.pose_check import crossed_arms

#: The limb parts that can share their pixels, in pairs.
PAIRS: tuple[tuple[str, str], ...] = (("r_arm", "l_arm"), ("r_leg", "l_leg"))
#: Share of a limb's length lying on the other limb above which the two are one limb in the photo.
SHARED = 0.5
_SAMPLES = 24
#: Root, middle and end joint of each limb part.
LIMB_JOINTS: dict[str, tuple[int, int, int]] = {
    "r_arm": (R_SHOULDER, R_ELBOW, R_WRIST), "l_arm": (L_SHOULDER, L_ELBOW, L_WRIST),
    "r_leg": (R_HIP, R_KNEE, R_ANKLE), "l_leg": (L_HIP, L_KNEE, L_ANKLE),
}


def _polyline(part: str, segs: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [segs[i] for i, b in enumerate(BONES) if b.part == part]


def _samples(lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    t = np.linspace(0.0, 1.0, _SAMPLES)[:, None]
    return np.concatenate([a + t * (b - a) for a, b in lines])


def _near(pts: np.ndarray, lines: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    return np.min([segment_distance(pts, a, b) for a, b in lines], axis=0)


def shared_limbs(ref: np.ndarray, width: float) -> set[str]:
    """Limb parts of the complete reference pose ``ref`` (render pixels) lying on another limb
    (within ``width`` pixels, a limb's half width, for more than :data:`SHARED` of their length);
    of each such pair the limb attached farther from the shared bones."""
    segs = bone_segments(ref)
    out: set[str] = set()
    for a, b in PAIRS:
        la, lb = _polyline(a, segs), _polyline(b, segs)
        pa, pb = _samples(la), _samples(lb)
        a_on_b = float((_near(pa, lb) <= width).mean())
        b_on_a = float((_near(pb, la) <= width).mean())
        if max(a_on_b, b_on_a) <= SHARED:
            continue
        shared = np.concatenate([pa[_near(pa, lb) <= width], pb[_near(pb, la) <= width]]).mean(axis=0)
        joint_a, joint_b = ref[ATTACHMENTS[a][1]], ref[ATTACHMENTS[b][1]]
        out.add(b if np.hypot(*(shared - joint_b)) > np.hypot(*(shared - joint_a)) else a)
    return out


def misplaced_arms(ref: np.ndarray, width: int, height: int) -> set[str]:
    """Arms of ``ref`` (render pixels of a ``width`` x ``height`` frame) that the reference-pose
    check finds beyond the other shoulder."""
    return {f"{side[0]}_arm" for side in crossed_arms(ref, np.ones(len(ref)), width, height)}


def dropped_limbs(ref: np.ndarray, width: int, height: int, limb_width: float) -> frozenset[str]:
    """The limb parts that get no layer (see the module docs)."""
    return frozenset(shared_limbs(ref, limb_width) | misplaced_arms(ref, width, height))


#: A torso leaning more than this (radians) from upright is mirrored about its own axis.
UPRIGHT = np.radians(20.0)


def _mirror_onto(ref: np.ndarray, kept: str, target: str, limb_width: float) -> None:
    """Give limb ``target`` the mirror image of limb ``kept`` hung from ``target``'s own root
    (in place). The mirror is vertical for an upright torso (arms and legs hang with gravity,
    and a slight tilt of the hip or shoulder line would swing the mirrored limb sideways), else
    the torso's axis. Roots closer than two limb widths (a profile) give no sound mirror:
    nothing moves."""
    root_k, mid_k, end_k = LIMB_JOINTS[kept]
    root_t, mid_t, end_t = LIMB_JOINTS[target]
    if float(np.hypot(*(ref[root_t] - ref[root_k]))) < 2.0 * limb_width:
        return
    axis = ref[NECK] - 0.5 * (ref[R_HIP] + ref[L_HIP])
    n = float(np.hypot(*axis))
    if n < 1e-6 or abs(np.arctan2(axis[0], -axis[1])) <= UPRIGHT:
        axis, n = np.array([0.0, -1.0]), 1.0
    across = np.array([-axis[1], axis[0]]) / n
    flip = np.eye(2) - 2.0 * np.outer(across, across)  # reflection about the axis direction
    for k, t in ((mid_k, mid_t), (end_k, end_t)):
        ref[t] = ref[root_t] + flip @ (ref[k] - ref[root_k])


def repaired_reference(ref: np.ndarray, width: int, height: int, limb_width: float) -> np.ndarray:
    """``ref`` (complete, render pixels) with each limb that :func:`dropped_limbs` finds placed on
    another limb or on the far side of the body replaced by the mirror image of its partner limb
    (a person's two arms or legs mirror each other more often than not). The photo's mask, layers
    and bones then follow a limb where the photo probably has it; a limb still on its partner
    afterwards (a profile) is dropped by :func:`build_rig <studio.backends.draft.rig.build_rig>`."""
    out = np.array(ref, np.float64, copy=True)
    for part in sorted(dropped_limbs(out, width, height, limb_width)):
        partner = next(b if a == part else a for a, b in PAIRS if part in (a, b))
        if partner in dropped_limbs(out, width, height, limb_width) and partner < part:
            continue  # both arms misplaced: nothing sound to mirror
        _mirror_onto(out, partner, part, limb_width)
    return out
