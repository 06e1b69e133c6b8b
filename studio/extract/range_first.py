"""Range-first extraction: the frames the artist is looking at get a pose within seconds, the
rest of the clip follows in the background.

:func:`first_range` picks the frames to do first (the in/out range, else a few seconds around
the playhead); :func:`extract_first` extracts them into a whole-clip track whose other frames are
flagged :data:`~studio.core.tracks.FLAG_PENDING`; :func:`merge_complete` later copies the
whole-clip extraction into that same track in place (frames the artist edited meanwhile are
kept), so undo commands that refer to the track keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.tracks import FLAG_EDITED, FLAG_PENDING, FaceTrack, PoseTrack

#: Seconds of frames extracted first around the playhead (when there is no in/out range).
FIRST_SECONDS = 6.0
#: The most frames extracted first: at a phone clip's 25-30 fps, 6 s are 150-180 frames, whose
#: detection (~40 ms a frame on one core) was most of the time to the first motion
#: (bench/first_motion.py --loop-fps 25); 48 frames are 6 s of an 8 fps clip, 2 s at 24 fps.
FIRST_FRAMES = 48


def first_range(n: int, fps: float, frame_range: tuple[int, int] | None = None, playhead: int = 0,
                seconds: float = FIRST_SECONDS, max_frames: int = FIRST_FRAMES) -> tuple[int, int]:
    """``(start, stop)`` frames to extract first: the in/out range if set, else ``seconds``
    of frames but at most ``max_frames``, starting a second (at most half the frames) before
    the playhead, inside ``0..n``."""
    if frame_range is not None:
        start, stop = max(0, frame_range[0]), min(n, frame_range[1])
        if start < stop:
            return start, stop
    span = max(1, min(int(round(seconds * fps)), int(max_frames)))
    lead = min(int(round(fps)), span // 2)
    start = max(0, min(int(playhead) - lead, n - span))
    return start, min(n, start + span)


@dataclass
class FirstTracks:
    """The result of :func:`extract_first`: whole-clip tracks, ``complete`` when every frame has
    been extracted (a cached extraction, or a range that covers the clip)."""

    pose: PoseTrack
    face: FaceTrack
    done: tuple[int, int]
    complete: bool


def extract_first(path: str | Path, frame_range: tuple[int, int] | None = None, playhead: int = 0,
                  progress=None, cancel: CancelToken | None = None) -> FirstTracks:
    """Extract :func:`first_range` of the video at ``path`` (or load the whole clip's cached
    extraction); other frames are :data:`FLAG_PENDING` with no person, except those an earlier
    range extraction already did (:func:`studio.extract.partial.extract_range`, cached)."""
    from studio.extract.partial import extract_range
    from studio.media.video import VideoReader

    from studio.core.phases import mark

    with VideoReader(path) as reader:
        n, fps = reader.frame_count, reader.fps
    mark("clip probed")
    start, stop = first_range(n, fps, frame_range, playhead)
    res = extract_range(path, start, stop, progress=progress, cancel=cancel)
    mark("first window tracks")
    complete = pending_frames(res.pose).size == 0
    return FirstTracks(res.pose, res.face, (0, n) if complete else (start, stop), complete)


def _copy(dst, src, where: slice | np.ndarray) -> None:
    """Copy every per-frame array of ``src`` into ``dst`` at ``where`` (in place)."""
    from studio.extract.partial import copy_frames

    copy_frames(dst, src, where)


def pending_frames(pose: PoseTrack | None) -> np.ndarray:
    """Indices of frames not extracted yet."""
    if pose is None:
        return np.zeros(0, np.int64)
    return np.flatnonzero(pose.flags & FLAG_PENDING)


def merge_complete(pose: PoseTrack, face: FaceTrack | None, full_pose: PoseTrack, full_face: FaceTrack | None
                   ) -> bool:
    """Fill ``pose``/``face`` in place from the whole-clip extraction, keeping frames the artist
    edited; returns False (nothing changed) when the tracks do not belong together."""
    if len(pose) != len(full_pose) or (pose.width, pose.height) != (full_pose.width, full_pose.height):
        return False
    keep = (pose.flags & FLAG_EDITED) != 0
    take = np.flatnonzero(~keep)
    _copy(pose, full_pose, take)
    if face is not None and full_face is not None and len(face) == len(full_face):
        _copy(face, full_face, take)
    return True


def extracted_window(pose: PoseTrack | None, playhead: int = 0) -> tuple[int, int] | None:
    """While a clip is still being extracted: ``(start, stop)`` of the run of extracted frames
    holding the playhead, else of the first run (the frames range-first extraction did first).
    ``None`` when no frame is pending, or none is extracted yet."""
    from studio.extract.partial import runs

    if pose is None or not pending_frames(pose).size:
        return None
    done = runs((pose.flags & FLAG_PENDING) == 0)
    for a, b in done:
        if a <= playhead < b:
            return a, b
    return done[0] if done else None
