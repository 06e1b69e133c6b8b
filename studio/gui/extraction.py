"""The driving panel's pose extraction, as a function a helper process can run (no Qt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


#: Niceness of a helper process extracting a whole clip (Unix): lowest, below the render helper's
#: (:data:`studio.gui.process_backend.HELPER_NICE`), so a render started while the rest of a clip
#: is extracted in the background gets the CPU first.
BACKGROUND_NICE = 19


def _in_background() -> None:
    """Lower this process's priority to :data:`BACKGROUND_NICE`, in a helper process only (when
    helpers are off the function runs in the window's process, which must keep its priority)."""
    import multiprocessing
    import os

    if multiprocessing.parent_process() is None or not hasattr(os, "nice"):
        return
    try:
        os.nice(max(0, BACKGROUND_NICE - os.nice(0)))
    except OSError:
        pass


def extract_rest_in_helper(progress: Any, cancel: Any, path: Path) -> tuple[Path, Any, Any]:
    """:func:`extract_in_helper` at background priority: the rest of a clip whose first frames
    are shown already (range-first extraction), while the artist may be rendering them."""
    _in_background()
    return extract_in_helper(progress, cancel, path)


def extract_in_helper(progress: Any, cancel: Any, path: Path) -> tuple[Path, Any, Any]:
    """``(path, PoseTrack, FaceTrack)`` of the video at ``path`` (disk-cached by the extractor;
    a clip partly extracted before gets only its missing frames)."""
    from studio.extract.extractor import extract_video

    res = extract_video(path, progress=lambda d, n=None: progress(d, n, "Finding the pose"), cancel=cancel)
    return Path(path), res.pose, res.face


def warm_extraction() -> None:
    """A spare extraction helper's warm-up (:class:`~studio.gui.helper_task.Spare`): MediaPipe
    imported and the video detector of the default options built (:mod:`studio.extract.warm`),
    so the first frames of the next clip are detected without waiting for them."""
    from studio.extract.warm import prebuild

    prebuild()


def extract_first_in_helper(progress: Any, cancel: Any, path: Path, frame_range: tuple[int, int] | None,
                            playhead: int) -> tuple[Path, Any, Any, bool]:
    """``(path, PoseTrack, FaceTrack, complete)``: the frames to show first (range-first
    extraction, :func:`studio.extract.range_first.extract_first`), or the cached whole clip."""
    from studio.extract.range_first import extract_first

    first = extract_first(path, frame_range, playhead,
                          progress=lambda d, n=None: progress(d, n, "Finding the pose (first frames)"), cancel=cancel)
    return Path(path), first.pose, first.face, first.complete
