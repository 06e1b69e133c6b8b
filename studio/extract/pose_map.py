"""The pose ControlNet input: a head-less OpenPose-18 skeleton with DWPose-style hands.

Drawing style (the ControlNet/DWPose ``draw_bodypose``/``draw_handpose`` conventions, which the
X-Dyna pose ControlNet was trained on; facts only, the code is our own):

- body limbs are filled ellipses along each limb, ``stickwidth`` (4 px) half-thick, in the
  standard 18-colour OpenPose palette, drawn on black; the whole limb layer is then scaled
  to 0.6 intensity (truncated to uint8);
- keypoints are filled circles of radius 4 in the palette colour of the point, full intensity;
- the head-less variant keeps the neck->nose limb and the nose dot but drops the eyes, ears
  and their limbs (the ear->shoulder limbs are never drawn in this style);
- hands: 20 bones as 2 px lines coloured by hue ``i / 20`` (full saturation and value), then
  each keypoint as a blue (0, 0, 255) dot of radius 4, drawn after (on top of) the body.

A point is drawn when its confidence is above ``threshold`` and, like the original, its pixel
coordinates after ``int()`` truncation are positive.
"""

from __future__ import annotations

import colorsys
import math
from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import N_BODY, N_HAND, PoseTrack

#: The OpenPose palette, one RGB colour per keypoint / limb.
OPENPOSE_COLORS: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0),
    (0, 255, 0), (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255),
    (0, 0, 255), (85, 0, 255), (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)

#: OpenPose-18 limbs (0-based point pairs) in drawing order; limb ``i`` has colour ``i``.
BODY_LIMBS: tuple[tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
    (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)

#: Points dropped by the head-less ("no head skeleton") variant: eyes and ears.
HEAD_POINTS: frozenset[int] = frozenset({14, 15, 16, 17})

#: Hand bones (MediaPipe/OpenPose 21-point hand).
HAND_BONES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
    (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
)
HAND_DOT_COLOR: tuple[int, int, int] = (0, 0, 255)
LIMB_INTENSITY = 0.6
#: ``(value * LIMB_INTENSITY).astype(np.uint8)`` for every uint8 value, for ``cv2.LUT``: the official
#: dimming of a whole canvas without a float64 copy of it (the backends' 2160-px pose canvases:
#: about 40 ms a frame as float arithmetic, 3-9 ms through the table)
LIMB_DIMMED = (np.arange(256, dtype=np.uint8) * LIMB_INTENSITY).astype(np.uint8)
_EPS = 0.01


def _hand_bone_colors() -> list[tuple[float, float, float]]:
    out = []
    for i in range(len(HAND_BONES)):
        r, g, b = colorsys.hsv_to_rgb(i / float(len(HAND_BONES)), 1.0, 1.0)
        out.append((r * 255.0, g * 255.0, b * 255.0))
    return out


HAND_BONE_COLORS: tuple[tuple[float, float, float], ...] = tuple(_hand_bone_colors())


def draw_body(canvas: np.ndarray, body: np.ndarray, conf: np.ndarray, *, threshold: float = 0.3,
              head: bool = False, stickwidth: int = 4, radius: int = 4) -> np.ndarray:
    """Draw one OpenPose-18 body (canvas-normalised points) onto ``canvas`` (RGB uint8).

    Returns the canvas (modified in place).
    """
    import cv2

    h, w = canvas.shape[:2]
    keep = np.isfinite(body).all(axis=1) & (np.asarray(conf) > threshold)
    if not head:
        keep[list(HEAD_POINTS)] = False
    px = np.where(np.isfinite(body), body, 0.0) * np.array([w, h], np.float64)
    limbs = np.zeros_like(canvas)
    for i, (a, b) in enumerate(BODY_LIMBS):
        if not (keep[a] and keep[b]):
            continue
        (xa, ya), (xb, yb) = px[a], px[b]
        mx, my = (xa + xb) / 2.0, (ya + yb) / 2.0
        length = math.hypot(xa - xb, ya - yb)
        angle = math.degrees(math.atan2(ya - yb, xa - xb))
        poly = cv2.ellipse2Poly((int(mx), int(my)), (int(length / 2), stickwidth), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(limbs, poly, OPENPOSE_COLORS[i])
    drawn = limbs.any(axis=2)
    canvas[drawn] = (limbs[drawn] * LIMB_INTENSITY).astype(np.uint8)
    for j in range(N_BODY):
        if keep[j]:
            x, y = int(px[j, 0]), int(px[j, 1])
            cv2.circle(canvas, (x, y), radius, OPENPOSE_COLORS[j], thickness=-1)
    return canvas


def draw_hand(canvas: np.ndarray, hand: np.ndarray, conf: np.ndarray, *, threshold: float = 0.3,
              thickness: int = 2, radius: int = 4) -> np.ndarray:
    """Draw one 21-point hand (canvas-normalised) in the DWPose style; returns ``canvas``."""
    import cv2

    h, w = canvas.shape[:2]
    ok = np.isfinite(hand).all(axis=1) & (np.asarray(conf) > threshold)
    pts = np.where(np.isfinite(hand), hand, -1.0) * np.array([w, h], np.float64)
    ipts = [(int(x), int(y)) for x, y in pts]
    ok &= np.array([x > _EPS and y > _EPS for x, y in ipts])
    for k, (a, b) in enumerate(HAND_BONES):
        if ok[a] and ok[b]:
            cv2.line(canvas, ipts[a], ipts[b], HAND_BONE_COLORS[k], thickness=thickness)
    for j in range(N_HAND):
        if ok[j]:
            cv2.circle(canvas, ipts[j], radius, HAND_DOT_COLOR, thickness=-1)
    return canvas


def draw_pose(body: np.ndarray, body_conf: np.ndarray, hands: np.ndarray | None,
              hands_conf: np.ndarray | None, width: int, height: int, *, head: bool = False,
              draw_hands: bool = True, threshold: float = 0.3, stickwidth: int = 4,
              radius: int = 4) -> np.ndarray:
    """The pose map of one frame: ``(height, width, 3)`` uint8 RGB on black.

    Points are normalised to the canvas (see :meth:`studio.extract.fit.CanvasFit.pose_to_canvas`).
    ``head=False`` gives the X-Dyna "no head skeleton" map.
    """
    if int(width) <= 0 or int(height) <= 0:
        raise StudioError("Invalid size", f"The pose map size {width}x{height} must be positive.")
    body = np.asarray(body, np.float64)
    if body.shape != (N_BODY, 2):
        raise StudioError("Invalid pose", f"The body has shape {body.shape}; expected (18, 2).")
    canvas = np.zeros((int(height), int(width), 3), np.uint8)
    draw_body(canvas, body, np.asarray(body_conf), threshold=threshold, head=head,
              stickwidth=stickwidth, radius=radius)
    if draw_hands and hands is not None and hands_conf is not None:
        hands = np.asarray(hands, np.float64)
        for side in range(hands.shape[0]):
            draw_hand(canvas, hands[side], np.asarray(hands_conf)[side], threshold=threshold, radius=radius)
    return canvas


def draw_track_frame(pose: PoseTrack, i: int, **kw: Any) -> np.ndarray:
    """The pose map of frame ``i`` of a canvas-normalised track (its width/height = map size)."""
    if not (0 <= i < len(pose)):
        raise StudioError("Frame out of range", f"Frame {i} is outside the pose track (0..{len(pose) - 1}).")
    return draw_pose(pose.body[i], pose.body_conf[i], pose.hands[i], pose.hands_conf[i],
                     pose.width, pose.height, **kw)
