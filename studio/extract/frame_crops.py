"""Square crops of a frame and the way back, and the check every detector input passes.

* :func:`crop_square` -- the square of a given side around a point, resized (black outside
  the frame): what the hand and face models see.
* :func:`crop_to_frame` -- crop-normalised points back to frame pixels.
* :func:`check_frame` -- an RGB uint8 frame of at least 8x8 pixels, or a clear error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.errors import StudioError


def crop_square(frame: np.ndarray, cx: float, cy: float, size: float, out: int) -> np.ndarray:
    """The square of side ``size`` px centred at ``(cx, cy)``, resized to ``out`` x ``out``.

    Parts outside the frame are black.
    """
    import cv2

    s = out / size
    m = np.array([[s, 0.0, out / 2 - s * cx], [0.0, s, out / 2 - s * cy]], np.float32)
    return cv2.warpAffine(frame, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def crop_to_frame(local: np.ndarray, cx: float, cy: float, size: float) -> np.ndarray:
    """Crop-normalised points (0..1 across a :func:`crop_square` crop) -> frame pixels."""
    return np.array([cx, cy], np.float32) + (np.asarray(local, np.float32) - 0.5) * np.float32(size)


def check_frame(frame: Any) -> np.ndarray:
    """``frame`` as a contiguous ``(H, W, 3)`` uint8 RGB array; anything else is a :class:`StudioError`."""
    a = np.asarray(frame)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 8 or a.shape[1] < 8:
        raise StudioError(
            "Invalid frame",
            f"Expected an RGB image of shape (H, W, 3) at least 8x8 pixels, got shape {a.shape}.",
        )
    if a.dtype != np.uint8:
        raise StudioError(
            "Invalid frame", f"Expected 8-bit pixels (uint8), got {a.dtype}. Convert the image first."
        )
    return np.ascontiguousarray(a)
