"""Hand-made skeletons for golden-image and retargeting tests (no detector involved)."""

from __future__ import annotations

import numpy as np

from studio.core.tracks import FLAG_NO_PERSON, FaceTrack, PoseTrack

#: A standing person in a 100x200 unit box (x right, y down), OpenPose-18 order.
STANDING = np.array([
    [50, 20], [50, 40], [35, 40], [25, 65], [20, 90], [65, 40], [75, 65], [80, 90],
    [40, 95], [40, 140], [40, 185], [60, 95], [60, 140], [60, 185],
    [46, 16], [54, 16], [42, 18], [58, 18],
], np.float64)


def hand_at(wrist: np.ndarray, direction: float, size: float) -> np.ndarray:
    """A flat 21-point hand at ``wrist`` pointing at angle ``direction`` (radians)."""
    pts = [wrist]
    for f, spread in enumerate((-0.6, -0.2, 0.0, 0.2, 0.4)):
        a = direction + spread
        for k in range(1, 5):
            r = size * (0.25 + 0.19 * k)
            pts.append(wrist + r * np.array([np.cos(a), np.sin(a)]))
    return np.array(pts)


def synthetic_pose(n: int = 3) -> PoseTrack:
    """A 3-frame canvas-normalised track: arms raised over time, both hands, frame 2 partial."""
    body = np.zeros((n, 18, 2))
    hands = np.zeros((n, 2, 21, 2))
    conf = np.ones((n, 18), np.float32)
    hconf = np.ones((n, 2, 21), np.float32)
    for i in range(n):
        b = STANDING.copy()
        lift = 12.0 * i
        b[[3, 6], 1] -= lift
        b[[4, 7], 1] -= 2 * lift
        b[4, 0] -= 4 * i
        b[7, 0] += 4 * i
        body[i] = b / [100.0, 200.0]
        hands[i, 0] = hand_at(b[7], np.pi / 2 - 0.3 * i, 24.0) / [100.0, 200.0]  # left hand at l_wrist
        hands[i, 1] = hand_at(b[4], np.pi / 2 + 0.3 * i, 24.0) / [100.0, 200.0]
    conf[2, [10, 13]] = 0.1  # ankles not confident on frame 2
    hconf[2, 1] = 0.0  # right hand missing on frame 2
    hands[2, 1] = np.nan
    flags = np.zeros(n, np.uint8)
    return PoseTrack(body=body.astype(np.float32), body_conf=conf, hands=hands.astype(np.float32),
                     hands_conf=hconf, flags=flags, width=100, height=200, fps=25.0)


def synthetic_face(n: int = 3) -> FaceTrack:
    """A face track matching :func:`synthetic_pose` (frame 1 has no face)."""
    box = np.tile(np.array([[0.40, 0.06, 0.60, 0.14]], np.float32), (n, 1))
    le = np.tile(np.array([[0.55, 0.085]], np.float32), (n, 1))
    re = np.tile(np.array([[0.45, 0.085]], np.float32), (n, 1))
    mouth = np.tile(np.array([[0.50, 0.12]], np.float32), (n, 1))
    conf = np.ones(n, np.float32)
    flags = np.zeros(n, np.uint8)
    conf[1] = 0.0
    box[1] = np.nan
    flags[1] = FLAG_NO_PERSON
    return FaceTrack(box=box, left_eye=le, right_eye=re, mouth=mouth, conf=conf, flags=flags,
                     width=100, height=200, fps=25.0)
