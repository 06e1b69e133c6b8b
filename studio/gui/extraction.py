"""The driving panel's pose extraction, as a function a helper process can run (no Qt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def extract_in_helper(progress: Any, cancel: Any, path: Path) -> tuple[Path, Any, Any]:
    """``(path, PoseTrack, FaceTrack)`` of the video at ``path`` (disk-cached by the extractor)."""
    from studio.extract.extractor import extract_video

    res = extract_video(path, progress=lambda d, n=None: progress(d, n, "Finding the pose"), cancel=cancel)
    return Path(path), res.pose, res.face


def extract_first_in_helper(progress: Any, cancel: Any, path: Path, frame_range: tuple[int, int] | None,
                            playhead: int) -> tuple[Path, Any, Any, bool]:
    """``(path, PoseTrack, FaceTrack, complete)``: the frames to show first (range-first
    extraction, :func:`studio.extract.range_first.extract_first`), or the cached whole clip."""
    from studio.extract.range_first import extract_first

    first = extract_first(path, frame_range, playhead,
                          progress=lambda d, n=None: progress(d, n, "Finding the pose (first frames)"), cancel=cancel)
    return Path(path), first.pose, first.face, first.complete
