"""The S-Face ControlNet inputs: the global (head box) and local (eyes + mouth) images.

Follows the official ``extract_local_feature_from_single_img`` rule exactly, so that fed the
same landmarks and frames it reproduces the official images bit for bit:

- eye and mouth centres are rounded (``np.round``, half to even) to integer pixels;
- the landmark box ``(l, t, r, b)`` is expanded around its centre with ``L = max(r-l, b-t)``
  to ``int(cx - 1.35 L)``, ``int(cy - 1.25 L)``, ``int(cx + 1.35 L)``, ``int(cy + 1.45 L)``
  (``int`` truncates toward zero) and clipped to the image;
- global: the frame inside the expanded box, zeros elsewhere;
- local: zeros except the frame inside three rectangles around the eyes and mouth with
  half-sizes ``int(box_w / 512 * 64)`` and ``int(box_h / 512 * 64)`` of the expanded box. The
  rectangles use Python slice semantics like the original (a start that falls below 0 is
  counted from the far edge, which usually yields an empty rectangle).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import FaceTrack
from studio.extract.fit import CanvasFit

#: Expansion factors of the official ``compute_increased_bbox`` call.
EXPAND_LEFT, EXPAND_TOP, EXPAND_RIGHT, EXPAND_BOTTOM = 1.35, 1.25, 1.35, 1.45


def expanded_box(box: Any, width: int, height: int) -> tuple[int, int, int, int]:
    """The official head box: landmark extent ``box`` expanded and clipped to the image.

    The arithmetic keeps the numpy scalar types of ``box`` (float32 landmarks are summed in
    float32 as in the original), so results match the official code to the last pixel.
    """
    arr = np.asarray(box)
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    left, top, right, bot = arr[0], arr[1], arr[2], arr[3]
    length = max(right - left, bot - top)
    cx, cy = (left + right) * 0.5, (top + bot) * 0.5
    x0 = max(0, int(cx - EXPAND_LEFT * length))
    y0 = max(0, int(cy - EXPAND_TOP * length))
    x1 = min(int(width), int(cx + EXPAND_RIGHT * length))
    y1 = min(int(height), int(cy + EXPAND_BOTTOM * length))
    return x0, y0, x1, y1


def sface_images(
    frame: np.ndarray, left_eye: Any, right_eye: Any, mouth: Any, box: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The ``(local, global)`` S-Face images of one frame.

    Parameters
    ----------
    frame: ``(H, W, C)`` image already fitted to the render size.
    left_eye, right_eye, mouth: ``(x, y)`` centres in pixels of ``frame``.
    box: landmark extent ``(x0, y0, x1, y1)`` in pixels of ``frame`` (not yet expanded).

    Any landmark detector can feed this; see :func:`sface_from_ibug68` for the official rule
    on 68-point landmarks.
    """
    img = np.asarray(frame)
    if img.ndim != 3:
        raise StudioError("Invalid frame", f"Expected an (H, W, C) image, got shape {img.shape}.")
    anchors = np.asarray([left_eye, right_eye, mouth], np.float64)
    if anchors.shape != (3, 2) or not np.all(np.isfinite(anchors)) or not np.all(np.isfinite(np.asarray(box, float))):
        raise StudioError(
            "Invalid face landmarks",
            "Eye and mouth centres must be finite (x, y) pairs and the box four finite numbers; "
            "use blank S-Face images for frames without a face.",
        )
    h, w = img.shape[:2]
    centres = np.round(anchors).astype(np.int32)
    x0, y0, x1, y1 = expanded_box(box, w, h)
    glob = np.zeros_like(img)
    glob[y0:y1, x0:x1] = img[y0:y1, x0:x1]
    hx = int((x1 - x0) / 512 * 64)
    hy = int((y1 - y0) / 512 * 64)
    local = np.zeros_like(img)
    for cx, cy in centres:
        rows = slice(int(cy) - hy, int(cy) + hy)
        cols = slice(int(cx) - hx, int(cx) + hx)
        local[rows, cols] = img[rows, cols]
    return local, glob


def sface_from_ibug68(frame: np.ndarray, lmks: Any) -> tuple[np.ndarray, np.ndarray]:
    """S-Face images from iBUG-68 landmarks (pixels of ``frame``) by the official rule.

    ``lmks`` of ``None`` (no face) gives two black images.
    """
    from studio.extract.layout import face_anchors_from_ibug68

    if lmks is None:
        return blank_sface(frame)
    box, le, re, mouth = face_anchors_from_ibug68(lmks)
    return sface_images(frame, le, re, mouth, box)


def blank_sface(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Black local and global images (a frame without a face)."""
    z = np.zeros_like(np.asarray(frame))
    return z, z.copy()


def sface_for_frame(frame: np.ndarray, face: FaceTrack, i: int, fit: CanvasFit | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """S-Face images of frame ``i`` of a track, drawn on ``frame`` (already fitted).

    ``fit`` maps the track's source-normalised coordinates into ``frame``; without it the track
    is taken as normalised to ``frame`` itself. Frames without a face are blank.
    """
    img = np.asarray(frame)
    h, w = img.shape[:2]
    if not (0 <= i < len(face)):
        raise StudioError("Frame out of range", f"Frame {i} is outside the face track (0..{len(face) - 1}).")
    if not face.has_face()[i]:
        return blank_sface(img)
    pts = np.stack([face.left_eye[i], face.right_eye[i], face.mouth[i],
                    face.box[i, :2], face.box[i, 2:]])
    if fit is not None:
        if (fit.dst_w, fit.dst_h) != (w, h):
            raise StudioError(
                "Frame size does not match",
                f"The frame is {w}x{h} but the fit renders {fit.dst_w}x{fit.dst_h}.",
            )
        px = fit.to_canvas_px(pts)
    else:
        px = pts.astype(np.float64) * np.array([w, h], np.float64)
    return sface_images(img, px[0], px[1], px[2], np.concatenate([px[3], px[4]]))
