"""Detectors built ahead of their first frame.

Building the MediaPipe video detector (importing mediapipe, building its graphs) takes a second
or more of a helper process's start. :func:`prebuild` builds the detector an extraction with
given options would build, in a process that waits for its work (a spare helper); the
extraction's own :func:`take` then gets that detector instead of building one. A prebuilt
detector has seen no frame, so it gives exactly the detections a newly built one gives.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_built: list[tuple[dict[str, Any], Any]] = []


def detector_args(options: Any) -> dict[str, Any]:
    """The :class:`~studio.extract.mp_detector.MediaPipeDetector` arguments of an extraction
    with :class:`~studio.extract.extractor.ExtractOptions` ``options`` (video mode)."""
    return {"static_image_mode": False, "hands": options.hands, "face": options.face,
            "pose_max_side": options.pose_max_side}


def prebuild(options: Any = None) -> None:
    """Build the video detector of an extraction with ``options`` (default options) now, for
    the next :func:`take` with the same options in this process."""
    from studio.extract.extractor import ExtractOptions
    from studio.extract.mp_detector import MediaPipeDetector

    args = detector_args(options or ExtractOptions())
    det = MediaPipeDetector(**args)
    with _lock:
        _built.append((args, det))


def take(options: Any) -> Any:
    """A detector for an extraction with ``options``: the one :func:`prebuild` built for them
    (once), else a new one."""
    from studio.extract.mp_detector import MediaPipeDetector

    args = detector_args(options)
    with _lock:
        for i, (built_args, det) in enumerate(_built):
            if built_args == args:
                del _built[i]
                return det
    return MediaPipeDetector(**args)


def prebuilt_count() -> int:
    """How many prebuilt detectors are waiting in this process."""
    with _lock:
        return len(_built)
