"""Snapshots of parts of a document that its undo commands swap, and range-edit menu texts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from studio.core.tracks import FaceTrack, PoseTrack


@dataclasses.dataclass(frozen=True)
class ReferenceState:
    """The reference photo part of a project (a snapshot for undo)."""

    path: Path | None
    rgb: np.ndarray | None
    pose: PoseTrack | None
    face: FaceTrack | None
    retarget: bool | None = None  # the retarget setting that goes with it (None: leave it)
    auto_off: bool = False  # retargeting was switched off because this pose looks wrong


@dataclasses.dataclass(frozen=True)
class DrivingState:
    """The driving part of a project: video, tracks (the same objects, so pose edits made on
    them stay undoable), frame rate and range (a snapshot for undo)."""

    video: Path | None
    pose: PoseTrack | None
    face: FaceTrack | None
    fps: float
    frame_range: tuple[int, int] | None
    live_seconds: float | None = None


def describe_range_change(old: tuple[int, int], new: tuple[int, int], n: int) -> str:
    """Menu text for an in/out edit (half-open ``(start, stop)`` ranges of an ``n``-frame clip)."""
    if new == (0, n):
        return "Clear in/out range"
    if new[0] != old[0] and new[1] == old[1]:
        return f"Set in point to frame {new[0]}"
    if new[1] != old[1] and new[0] == old[0]:
        return f"Set out point to frame {new[1] - 1}"
    return f"Set in/out to frames {new[0]}-{new[1] - 1}"
