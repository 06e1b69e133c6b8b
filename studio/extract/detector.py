"""The detector interface: one frame in, one person's body, hands and face out.

Any landmark detector (the legacy MediaPipe solutions in :mod:`studio.extract.mp_detector`, the
MediaPipe Tasks API, DWPose, ...) plugs into the extractor by implementing :class:`PoseDetector`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from studio.core.tracks import N_BODY, N_HAND


def _nan(*shape: int) -> np.ndarray:
    return np.full(shape, np.nan, np.float32)


@dataclass
class FrameDetection:
    """What a detector found on one frame, in coordinates normalised to the frame size.

    Attributes
    ----------
    body: ``(18, 2)`` OpenPose-18 points, ``NaN`` where missing; body_conf ``(18,)``.
    hands: ``(2, 21, 2)`` (0 = subject's left hand); hands_conf ``(2, 21)``.
    face_box: ``(4,)`` ``x0, y0, x1, y1`` landmark extent; left_eye, right_eye, mouth ``(2,)``.
    face_conf: 0 when no face was found.
    n_people: how many people the detector saw (0, 1, or more; only one is reported).
    """

    body: np.ndarray = field(default_factory=lambda: _nan(N_BODY, 2))
    body_conf: np.ndarray = field(default_factory=lambda: np.zeros(N_BODY, np.float32))
    hands: np.ndarray = field(default_factory=lambda: _nan(2, N_HAND, 2))
    hands_conf: np.ndarray = field(default_factory=lambda: np.zeros((2, N_HAND), np.float32))
    face_box: np.ndarray = field(default_factory=lambda: _nan(4))
    left_eye: np.ndarray = field(default_factory=lambda: _nan(2))
    right_eye: np.ndarray = field(default_factory=lambda: _nan(2))
    mouth: np.ndarray = field(default_factory=lambda: _nan(2))
    face_conf: float = 0.0
    n_people: int = 0

    @property
    def has_person(self) -> bool:
        """Whether a body was found."""
        return self.n_people > 0 and bool(np.any(self.body_conf > 0))

    @property
    def has_face(self) -> bool:
        """Whether a face was found."""
        return self.face_conf > 0 and bool(np.all(np.isfinite(self.face_box)))


@runtime_checkable
class PoseDetector(Protocol):
    """Finds one person's body, hands and face on RGB frames.

    ``detect`` is called with consecutive frames of one clip (a video-mode detector may track
    between calls); ``reset`` is called at shot cuts and before a new clip; ``close`` frees
    resources.
    """

    def detect(self, frame_rgb: np.ndarray, timestamp: float) -> FrameDetection:
        """Detect on one ``(H, W, 3)`` uint8 RGB frame shown at ``timestamp`` seconds."""
        ...

    def reset(self) -> None:
        """Forget any tracking state (the next frame is unrelated to the previous one)."""
        ...

    def close(self) -> None:
        """Release models and threads."""
        ...


@runtime_checkable
class TwoStageDetector(PoseDetector, Protocol):
    """A :class:`PoseDetector` whose work splits into a body stage and a details stage.

    ``detect_body`` touches only the body model and ``detect_details`` (called in frame order)
    only the others, so the extractor can run the body stage of frame ``i`` on one core while
    the details of frame ``i - 1`` run on another. ``detect(f, t)`` must equal
    ``detect_details(detect_body(f, t))``.
    """

    def detect_body(self, frame_rgb: np.ndarray, timestamp: float) -> Any:
        """Stage 1 of one frame; returns an opaque state for :meth:`detect_details`."""
        ...

    def detect_details(self, stage: Any) -> FrameDetection:
        """Stage 2 of the frame whose stage 1 returned ``stage``."""
        ...
