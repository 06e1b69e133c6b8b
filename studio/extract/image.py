"""Landmarks of one still image (the reference photo)."""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.tracks import FaceTrack, PoseTrack
from studio.extract.assemble import tracks_from_detections


def detect_image(rgb: Any, detector: Any = None) -> tuple[PoseTrack, FaceTrack]:
    """Body, hands and face of the person on an RGB photo, as 1-frame tracks.

    Parameters
    ----------
    rgb:
        ``(H, W, 3)`` uint8 RGB image.
    detector:
        A :class:`~studio.extract.detector.PoseDetector`; by default a static-image-mode
        :class:`~studio.extract.mp_detector.MediaPipeDetector` (closed afterwards).

    Returns
    -------
    ``(PoseTrack, FaceTrack)`` of one frame each, normalised to the image size (fps is set to
    1.0). A photo without a person gives tracks flagged ``FLAG_NO_PERSON``; it never raises for
    that.
    """
    from studio.extract.frame_crops import check_frame
    from studio.extract.mp_detector import MediaPipeDetector

    frame = check_frame(rgb)
    h, w = frame.shape[:2]
    own = detector is None
    det = MediaPipeDetector(static_image_mode=True) if own else detector
    try:
        found = det.detect(frame, 0.0)
    finally:
        if own:
            det.close()
    return tracks_from_detections([found], w, h, 1.0)


def person_found(pose: PoseTrack) -> bool:
    """Whether frame 0 of ``pose`` holds a person (convenience for 1-frame image tracks)."""
    return bool(len(pose) and pose.has_person()[0] and np.isfinite(pose.body[0, 1]).all())
