"""A synthetic reference photo with colour-coded limb ends, and poses with known joint angles.

The figure is drawn from an OpenPose-18 skeleton on a ``W x H`` canvas (optionally wider, with
the figure centred, to exercise the centre crop). Each limb end carries a marker of a pure
colour, so a test can find where the renderer put the wrist, ankle or nose.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.core import PoseTrack, RenderJob, RenderSettings
from studio.core.tracks import FLAG_NO_PERSON

W, H = 256, 448

REST = np.array([
    (128, 70), (128, 112),              # nose, neck
    (100, 118), (76, 168), (60, 220),   # right arm (image left)
    (156, 118), (180, 168), (196, 220), # left arm
    (112, 230), (106, 300), (102, 372), # right leg
    (144, 230), (150, 300), (154, 372), # left leg
    (121, 63), (135, 63), (114, 68), (142, 68),  # eyes, ears
], np.float64)

LIMB = (205, 170, 140)
TORSO = (96, 96, 168)
MARKERS = {  # joint -> pure colour
    4: (255, 0, 0),    # right wrist: red
    7: (0, 200, 0),    # left wrist: green
    10: (0, 0, 255),   # right ankle: blue
    13: (255, 0, 255), # left ankle: magenta
    0: (0, 230, 230),  # nose: cyan
}


def background(w: int = W, h: int = H) -> np.ndarray:
    """A smooth grey-blue gradient."""
    y = np.linspace(0, 1, h)[:, None, None]
    img = (1 - y) * np.array([172, 182, 196]) + y * np.array([138, 146, 156])
    return np.broadcast_to(img, (h, w, 3)).astype(np.uint8).copy()


def draw(pose: np.ndarray, w: int = W, h: int = H) -> np.ndarray:
    """The figure in ``pose`` (pixels of a ``W x H`` frame) centred on a ``w x h`` canvas."""
    p = pose + [(w - W) / 2, (h - H) / 2]
    img = background(w, h)

    def pt(q):
        return int(round(q[0] * 16)), int(round(q[1] * 16))

    for a, b in ((8, 9), (9, 10), (11, 12), (12, 13)):
        cv2.line(img, pt(p[a]), pt(p[b]), LIMB, 18, cv2.LINE_AA, 4)
    torso = np.array([p[2], p[5], p[11], p[8]])
    cv2.fillPoly(img, [np.round(torso * 16).astype(np.int32)], TORSO, cv2.LINE_AA, 4)
    cv2.line(img, pt(p[1]), pt(p[0]), LIMB, 14, cv2.LINE_AA, 4)
    cv2.circle(img, pt(p[0] + (p[0] - p[1]) * 0.1), 22 * 16, LIMB, -1, cv2.LINE_AA, 4)
    for a, b in ((2, 3), (3, 4), (5, 6), (6, 7)):
        cv2.line(img, pt(p[a]), pt(p[b]), LIMB, 14, cv2.LINE_AA, 4)
    for j, colour in MARKERS.items():
        cv2.circle(img, pt(p[j]), 5 * 16, colour, -1, cv2.LINE_AA, 4)
    return img


def _rot(v: np.ndarray, deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([np.cos(a) * v[0] - np.sin(a) * v[1], np.sin(a) * v[0] + np.cos(a) * v[1]])


def posed(r_arm=(0.0, 0.0), l_arm=(0.0, 0.0), r_leg=(0.0, 0.0), l_leg=(0.0, 0.0), head=0.0) -> np.ndarray:
    """The rest pose with each limb chain turned by (upper, lower) degrees (clockwise on screen,
    the lower angle relative to the upper bone) and the head tilted about the neck; bone
    lengths and the torso are unchanged."""
    p = REST.copy()
    for (a, b, c), (d1, d2) in (((2, 3, 4), r_arm), ((5, 6, 7), l_arm), ((8, 9, 10), r_leg), ((11, 12, 13), l_leg)):
        p[b] = p[a] + _rot(REST[b] - REST[a], d1)
        p[c] = p[b] + _rot(REST[c] - REST[b], d1 + d2)
    for j in (0, 14, 15, 16, 17):
        p[j] = p[1] + _rot(REST[j] - REST[1], head)
    return p


def track(poses: list[np.ndarray | None], w: int = W, h: int = H) -> PoseTrack:
    """A pose track normalised to a ``w x h`` frame; ``None`` entries are frames without a person."""
    t = PoseTrack.empty(len(poses), w, h, 25.0)
    for i, p in enumerate(poses):
        if p is None:
            continue
        t.body[i] = (p / [w, h]).astype(np.float32)
        t.body_conf[i] = 1.0
        t.flags[i] = 0
    return t


def job(poses: list[np.ndarray | None], ref_canvas_w: int = W, **settings) -> RenderJob:
    """A draft job animating the synthetic photo (drawn on a ``ref_canvas_w`` wide canvas)."""
    ref_img = draw(REST, ref_canvas_w, H)
    ref_track = track([REST + [(ref_canvas_w - W) / 2, 0]], ref_canvas_w, H)
    return RenderJob(
        reference=ref_img,
        pose=track(poses),
        frames=tuple(range(len(poses))),
        settings=RenderSettings(**{"width": W, "height": H, **settings}),
        reference_pose=ref_track,
    )


def find_marker(frame: np.ndarray, colour: tuple[int, int, int], tol: float = 70.0) -> np.ndarray | None:
    """Centroid ``(x, y)`` of the pixels within ``tol`` of ``colour``, or ``None``."""
    d = np.linalg.norm(frame.astype(np.float64) - colour, axis=2)
    ys, xs = np.nonzero(d < tol)
    if len(xs) < 8:
        return None
    return np.array([xs.mean(), ys.mean()])


__all__ = ["FLAG_NO_PERSON", "H", "LIMB", "MARKERS", "REST", "W", "background", "draw", "find_marker",
           "job", "posed", "track"]
