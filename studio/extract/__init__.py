"""Pose and face extraction, X-Dyna conditioning maps and retargeting (no Qt, no torch).

Modules (one job each):

- :mod:`~studio.extract.detector`: the :class:`PoseDetector` protocol and :class:`FrameDetection`;
- :mod:`~studio.extract.mp_detector`: the MediaPipe implementation (BlazePose + hand/face crops);
- :mod:`~studio.extract.layout`: BlazePose-33 / FaceMesh / iBUG-68 -> OpenPose-18 and face anchors;
- :mod:`~studio.extract.extractor`: clips -> tracks (progress, cancel, cuts, gaps, smoothing, cache);
- :mod:`~studio.extract.image`: :func:`detect_image` for the reference photo;
- :mod:`~studio.extract.fit`: fitting frames to the render size, and the matching coordinate map;
- :mod:`~studio.extract.pose_map`, :mod:`~studio.extract.sface`, :mod:`~studio.extract.conditioning`:
  the pose and S-Face ControlNet inputs;
- :mod:`~studio.extract.retarget`: the driving skeleton with the reference person's proportions.

Names below are imported lazily, so ``import studio.extract`` does not load mediapipe.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "detect_image": "studio.extract.image",
    "FrameDetection": "studio.extract.detector",
    "PoseDetector": "studio.extract.detector",
    "MediaPipeDetector": "studio.extract.mp_detector",
    "ExtractOptions": "studio.extract.extractor",
    "ExtractionResult": "studio.extract.extractor",
    "extract_frames": "studio.extract.extractor",
    "extract_video": "studio.extract.extractor",
    "CanvasFit": "studio.extract.fit",
    "fit_image": "studio.extract.fit",
    "draw_pose": "studio.extract.pose_map",
    "draw_track_frame": "studio.extract.pose_map",
    "sface_images": "studio.extract.sface",
    "sface_for_frame": "studio.extract.sface",
    "iter_frame_maps": "studio.extract.conditioning",
    "RetargetOptions": "studio.extract.retarget",
    "retarget_track": "studio.extract.retarget",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'studio.extract' has no attribute {name!r}")
