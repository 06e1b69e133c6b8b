"""The weight-free draft renderer: pose-driven warping of the reference photo (numpy + OpenCV +
MediaPipe, no torch). See :class:`~studio.backends.draft.backend.DraftBackend`."""

from studio.backends.draft.backend import DraftBackend

__all__ = ["DraftBackend"]
