"""Left and right kept consistent over time: body left/right swaps repaired, hands on their wrists.

A pose detector labels each joint left or right from one frame. Seen from behind, or when the
limbs cross, BlazePose sometimes flips the labels of a whole body (or of the legs or the arms)
for a few frames: on the track the left and right joints jump across each other from one frame
to the next, and the pose ControlNet would see the dancer turn around and back.

:func:`repair_swaps` walks the frames of each shot in order and compares every frame with the
last good one: when giving a group of left/right joint pairs the opposite labels matches the
previous frame much better (:data:`SWAP_RATIO`) and the direct labelling jumped by more than
:data:`MIN_JUMP` shoulder widths, the group's labels are swapped back (hands go with the arms).
A real turn is gradual, so it never looks like a jump. :func:`match_hands_to_wrists` then makes
sure hand 0 sits on the left wrist and hand 1 on the right one.
"""

from __future__ import annotations

import numpy as np

from studio.core.tracks import FLAG_CUT, PoseTrack

#: Left/right OpenPose-18 pairs (right index, left index) by group: the whole body, the arms alone
#: (hands follow), the legs alone.
BODY_PAIRS: tuple[tuple[int, int], ...] = ((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (16, 17), (14, 15))
ARM_PAIRS: tuple[tuple[int, int], ...] = ((3, 6), (4, 7))
LEG_PAIRS: tuple[tuple[int, int], ...] = ((9, 12), (10, 13))
GROUPS: tuple[tuple[tuple[int, int], ...], ...] = (BODY_PAIRS, ARM_PAIRS, LEG_PAIRS)
#: A group is swapped when the swapped labelling costs less than this share of the direct one...
SWAP_RATIO = 0.5
#: ...and the direct labelling moved the group's joints by more than this many shoulder widths
#: (mean per joint) since the last frame.
MIN_JUMP = 0.35
_R_WRIST, _L_WRIST = 4, 7


def _valid(pose: PoseTrack) -> np.ndarray:
    return np.isfinite(pose.body).all(axis=-1) & (pose.body_conf > 0)


def _shoulder_width(pose: PoseTrack) -> float:
    """The clip's median shoulder width in pixels (a body-size unit)."""
    ok = _valid(pose)[:, 2] & _valid(pose)[:, 5]
    size = np.array([pose.width, pose.height], np.float64)
    if not ok.any():
        return 0.1 * float(max(pose.width, pose.height))
    d = np.linalg.norm((pose.body[ok, 2] - pose.body[ok, 5]) * size, axis=-1)
    return max(float(np.median(d)), 1.0)


def _swap_group(pose: PoseTrack, i: int, pairs: tuple[tuple[int, int], ...], hands: bool) -> None:
    for r, l in pairs:
        for arr in (pose.body, pose.body_conf):
            arr[i, [r, l]] = arr[i, [l, r]]
    if hands:
        pose.hands[i] = pose.hands[i, ::-1].copy()
        pose.hands_conf[i] = pose.hands_conf[i, ::-1].copy()


def _costs(cur: np.ndarray, ok: np.ndarray, last: np.ndarray, last_ok: np.ndarray,
           pairs: tuple[tuple[int, int], ...]) -> tuple[float, float, int]:
    """Mean joint distance of the direct and the swapped labelling, and the pairs compared."""
    direct = swapped = 0.0
    used = 0
    for r, l in pairs:
        if not (ok[r] and ok[l] and last_ok[r] and last_ok[l]):
            continue
        direct += np.linalg.norm(cur[r] - last[r]) + np.linalg.norm(cur[l] - last[l])
        swapped += np.linalg.norm(cur[l] - last[r]) + np.linalg.norm(cur[r] - last[l])
        used += 1
    if not used:
        return 0.0, 0.0, 0
    return direct / (2 * used), swapped / (2 * used), used


def repair_swaps(pose: PoseTrack) -> tuple[PoseTrack, list[int]]:
    """A copy of ``pose`` with left/right label swaps undone, and the frames that were repaired.

    Frames are compared with the last frame that had the group's joints (within a shot); the
    first frame of each shot is taken as labelled right.
    """
    out = pose.copy()
    unit = _shoulder_width(pose)
    size = np.array([pose.width, pose.height], np.float64)
    repaired: list[int] = []
    last: np.ndarray | None = None
    last_ok: np.ndarray | None = None
    for i in range(len(out)):
        if out.flags[i] & FLAG_CUT:
            last = last_ok = None
        ok = _valid(out)[i]
        if not ok.any():
            continue
        if last is not None and last_ok is not None:
            cur = out.body[i].astype(np.float64) * size
            for g, pairs in enumerate(GROUPS):
                direct, swapped, used = _costs(cur, ok, last, last_ok, pairs)
                if used >= min(2, len(pairs)) and direct > MIN_JUMP * unit and swapped < SWAP_RATIO * direct:
                    _swap_group(out, i, pairs, hands=g in (0, 1))
                    cur = out.body[i].astype(np.float64) * size
                    ok = _valid(out)[i]
                    if i not in repaired:
                        repaired.append(i)
                    if g == 0:
                        break  # the whole body is turned back; the parts agree with it now
        cur = out.body[i].astype(np.float64) * size
        if last is None or last_ok is None:
            last, last_ok = cur.copy(), ok.copy()
        else:  # keep the last known place of joints missing on this frame
            last = np.where(ok[:, None], cur, last)
            last_ok = last_ok | ok
    return out, repaired


def match_hands_to_wrists(pose: PoseTrack) -> tuple[PoseTrack, list[int]]:
    """A copy of ``pose`` where each hand sits on its own wrist, and the frames that changed.

    On a frame with both wrists and at least one hand, the hands are exchanged when the
    hand wrists (point 0) lie nearer the opposite body wrists.
    """
    out = pose.copy()
    changed: list[int] = []
    ok = _valid(pose)
    size = np.array([pose.width, pose.height], np.float64)
    for i in range(len(out)):
        if not (ok[i, _L_WRIST] and ok[i, _R_WRIST]):
            continue
        wrists = out.body[i, [_L_WRIST, _R_WRIST]].astype(np.float64) * size  # hand 0 = left
        hand0 = out.hands[i, :, 0].astype(np.float64) * size
        have = np.isfinite(hand0).all(axis=-1) & (out.hands_conf[i, :, 0] > 0)
        if not have.any():
            continue
        direct = sum(np.linalg.norm(hand0[s] - wrists[s]) for s in range(2) if have[s])
        swapped = sum(np.linalg.norm(hand0[s] - wrists[1 - s]) for s in range(2) if have[s])
        if swapped < SWAP_RATIO * direct:
            out.hands[i] = out.hands[i, ::-1].copy()
            out.hands_conf[i] = out.hands_conf[i, ::-1].copy()
            changed.append(i)
    return out, changed
