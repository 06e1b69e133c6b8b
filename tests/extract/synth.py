"""Synthetic driving clips for extraction tests: the astronaut photo moved and warped."""

from __future__ import annotations

import math

import numpy as np


def motion(i: int, n: int) -> tuple[float, float, float, float]:
    """Rotation (deg), scale, x and y shift (fractions of the canvas) of frame ``i`` of ``n``."""
    t = i / max(1, n - 1)
    return (8.0 * math.sin(2 * math.pi * t), 0.9 + 0.15 * t,
            0.08 * math.sin(2 * math.pi * t), 0.05 * math.cos(2 * math.pi * t) - 0.05)


def frame_matrix(i: int, n: int, src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """The 2x3 affine map from source pixels to frame ``i`` pixels."""
    import cv2

    sw, sh = src_size
    dw, dh = dst_size
    rot, scale, dx, dy = motion(i, n)
    fit = min(dw / sw, dh / sh)
    m = cv2.getRotationMatrix2D((sw / 2, sh / 2), rot, scale * fit)
    m[0, 2] += dw / 2 - sw / 2 + dx * dw
    m[1, 2] += dh / 2 - sh / 2 + dy * dh
    return m


def make_clip(image: np.ndarray, n: int, size: tuple[int, int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``n`` frames of ``image`` warped onto a grey ``size`` canvas, and their 2x3 matrices."""
    import cv2

    h, w = image.shape[:2]
    frames, mats = [], []
    for i in range(n):
        m = frame_matrix(i, n, (w, h), size)
        frames.append(cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90)))
        mats.append(m)
    return frames, mats


def transform(m: np.ndarray, pts_px: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to ``(..., 2)`` pixel points."""
    p = np.asarray(pts_px, np.float64)
    return p @ m[:, :2].T + m[:, 2]


def rest_frame(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``image`` placed on the canvas without motion (rotation 0, scale 1), and its matrix."""
    import cv2

    h, w = image.shape[:2]
    dw, dh = size
    fit = min(dw / w, dh / h)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, fit)
    m[0, 2] += dw / 2 - w / 2
    m[1, 2] += dh / 2 - h / 2
    frame = cv2.warpAffine(image, m, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90))
    return frame, m


def invert(m: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix."""
    full = np.vstack([m, [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]
