"""Bring the reference photo and the poses into the render frame.

The photo is fitted like the official X-Dyna code (``imread_resize_crop``, the ``"center"``
mode of :class:`studio.extract.fit.CanvasFit`): centre-crop to the render aspect ratio, then
resize. Poses are normalised to their own source frame and go through the same kind of crop,
so they land on the pixels they were detected on. The driving pose is centre-fitted too (not
stretched as the official pose-only mode does) so the draft warp never distorts the body's
proportions.
"""

from __future__ import annotations

import numpy as np

from studio.core.tracks import PoseTrack
from studio.extract.fit import CanvasFit


def fit_reference(rgb: np.ndarray, width: int, height: int, offset: tuple[float, float] = (0.0, 0.0),
                  scale: float = 1.0) -> tuple[np.ndarray, CanvasFit]:
    """The reference photo fitted to ``width x height`` (then moved by ``offset`` and scaled by
    ``scale``: the artist's framing, see :meth:`CanvasFit.placed`) and the fit that did it."""
    fit = CanvasFit.create(rgb.shape[1], rgb.shape[0], width, height, "center").placed(offset, scale)
    return np.ascontiguousarray(fit.apply(rgb)), fit


def body_pixels(track: PoseTrack, fit: CanvasFit) -> np.ndarray:
    """``(N, 18, 2)`` body joints of ``track`` in render pixels; joints with zero confidence or
    on frames without a person are ``NaN``."""
    body = fit.to_canvas_px(track.body)
    missing = (track.body_conf <= 0) | ~track.has_person()[:, None]
    body[missing] = np.nan
    return body


def track_fit(track: PoseTrack, width: int, height: int, video_fit: str = "top",
              offset: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> CanvasFit:
    """The fit of ``track``'s source frame to the render size: a centre crop for the official
    ``top`` setting (so the draft warp never distorts the body), else the framing's own
    ``video_fit`` (``center`` or the letterboxed ``fit``); then the video's ``offset``/``scale``."""
    mode = "center" if video_fit == "top" else video_fit
    return CanvasFit.create(track.width, track.height, width, height, mode).placed(offset, scale)
