"""Bring the reference photo and the poses into the render frame.

The photo is fitted like the official X-Dyna code (``imread_resize_crop``): centre-crop to the
render aspect ratio, then resize. Poses are normalised to their own source frame and go
through the same crop, so they land on the pixels they were detected on.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.core.tracks import PoseTrack


def crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[float, float, float]:
    """``(x0, y0, scale)``: the centred crop of a ``src_w x src_h`` frame with the aspect of
    ``dst_w x dst_h``, and the factor that resizes the crop to the destination."""
    scale = max(dst_w / src_w, dst_h / src_h)
    crop_w, crop_h = dst_w / scale, dst_h / scale
    return (src_w - crop_w) / 2.0, (src_h - crop_h) / 2.0, scale


def fit_image(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop ``rgb`` to the ``width:height`` aspect and resize it to ``width x height``."""
    h, w = rgb.shape[:2]
    x0, y0, scale = crop_box(w, h, width, height)
    cw, ch = int(round(width / scale)), int(round(height / scale))
    ix, iy = int(round(x0)), int(round(y0))
    crop = rgb[iy : iy + ch, ix : ix + cw]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(crop, (width, height), interpolation=interp))


def fit_points(norm: np.ndarray, src_w: int, src_h: int, width: int, height: int) -> np.ndarray:
    """Normalised points of a ``src_w x src_h`` frame -> render pixels (``NaN`` stays ``NaN``)."""
    x0, y0, scale = crop_box(src_w, src_h, width, height)
    pts = np.asarray(norm, np.float64) * [src_w, src_h]
    return (pts - [x0, y0]) * scale


def body_pixels(track: PoseTrack, src_w: int, src_h: int, width: int, height: int) -> np.ndarray:
    """``(N, 18, 2)`` body joints of ``track`` in render pixels; joints with zero confidence or
    on frames without a person are ``NaN``."""
    body = fit_points(track.body, src_w, src_h, width, height)
    missing = (track.body_conf <= 0) | ~track.has_person()[:, None]
    body[missing] = np.nan
    return body
