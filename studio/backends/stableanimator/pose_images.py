"""Pose images the way StableAnimator's ``DWPose/skeleton_extraction.py`` draws them. Torch-free.

Facts from the official script (commit 020e7f2), which produced the pose images its UNet saw:

- The skeleton is drawn on a black canvas enlarged so that its short side is 2160 px, then
  shrunk to the output size with ``cv2.resize`` (bilinear): strokes 4 px wide at 2160 are thin
  and faint at 512 (the official repo's issue #72 "faint skeletons").
- Body: the 17 OpenPose limbs (ear->shoulder excluded) as filled ellipses of half-width 4, limb
  ``i`` in palette colour ``i`` scaled by the product of its two points' confidences (each
  channel truncated), skipped when either confidence is below 0.3; the whole canvas is then
  scaled to 0.6; then all 18 points, eyes and ears included, as radius-4 discs in their palette
  colour scaled by the point's confidence (points at or below 0.3 skipped).
- Hands: 20 bones as 2 px lines coloured by hue ``i / 20`` scaled by ``int(c_a * c_b * 255)``,
  then every point as a radius-4 disc of blue ``int(c * 255)``; only points whose pixel
  coordinates are positive are drawn; no confidence threshold.
- Face: the 68 DWPose face landmarks as radius-3 grey discs of ``int(c * 255)``. The studio's
  tracks hold no 68-point face landmarks, so no face dots are drawn here.
- The script draws in BGR, converts to RGB and writes the result with ``cv2.imwrite`` (which
  takes BGR), so the PNG files the pipeline reads hold the palette's colours as RGB.
"""

from __future__ import annotations

import math

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import N_BODY, PoseTrack
from studio.extract.pose_map import BODY_LIMBS, HAND_BONES, LIMB_DIMMED, OPENPOSE_COLORS

REFERENCE_SIDE = 2160
STICK_HALF_WIDTH = 4
POINT_RADIUS = 4
HAND_LINE = 2
THRESHOLD = 0.3
_EPS = 0.01


def _hue_colors() -> list[np.ndarray]:
    import colorsys

    return [np.array(colorsys.hsv_to_rgb(i / float(len(HAND_BONES)), 1.0, 1.0)) for i in range(len(HAND_BONES))]


_HAND_HUES = _hue_colors()


def _scaled(color: tuple[int, int, int], alpha: float) -> tuple[int, int, int]:
    return tuple(int(c * alpha) for c in color)  # type: ignore[return-value]


def _body(canvas: np.ndarray, body: np.ndarray, conf: np.ndarray) -> np.ndarray:
    import cv2

    h, w = canvas.shape[:2]
    px = np.where(np.isfinite(body), body, 0.0) * np.array([w, h], np.float64)
    conf = np.where(np.isfinite(body).all(axis=1), np.nan_to_num(conf), 0.0)
    for i, (a, b) in enumerate(BODY_LIMBS):
        if conf[a] < THRESHOLD or conf[b] < THRESHOLD:
            continue
        (xa, ya), (xb, yb) = px[a], px[b]
        length = math.hypot(xa - xb, ya - yb)
        angle = math.degrees(math.atan2(ya - yb, xa - xb))
        poly = cv2.ellipse2Poly((int((xa + xb) / 2), int((ya + yb) / 2)), (int(length / 2), STICK_HALF_WIDTH),
                                int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, poly, _scaled(OPENPOSE_COLORS[i], conf[a] * conf[b]))
    canvas = cv2.LUT(canvas, LIMB_DIMMED)  # the official canvas * 0.6, truncated to uint8
    for j in range(N_BODY):
        if conf[j] > THRESHOLD:
            cv2.circle(canvas, (int(px[j, 0]), int(px[j, 1])), POINT_RADIUS, _scaled(OPENPOSE_COLORS[j], conf[j]),
                       thickness=-1)
    return canvas


def _hand(canvas: np.ndarray, hand: np.ndarray, conf: np.ndarray) -> None:
    import cv2

    h, w = canvas.shape[:2]
    finite = np.isfinite(hand).all(axis=1)
    conf = np.where(finite, np.nan_to_num(conf), 0.0)
    pts = [(int(x * w), int(y * h)) if ok else (0, 0) for (x, y), ok in zip(hand, finite)]
    for k, (a, b) in enumerate(HAND_BONES):
        (x1, y1), (x2, y2) = pts[a], pts[b]
        if x1 > _EPS and y1 > _EPS and x2 > _EPS and y2 > _EPS:
            color = _HAND_HUES[k] * int(conf[a] * conf[b] * 255)
            cv2.line(canvas, (x1, y1), (x2, y2), tuple(float(c) for c in color), thickness=HAND_LINE)
    for j, (x, y) in enumerate(pts):
        if x > _EPS and y > _EPS:
            cv2.circle(canvas, (x, y), POINT_RADIUS, (0, 0, int(conf[j] * 255)), thickness=-1)


def draw_pose_image(body: np.ndarray, body_conf: np.ndarray, hands: np.ndarray | None,
                    hands_conf: np.ndarray | None, width: int, height: int) -> np.ndarray:
    """One StableAnimator pose image, ``(height, width, 3)`` uint8 RGB; points normalised to the image."""
    import cv2

    if width <= 0 or height <= 0:
        raise StudioError("Invalid size", f"The pose image size {width}x{height} must be positive.")
    body = np.asarray(body, np.float64)
    if body.shape != (N_BODY, 2):
        raise StudioError("Invalid pose", f"The body has shape {body.shape}; expected (18, 2).")
    short = min(height, width)
    sr = REFERENCE_SIDE / short if short != REFERENCE_SIDE else 1
    canvas = np.zeros((int(height * sr), int(width * sr), 3), np.uint8)
    canvas = _body(canvas, body, np.asarray(body_conf, np.float64))
    if hands is not None and hands_conf is not None:
        for side in range(len(hands)):
            _hand(canvas, np.asarray(hands[side], np.float64), np.asarray(hands_conf[side], np.float64))
    return cv2.resize(canvas, (width, height))


def draw_track_pose_images(pose: PoseTrack, width: int, height: int) -> np.ndarray:
    """``(N, height, width, 3)`` uint8 pose images of a canvas-normalised track."""
    return np.stack([draw_pose_image(pose.body[i], pose.body_conf[i], pose.hands[i], pose.hands_conf[i], width, height)
                     for i in range(len(pose))])
