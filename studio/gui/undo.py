"""Undoable edits of the driving pose (QUndoStack commands).

A keypoint move changes the track arrays in place and then tells the document which frames
changed; the frames' cache keys change with the track's per-frame fingerprints, so only those
frames turn stale on the cache bar.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from studio.core.tracks import FLAG_EDITED, FLAG_INTERPOLATED


class MoveKeypointCommand(QUndoCommand):
    """Move keypoint ``index`` of ``part`` ("body" or "hand": ``side * 21 + i``) on ``frame`` to
    normalised ``(x, y)``. With ``spread > 0`` the same displacement is applied to the ``spread``
    frames on each side, fading linearly to nothing (interpolation to neighbours)."""

    def __init__(self, document, frame: int, part: str, index: int, x: float, y: float, spread: int = 0) -> None:
        super().__init__(f"Move {part} point {index} on frame {frame}")
        self.doc = document
        self.frame, self.part, self.index = int(frame), part, int(index)
        self.xy = np.array([x, y], np.float32)
        pose = document.project.pose
        n = len(pose)
        self.lo, self.hi = max(0, self.frame - spread), min(n, self.frame + spread + 1)
        self.spread = int(spread)
        arr, conf = self._arrays()
        self._old_xy = arr[self.lo:self.hi].copy()
        self._old_conf = conf[self.lo:self.hi].copy()
        self._old_flags = pose.flags[self.lo:self.hi].copy()

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Views of the points and confidences of this keypoint over all frames."""
        pose = self.doc.project.pose
        if self.part == "body":
            return pose.body[:, self.index], pose.body_conf[:, self.index]
        side, i = divmod(self.index, 21)
        return pose.hands[:, side, i], pose.hands_conf[:, side, i]

    def redo(self) -> None:  # noqa: D102 - Qt API
        pose = self.doc.project.pose
        arr, conf = self._arrays()
        delta = self.xy - self._old_xy[self.frame - self.lo]
        for j in range(self.lo, self.hi):
            if j == self.frame:
                arr[j] = self.xy
                conf[j] = max(float(conf[j]), 1.0)
                pose.flags[j] |= FLAG_EDITED
                continue
            w = 1.0 - abs(j - self.frame) / (self.spread + 1)
            if np.all(np.isfinite(arr[j])) and conf[j] > 0:
                arr[j] = arr[j] + w * delta  # points may lie outside the frame
                pose.flags[j] |= FLAG_INTERPOLATED
        self.doc.notify_pose_edited(self.lo, self.hi)

    def undo(self) -> None:  # noqa: D102 - Qt API
        pose = self.doc.project.pose
        arr, conf = self._arrays()
        arr[self.lo:self.hi] = self._old_xy
        conf[self.lo:self.hi] = self._old_conf
        pose.flags[self.lo:self.hi] = self._old_flags
        self.doc.notify_pose_edited(self.lo, self.hi)
