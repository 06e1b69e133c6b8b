"""Opening a clip for reading, whether it is a video file or a PNG-sequence folder."""

from __future__ import annotations

from pathlib import Path

from studio.media.sequence import PngSequence
from studio.media.video import VideoReader


def open_frames(path: str | Path, fps: float | None = None) -> VideoReader | PngSequence:
    """A reader for ``path``: :class:`PngSequence` for a folder (at ``fps``, default 25),
    otherwise :class:`VideoReader` (which keeps the video's own rate)."""
    path = Path(path)
    if path.is_dir():
        return PngSequence(path, fps=fps or 25.0)
    return VideoReader(path)
