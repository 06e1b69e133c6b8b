"""Clean-up of raw per-frame tracks: shot cuts, gap filling, smoothing.

Every step returns new tracks; the raw detections are kept by the caller.
"""

from __future__ import annotations

import numpy as np

from studio.core.tracks import (
    FLAG_CUT, FLAG_HAND_FILLED, FLAG_INTERPOLATED, FLAG_NO_PERSON, FaceTrack, PoseTrack,
)
from studio.extract.smoothing import one_euro

#: Size of the grey thumbnails compared for cut detection.
THUMB_SIZE = (32, 32)


def frame_thumbnail(frame: np.ndarray) -> np.ndarray:
    """A small blurred grey thumbnail of an RGB frame, for :func:`is_cut`."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)


def is_cut(prev_thumb: np.ndarray | None, thumb: np.ndarray, threshold: float = 40.0) -> bool:
    """Whether a shot cut lies between two thumbnails.

    The mean absolute grey difference (0..255) of the brightness-normalised thumbnails must
    exceed ``threshold``; a person moving over a still background changes only part of the
    image and stays well below it.
    """
    if prev_thumb is None:
        return False
    a = prev_thumb - prev_thumb.mean()
    b = thumb - thumb.mean()
    return float(np.abs(a - b).mean()) > threshold


def _shot_ids(flags: np.ndarray) -> np.ndarray:
    return np.cumsum((flags & FLAG_CUT) != 0)


def _fill_series(values: np.ndarray, valid: np.ndarray, shots: np.ndarray, max_gap: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over interior gaps of at most ``max_gap`` frames within one shot.

    ``values`` is ``(N, D)``; returns the filled values and a ``(N,)`` bool of filled frames.
    """
    n = len(values)
    out = values.copy()
    filled = np.zeros(n, bool)
    idx = np.flatnonzero(valid)
    for a, b in zip(idx[:-1], idx[1:]):
        gap = b - a - 1
        if gap <= 0 or gap > max_gap or shots[a] != shots[b]:
            continue
        t = (np.arange(a + 1, b) - a)[:, None] / (b - a)
        out[a + 1:b] = (1 - t) * values[a] + t * values[b]
        filled[a + 1:b] = True
    return out, filled


def fill_pose_gaps(pose: PoseTrack, max_gap: int = 8) -> PoseTrack:
    """Fill short gaps per keypoint (and whole missing frames) by linear interpolation.

    Gaps longer than ``max_gap`` frames, gaps at the clip's ends and gaps across a shot cut stay
    missing. Filled points get the lower confidence of their two neighbours; frames that gained
    data get ``FLAG_INTERPOLATED`` (and lose ``FLAG_NO_PERSON`` when their body was filled); on a
    frame with a detected person, a hand that was missing altogether and is filled in gets that
    hand's ``FLAG_HAND_FILLED`` bit (the fill is marked per hand; on a frame whose whole person
    was filled, ``FLAG_INTERPOLATED`` without hand bits says everything there is filled).
    """
    out = pose.copy()
    shots = _shot_ids(pose.flags)
    touched = np.zeros(len(pose), bool)
    had_hand = (pose.hands_conf > 0).any(axis=2)  # (N, 2)
    groups = [(out.body, out.body_conf)] + [(out.hands[:, s], out.hands_conf[:, s]) for s in range(2)]
    for arr, conf in groups:  # arr: (N, K, 2) view, conf: (N, K) view
        for k in range(arr.shape[1]):
            valid = (conf[:, k] > 0) & np.isfinite(arr[:, k]).all(axis=1)
            series = np.concatenate([arr[:, k], conf[:, k, None]], axis=1)
            filled_vals, filled = _fill_series(series, valid, shots, max_gap)
            if filled.any():
                arr[filled, k] = filled_vals[filled, :2]
                conf[filled, k] = _neighbour_min(conf[:, k], valid, filled)
                touched |= filled
    has_body = (out.body_conf > 0).any(axis=1)
    out.flags[touched] |= FLAG_INTERPOLATED
    gained = touched & has_body & ((out.flags & FLAG_NO_PERSON) != 0)
    gained_hand = (out.hands_conf > 0).any(axis=2) & ~had_hand & ~gained[:, None]
    for side in range(2):
        out.flags[gained_hand[:, side]] |= FLAG_HAND_FILLED[side]
    out.flags[gained] &= np.uint16(~FLAG_NO_PERSON & 0xFFFF)
    return out


def _neighbour_min(conf: np.ndarray, valid: np.ndarray, filled: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(valid)
    res = []
    for i in np.flatnonzero(filled):
        j = np.searchsorted(idx, i)
        res.append(min(conf[idx[j - 1]], conf[idx[j]]))
    return np.asarray(res, np.float32)


def fill_face_gaps(face: FaceTrack, max_gap: int = 8) -> FaceTrack:
    """Face-track counterpart of :func:`fill_pose_gaps` (box, eyes and mouth together)."""
    out = face.copy()
    valid = face.has_face()
    shots = _shot_ids(face.flags)
    series = np.concatenate(
        [face.box, face.left_eye, face.right_eye, face.mouth, face.conf[:, None]], axis=1
    ).astype(np.float64)
    filled_vals, filled = _fill_series(series, valid, shots, max_gap)
    if filled.any():
        out.box[filled] = filled_vals[filled, 0:4]
        out.left_eye[filled] = filled_vals[filled, 4:6]
        out.right_eye[filled] = filled_vals[filled, 6:8]
        out.mouth[filled] = filled_vals[filled, 8:10]
        out.conf[filled] = _neighbour_min(face.conf, valid, filled)
        out.flags[filled] |= FLAG_INTERPOLATED
        out.flags[filled] &= np.uint8(~FLAG_NO_PERSON & 0xFF)
    return out


def smooth_pose(pose: PoseTrack, *, min_cutoff: float = 2.0, beta: float = 40.0) -> PoseTrack:
    """One-Euro smoothing of body and hand points (restarting at cuts and gaps)."""
    out = pose.copy()
    breaks = (pose.flags & FLAG_CUT) != 0
    body = np.where(pose.body_conf[..., None] > 0, pose.body, np.nan)
    hands = np.where(pose.hands_conf[..., None] > 0, pose.hands, np.nan)
    out.body = one_euro(body, pose.fps, min_cutoff=min_cutoff, beta=beta, breaks=breaks).astype(np.float32)
    out.hands = one_euro(hands, pose.fps, min_cutoff=min_cutoff, beta=beta, breaks=breaks).astype(np.float32)
    return out


def smooth_face(face: FaceTrack, *, min_cutoff: float = 2.0, beta: float = 40.0) -> FaceTrack:
    """One-Euro smoothing of the face box and anchors (restarting at cuts and gaps)."""
    out = face.copy()
    breaks = (face.flags & FLAG_CUT) != 0
    ok = face.has_face()[:, None]
    for name in ("box", "left_eye", "right_eye", "mouth"):
        a = np.where(ok, getattr(face, name), np.nan)
        setattr(out, name, one_euro(a, face.fps, min_cutoff=min_cutoff, beta=beta, breaks=breaks).astype(np.float32))
    return out
