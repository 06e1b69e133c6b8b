"""Pose frames drawn the way DynamiCtrl's DWPose drawer draws them (numpy + OpenCV, no torch).

Facts from the official ``dwpose/util.py`` (commit 15eb5e9; the code here is our own):

* drawn on a black canvas enlarged to ``2160 / min(H, W)`` times the frame (so lines are thin
  once scaled back), then resized to W x H (bilinear) and converted BGR -> RGB: the palette
  lists are drawn as BGR, so in the final RGB image red and blue trade places (the first limb,
  listed as (255, 0, 0), is blue);
* body: the 17 OpenPose-18 limbs as filled ellipses half-thick 4 px, coloured by the limb's
  palette colour times the product of its two points' confidences, skipped when either is below
  0.3; the whole canvas then scaled by 0.6; the 18 points as radius-4 dots coloured by the
  palette times the point's confidence (points at or below 0.3 are not drawn); head included;
* hands: 20 bones as 2 px lines, hue ``i / 20`` times ``255 * score_a * score_b``, then radius-4
  dots (0, 0, 255 * score) (BGR, so red); a point is used when its pixel coordinates are positive;
* face: the 68 landmarks as radius-3 grey dots. The studio's pose track has no face landmarks,
  so no face dots are drawn (a deviation from the official pose frames).
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from studio.core.tracks import PoseTrack
from studio.extract.pose_map import BODY_LIMBS, HAND_BONES, LIMB_DIMMED, OPENPOSE_COLORS

#: The official drawer's reference size.
REF_SIZE = 2160
THRESHOLD = 0.3
_EPS = 0.01


def canvas_scale(height: int, width: int) -> float:
    """How much larger the drawing canvas is than the frame."""
    short = min(height, width)
    return REF_SIZE / short if short != REF_SIZE else 1.0


def _scaled(colour, factor: float) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)


def draw_body(canvas: np.ndarray, body: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """Limbs and points of one body (normalised points) on the BGR ``canvas``; returns it."""
    import cv2

    h, w = canvas.shape[:2]
    px = np.where(np.isfinite(body), body, 0.0) * np.array([w, h], np.float64)
    conf = np.where(np.isfinite(body).all(axis=1), np.asarray(conf, np.float64), 0.0)
    for i, (a, b) in enumerate(BODY_LIMBS):
        if conf[a] < THRESHOLD or conf[b] < THRESHOLD:
            continue
        (xa, ya), (xb, yb) = px[a], px[b]
        length = math.hypot(xa - xb, ya - yb)
        angle = math.degrees(math.atan2(ya - yb, xa - xb))
        poly = cv2.ellipse2Poly((int((xa + xb) / 2), int((ya + yb) / 2)), (int(length / 2), 4), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, poly, _scaled(OPENPOSE_COLORS[i], conf[a] * conf[b]))
    cv2.LUT(canvas, LIMB_DIMMED, dst=canvas)  # the official canvas * 0.6, truncated to uint8
    for j in range(len(OPENPOSE_COLORS)):
        if conf[j] > THRESHOLD:
            cv2.circle(canvas, (int(px[j, 0]), int(px[j, 1])), 4, _scaled(OPENPOSE_COLORS[j], conf[j]), thickness=-1)
    return canvas


def draw_hands(canvas: np.ndarray, hands: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """Both hands (2 x 21 normalised points) on the BGR ``canvas``; returns it."""
    import cv2

    h, w = canvas.shape[:2]
    for hand, score in zip(hands, conf):
        pts = np.where(np.isfinite(hand), hand, -1.0) * np.array([w, h], np.float64)
        ipts = [(int(x), int(y)) for x, y in pts]
        ok = [x > _EPS and y > _EPS for x, y in ipts]
        score = np.nan_to_num(np.asarray(score, np.float64))
        for k, (a, b) in enumerate(HAND_BONES):
            if ok[a] and ok[b]:
                rgb = colorsys.hsv_to_rgb(k / float(len(HAND_BONES)), 1.0, 1.0)
                s = int(score[a] * score[b] * 255)
                cv2.line(canvas, ipts[a], ipts[b], tuple(c * s for c in rgb), thickness=2)
        for j, (x, y) in enumerate(ipts):
            if ok[j]:
                cv2.circle(canvas, (x, y), 4, (0, 0, int(score[j] * 255)), thickness=-1)
    return canvas


def draw_frame(body: np.ndarray, body_conf: np.ndarray, hands: np.ndarray | None, hands_conf: np.ndarray | None,
               width: int, height: int) -> np.ndarray:
    """One pose frame, ``(height, width, 3)`` uint8 RGB (module docstring)."""
    import cv2

    sr = canvas_scale(height, width)
    canvas = np.zeros((int(height * sr), int(width * sr), 3), np.uint8)
    draw_body(canvas, np.asarray(body, np.float64), np.asarray(body_conf))
    if hands is not None and hands_conf is not None:
        draw_hands(canvas, np.asarray(hands, np.float64), np.asarray(hands_conf))
    small = cv2.resize(canvas, (int(width), int(height)))
    return np.ascontiguousarray(small[:, :, ::-1])


def pose_frames(pose: PoseTrack, frames: list[int] | range) -> np.ndarray:
    """``(len(frames), H, W, 3)`` uint8 pose frames of a canvas-normalised track."""
    return np.stack([draw_frame(pose.body[i], pose.body_conf[i], pose.hands[i], pose.hands_conf[i],
                                pose.width, pose.height) for i in frames])
