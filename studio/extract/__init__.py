"""Pose and face extraction, conditioning maps and retargeting (no Qt, no torch).

Public entry points are imported lazily so that ``import studio.extract`` stays cheap and does not
load mediapipe:

- :func:`detect_image` (reference photo -> 1-frame PoseTrack, FaceTrack)
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "detect_image": "studio.extract.image",
    "FrameDetection": "studio.extract.detector",
    "PoseDetector": "studio.extract.detector",
    "MediaPipeDetector": "studio.extract.mp_detector",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'studio.extract' has no attribute {name!r}")
