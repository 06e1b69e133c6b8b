"""Undoable edits of the document (:class:`~studio.document.undo.Command` subclasses, no Qt):
every edit an artist makes -- render settings, the in/out range, swapping the photo or the
driving video, framing and pose edits -- goes through one stack, and each command's text names
the edit for the Edit menu.

A keypoint move changes the track arrays in place and then tells the document which frames
changed; the frames' cache keys change with the track's per-frame fingerprints, so only those
frames turn stale on the cache bar. The other commands hold the before and after snapshots and
ask the document to put one in place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import BaseModel

from studio.core.tracks import FLAG_EDITED, FLAG_INTERPOLATED
from studio.document.undo import Command


class MoveKeypointCommand(Command):
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

    def redo(self) -> None:  # noqa: D102 - Command API
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

    def undo(self) -> None:  # noqa: D102 - Command API
        pose = self.doc.project.pose
        arr, conf = self._arrays()
        arr[self.lo:self.hi] = self._old_xy
        conf[self.lo:self.hi] = self._old_conf
        pose.flags[self.lo:self.hi] = self._old_flags
        self.doc.notify_pose_edited(self.lo, self.hi)


# -- document edits --------------------------------------------------------------------------------
#: How settings fields are named in Undo/Redo menu texts.
SETTING_LABELS = {
    "backend": "renderer", "width": "width", "height": "height", "seed": "seed", "retarget": "retargeting",
    "device": "device", "dtype": "precision", "photo_offset": "photo position", "photo_scale": "photo size",
    "video_fit": "video crop", "video_offset": "video position", "video_scale": "video size",
}


def _labels(settings: BaseModel) -> dict[str, str]:
    """:data:`SETTING_LABELS` plus the labels of the backend's options model."""
    options = getattr(settings, "options", None)
    described = options.describe() if options is not None and hasattr(options, "describe") else []
    own = {f.name: (f.label[:1].lower() + f.label[1:]) if not f.label[:2].isupper() else f.label for f in described}
    return {**own, **SETTING_LABELS}
#: Consecutive changes of the same settings within this many seconds are one undo step (typing
#: "30" into a spin box is one edit, not two).
MERGE_SECONDS = 1.5
_SETTINGS_ID = 1601


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"“{value[:24]}…”" if len(value) > 24 else f"“{value}”"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    return str(value)


def _flat(settings: BaseModel) -> dict:
    flat = getattr(settings, "flat", None)
    return flat() if callable(flat) else settings.model_dump()


def describe_settings_change(old: BaseModel, new: BaseModel) -> str:
    """Menu text for a settings edit, e.g. ``Set steps to 30`` or ``Turn S-Face off``."""
    a, b = _flat(old), _flat(new)
    changed = [k for k in b if a.get(k) != b[k]]
    labels = _labels(new)
    if not changed:
        return "Change render settings"
    if {"width", "height"} == set(changed):
        return f"Set size to {b['width']}x{b['height']}"
    if len(changed) > 1:
        return "Change " + ", ".join(labels.get(k, k) for k in changed)
    key = changed[0]
    label = labels.get(key, key)
    if isinstance(b[key], bool):
        return f"Turn {label} {'on' if b[key] else 'off'}"
    if isinstance(b[key], str) and not b[key]:
        return f"Clear {label}"
    return f"Set {label} to {_shown(b[key])}"


class SettingsCommand(Command):
    """Replace the render settings ``old`` with ``new`` (consecutive edits of the same fields
    within :data:`MERGE_SECONDS` merge into one step, unless ``merge`` is off: a preset or a
    named action is a step of its own)."""

    def __init__(self, document, old: BaseModel, new: BaseModel, merge: bool = True) -> None:
        super().__init__(describe_settings_change(old, new))
        self.doc, self.old, self.new = document, old, new
        self.merge = merge
        a, b = _flat(old), _flat(new)
        self.fields = frozenset(k for k in b if a.get(k) != b[k])
        self.stamp = time.monotonic()

    def id(self) -> int:  # noqa: D102 - Command API
        return _SETTINGS_ID if self.merge else -1

    def mergeWith(self, other: Command) -> bool:  # noqa: N802, D102 - Command API
        if not isinstance(other, SettingsCommand) or not other.merge or other.fields != self.fields:
            return False
        if other.stamp - self.stamp > MERGE_SECONDS:
            return False
        self.new, self.stamp = other.new, other.stamp
        self.setText(describe_settings_change(self.old, self.new))
        if self.new == self.old:
            self.setObsolete(True)
        return True

    def redo(self) -> None:  # noqa: D102 - Command API
        self.doc._apply_settings(self.new)  # noqa: SLF001 - the document's own edit

    def undo(self) -> None:  # noqa: D102 - Command API
        self.doc._apply_settings(self.old)  # noqa: SLF001


class RangeCommand(Command):
    """Change the in/out range from ``old`` to ``new`` (inclusive ``(in, out)`` frame pairs)."""

    def __init__(self, document, old: tuple[int, int], new: tuple[int, int], text: str) -> None:
        super().__init__(text)
        self.doc, self.old, self.new = document, old, new

    def redo(self) -> None:  # noqa: D102 - Command API
        self.doc._apply_range(self.new)  # noqa: SLF001

    def undo(self) -> None:  # noqa: D102 - Command API
        self.doc._apply_range(self.old)  # noqa: SLF001


class StateCommand(Command):
    """Swap one part of the document between two snapshots: ``apply(state)`` puts a snapshot in
    place (used for photo and video swaps, framing and live-photo edits)."""

    def __init__(self, text: str, apply: Callable[[Any], None], old: Any, new: Any) -> None:
        super().__init__(text)
        self._apply, self.old, self.new = apply, old, new

    def redo(self) -> None:  # noqa: D102 - Command API
        self._apply(self.new)

    def undo(self) -> None:  # noqa: D102 - Command API
        self._apply(self.old)
