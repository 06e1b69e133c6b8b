"""The draft renderer's bones: which OpenPose-18 joints drive which body part, and the 2x3
transforms that carry each bone from the reference pose to a driving pose.

All coordinates here are pixels in the render frame (``width x height``). A pose is an
``(18, 2)`` float array with ``NaN`` where a joint is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# OpenPose-18 joint indices.
NOSE, NECK = 0, 1
R_SHOULDER, R_ELBOW, R_WRIST = 2, 3, 4
L_SHOULDER, L_ELBOW, L_WRIST = 5, 6, 7
R_HIP, R_KNEE, R_ANKLE = 8, 9, 10
L_HIP, L_KNEE, L_ANKLE = 11, 12, 13
R_EYE, L_EYE, R_EAR, L_EAR = 14, 15, 16, 17

TORSO_JOINTS: tuple[int, ...] = (NECK, R_SHOULDER, L_SHOULDER, R_HIP, L_HIP)
HEAD_JOINTS: tuple[int, ...] = (NOSE, NECK, R_EYE, L_EYE, R_EAR, L_EAR)

#: Body parts, back to front: the order the layers are composited in.
PARTS: tuple[str, ...] = ("r_leg", "l_leg", "torso", "head", "r_arm", "l_arm")


@dataclass(frozen=True)
class Bone:
    """One bone.

    ``a``/``b`` are the joints of a limb segment (``kind == "limb"``); torso and head bones are
    fitted to several joints instead. ``extend`` lengthens the segment beyond ``b`` (as a
    fraction of its length) when measuring distances, so the hand follows the forearm and the
    foot the shin. ``joint`` is the joint that attaches the bone's part to its parent part
    (shoulder, hip, neck), or -1.
    """

    name: str
    part: str
    kind: str  # "limb" | "torso" | "head"
    a: int = -1
    b: int = -1
    extend: float = 0.0


BONES: tuple[Bone, ...] = (
    Bone("torso", "torso", "torso"),
    Bone("head", "head", "head"),
    Bone("r_upper_arm", "r_arm", "limb", R_SHOULDER, R_ELBOW),
    Bone("r_forearm", "r_arm", "limb", R_ELBOW, R_WRIST, 0.45),
    Bone("l_upper_arm", "l_arm", "limb", L_SHOULDER, L_ELBOW),
    Bone("l_forearm", "l_arm", "limb", L_ELBOW, L_WRIST, 0.45),
    Bone("r_thigh", "r_leg", "limb", R_HIP, R_KNEE),
    Bone("r_shin", "r_leg", "limb", R_KNEE, R_ANKLE, 0.3),
    Bone("l_thigh", "l_leg", "limb", L_HIP, L_KNEE),
    Bone("l_shin", "l_leg", "limb", L_KNEE, L_ANKLE, 0.3),
)
BONE_INDEX: dict[str, int] = {b.name: i for i, b in enumerate(BONES)}

#: For each non-torso part: (the parent part, the joint where they meet, the parent-side bone
#: and the child-side bone that blend across that joint).
ATTACHMENTS: dict[str, tuple[str, int, str, str]] = {
    "head": ("torso", NECK, "torso", "head"),
    "r_arm": ("torso", R_SHOULDER, "torso", "r_upper_arm"),
    "l_arm": ("torso", L_SHOULDER, "torso", "l_upper_arm"),
    "r_leg": ("torso", R_HIP, "torso", "r_thigh"),
    "l_leg": ("torso", L_HIP, "torso", "l_thigh"),
}

#: Joints every reference pose must have for the draft renderer to rig the body.
REQUIRED_JOINTS: tuple[int, ...] = (NECK, R_SHOULDER, L_SHOULDER)


def _valid(p: np.ndarray) -> np.ndarray:
    return np.all(np.isfinite(p), axis=-1)


def complete_reference(ref: np.ndarray) -> np.ndarray:
    """Fill joints missing from a reference pose with plausible guesses so every bone exists.

    Missing hips hang below the shoulders (a portrait), a missing elbow/knee continues straight
    down from its parent joint, a missing wrist/ankle continues the upper segment, and missing
    head points are placed above the neck. The caller has checked :data:`REQUIRED_JOINTS`.
    """
    p = np.array(ref, np.float64, copy=True)
    shoulder_w = float(np.linalg.norm(p[R_SHOULDER] - p[L_SHOULDER]))
    if not (_valid(p[R_HIP]) and _valid(p[L_HIP])):
        # A portrait: hang the hips below the shoulders, away from the face.
        across = p[L_SHOULDER] - p[R_SHOULDER]
        normal = np.array([-across[1], across[0]]) / max(shoulder_w, 1e-6)
        if _valid(p[NOSE]) and float(normal @ (p[NOSE] - p[NECK])) > 0:
            normal = -normal
        elif not _valid(p[NOSE]) and normal[1] < 0:
            normal = -normal
        for hip, shoulder in ((R_HIP, R_SHOULDER), (L_HIP, L_SHOULDER)):
            if not _valid(p[hip]):
                p[hip] = p[NECK] + 0.8 * (p[shoulder] - p[NECK]) + normal * 1.6 * shoulder_w
    torso_h = float(np.linalg.norm((p[R_HIP] + p[L_HIP]) / 2 - p[NECK]))
    down = (p[R_HIP] + p[L_HIP]) / 2 - p[NECK]
    down = down / max(np.linalg.norm(down), 1e-6)
    for a, b, c, length in (
        (R_SHOULDER, R_ELBOW, R_WRIST, 0.55 * torso_h),
        (L_SHOULDER, L_ELBOW, L_WRIST, 0.55 * torso_h),
        (R_HIP, R_KNEE, R_ANKLE, 0.8 * torso_h),
        (L_HIP, L_KNEE, L_ANKLE, 0.8 * torso_h),
    ):
        if not _valid(p[b]):
            p[b] = p[a] + down * length
        if not _valid(p[c]):
            p[c] = p[b] + (p[b] - p[a])
    if not _valid(p[NOSE]):
        p[NOSE] = p[NECK] - down * 0.35 * torso_h
    up = p[NOSE] - p[NECK]
    side = np.array([-down[1], down[0]])
    guesses = {
        R_EYE: p[NOSE] + 0.12 * up - side * 0.12 * shoulder_w,
        L_EYE: p[NOSE] + 0.12 * up + side * 0.12 * shoulder_w,
        R_EAR: p[NOSE] - side * 0.25 * shoulder_w,
        L_EAR: p[NOSE] + side * 0.25 * shoulder_w,
    }
    for j, g in guesses.items():
        if not _valid(p[j]):
            p[j] = g
    return p


#: Parent of each OpenPose-18 joint in the body tree rooted at the neck (-1: the root).
PARENT: tuple[int, ...] = (1, -1, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12, 0, 0, 14, 15)
#: Joints in an order where every parent comes before its children.
TREE_ORDER: tuple[int, ...] = (1, 0, 2, 5, 8, 11, 3, 6, 9, 12, 4, 7, 10, 13, 14, 15, 16, 17)


def fill_driving(drv: np.ndarray, previous: np.ndarray | None, ref: np.ndarray) -> np.ndarray:
    """Complete one driving pose. A missing joint keeps its offset from its parent joint as it
    was in ``previous`` (the last complete pose), or in the reference pose before any; so a
    lost wrist stays on the arm as the arm moves, and legs never seen in the driving video
    hang from the hips as in the photo. A missing neck sits between the shoulders, or where the
    torso's other joints say, or where it last was."""
    p = np.array(drv, np.float64, copy=True)
    base = previous if previous is not None else ref
    missing = ~_valid(p)
    if not missing.any():
        return p
    if missing[NECK]:
        if not missing[R_SHOULDER] and not missing[L_SHOULDER]:
            p[NECK] = base[NECK] + (p[R_SHOULDER] + p[L_SHOULDER] - base[R_SHOULDER] - base[L_SHOULDER]) / 2
        else:
            ok = [j for j in TORSO_JOINTS if not missing[j]]
            shift = (p[ok] - base[ok]).mean(axis=0) if ok else 0.0
            p[NECK] = base[NECK] + shift
    for j in TREE_ORDER[1:]:
        if missing[j]:
            p[j] = p[PARENT[j]] + (base[j] - base[PARENT[j]])
    return p


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation taking ``src`` points to ``dst``
    (Umeyama, no reflection), as a 2x3 matrix. Needs at least 2 distinct points."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    var = float((s**2).sum())
    if var < 1e-9:
        A = np.eye(2)
    else:
        # Complex-number form: dst ~ z * src with z = a + ib.
        a = float((s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum()) / var
        b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / var
        A = np.array([[a, -b], [b, a]])
    t = md - A @ ms
    return np.hstack([A, t[:, None]])


def _affine_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares affine; falls back to a similarity when the fit is degenerate."""
    if len(src) < 3:
        return similarity(src, dst)
    X = np.hstack([src, np.ones((len(src), 1))])
    sol, *_ = np.linalg.lstsq(X, dst, rcond=None)
    A = sol.T
    det = float(np.linalg.det(A[:, :2]))
    sim = similarity(src, dst)
    scale2 = float(np.linalg.det(sim[:, :2]))
    if det <= 0.15 * max(scale2, 1e-9) or det > 6.0 * max(scale2, 1e-9):
        return sim
    return A


_LIMB_A = np.array([b.a for b in BONES[2:]])
_LIMB_B = np.array([b.b for b in BONES[2:]])


def _limbs(ref: np.ndarray, drv: np.ndarray) -> np.ndarray:
    """``(n_limbs, 2, 3)``: each limb segment turned onto its driving direction and stretched
    along itself to the driving length (clamped to 0.6-1.6x), its first joint onto the
    driving one. Vectorised over the limbs."""
    a, b = ref[_LIMB_A], ref[_LIMB_B]
    a2, b2 = drv[_LIMB_A], drv[_LIMB_B]
    u, v = b - a, b2 - a2
    lu, lv = np.hypot(u[:, 0], u[:, 1]), np.hypot(v[:, 0], v[:, 1])
    ok = (lu > 1e-6) & (lv > 1e-6)
    e = u / np.where(ok, lu, 1.0)[:, None]
    s = np.where(ok, np.clip(lv / np.where(ok, lu, 1.0), 0.6, 1.6), 1.0)
    ang = np.where(ok, np.arctan2(v[:, 1], v[:, 0]) - np.arctan2(u[:, 1], u[:, 0]), 0.0)
    c, sn = np.cos(ang), np.sin(ang)
    # stretch = I + (s - 1) e e^T; A = R(ang) @ stretch
    k = s - 1.0
    st = np.empty((len(a), 2, 2))
    st[:, 0, 0] = 1 + k * e[:, 0] ** 2
    st[:, 0, 1] = st[:, 1, 0] = k * e[:, 0] * e[:, 1]
    st[:, 1, 1] = 1 + k * e[:, 1] ** 2
    out = np.empty((len(a), 2, 3))
    out[:, 0, :2] = c[:, None] * st[:, 0] - sn[:, None] * st[:, 1]
    out[:, 1, :2] = sn[:, None] * st[:, 0] + c[:, None] * st[:, 1]
    out[:, :, 2] = a2 - np.einsum("lij,lj->li", out[:, :, :2], a)
    return out


def bone_transforms(ref: np.ndarray, drv: np.ndarray) -> np.ndarray:
    """``(n_bones, 2, 3)`` transforms carrying each bone of the (complete) reference pose
    ``ref`` onto the (complete) driving pose ``drv``."""
    out = np.empty((len(BONES), 2, 3))
    out[0] = _affine_fit(ref[list(TORSO_JOINTS)], drv[list(TORSO_JOINTS)])
    out[1] = similarity(ref[list(HEAD_JOINTS)], drv[list(HEAD_JOINTS)])
    out[2:] = _limbs(ref, drv)
    return out


def segment_distance(pts: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each of ``pts`` ``(N, 2)`` to the segment ``a``-``b``."""
    ab = b - a
    denom = float(ab @ ab)
    if denom < 1e-9:
        return np.hypot(*(pts - a).T)
    t = np.clip(((pts - a) @ ab) / denom, 0.0, 1.0)
    proj = a + t[:, None] * ab
    return np.hypot(*(pts - proj).T)


def bone_segments(ref: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A segment standing for each bone (for distance-based skinning): limbs use their joints
    (extended past hands/feet), the torso its neck-to-mid-hip axis, the head neck-to-crown."""
    mid_hip = (ref[R_HIP] + ref[L_HIP]) / 2
    crown = ref[NOSE] + 0.9 * (ref[NOSE] - ref[NECK])
    segs = [(ref[NECK], mid_hip), (ref[NOSE] + 0.25 * (ref[NECK] - ref[NOSE]), crown)]
    for bone in BONES[2:]:
        a, b = ref[bone.a], ref[bone.b]
        segs.append((a, b + bone.extend * (b - a)))
    return segs
