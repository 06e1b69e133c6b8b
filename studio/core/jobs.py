"""A frozen snapshot of everything a render needs; the worker never reads the live project."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.settings import RenderSettings
from studio.core.tracks import FLAG_PENDING, FaceTrack, PoseTrack


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class RenderJob:
    """Inputs of one render.

    Attributes
    ----------
    reference:
        ``(H, W, 3)`` uint8 RGB reference photo at its original size (read-only copy).
    pose:
        The driving pose for the whole clip (index = driving frame index).
    frames:
        The driving frame indices to render, in order; output frame ``k`` follows
        ``frames[k]``.
    settings:
        Validated render settings.
    face:
        The driving face track (S-Face conditioning), or ``None``.
    reference_pose:
        The reference photo's own pose (1 frame), for retargeting and draft skinning.
    driving_video:
        The driving video file; S-Face reads face pixels from it.
    weights_dir:
        The backend's weights folder (``None`` for weight-free backends).
    output_dir:
        Where finished frames are written as a PNG sequence (resumable), or ``None``.
    """

    reference: np.ndarray
    pose: PoseTrack
    frames: tuple[int, ...]
    settings: RenderSettings = field(default_factory=RenderSettings)
    face: FaceTrack | None = None
    reference_pose: PoseTrack | None = None
    driving_video: Path | None = None
    weights_dir: Path | None = None
    output_dir: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference", _frozen(self.reference))
        object.__setattr__(self, "pose", self.pose.copy())
        object.__setattr__(self, "frames", tuple(int(i) for i in self.frames))
        if self.face is not None:
            object.__setattr__(self, "face", self.face.copy())
        if self.reference_pose is not None:
            object.__setattr__(self, "reference_pose", self.reference_pose.copy())

    @property
    def backend(self) -> str:
        """The name of the backend that renders this job."""
        return self.settings.backend

    @property
    def options(self) -> Any:
        """That backend's validated options (an instance of its options model)."""
        return self.settings.options

    @property
    def n_frames(self) -> int:
        """Number of output frames."""
        return len(self.frames)

    def reference_fingerprint(self) -> str:
        """A short hash of the reference pixels (computed once per job)."""
        return self._shared_parts[1]

    @cached_property
    def _shared_parts(self) -> tuple[str, ...]:
        """The parts of every fingerprint that do not depend on the frame, hashed once: per-frame
        keys are asked for hundreds of times (cache bar, resume) and must stay cheap."""
        h = hashlib.sha256(str(self.reference.shape).encode())
        h.update(self.reference.tobytes())
        return (
            self.settings.fingerprint(),
            h.hexdigest()[:16],
            self.reference_pose.fingerprint() if self.reference_pose is not None else "-",
            str(self.weights_dir.resolve()) if self.weights_dir else "-",
            *self._partial_clip_part(),
        )

    def _partial_clip_part(self) -> tuple[str, ...]:
        """With retargeting on, every frame depends on clip-wide limb medians over the frames
        extracted so far: while some are still pending (range-first extraction), the extracted
        set is part of every key, so frames rendered then turn stale when the rest arrives."""
        pending = (self.pose.flags & FLAG_PENDING) != 0
        if not self.settings.retarget or not pending.any():
            return ()
        return ("partial-clip:" + hashlib.sha256(np.packbits(pending).tobytes()).hexdigest()[:16],)

    def fingerprint(self) -> str:
        """Changes whenever anything that affects any output frame changes."""
        parts = [
            *self._shared_parts,
            self.pose.fingerprint(),
            self.face.fingerprint() if self.face is not None else "-",
            ",".join(map(str, self.frames)),
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def frame_fingerprint(self, k: int) -> str:
        """Hash of what output frame ``k`` depends on *by itself* (settings, reference, and the
        driving data of its own frame). Backends whose frames are coupled (X-Dyna windows) key
        their cache on :meth:`fingerprint` instead."""
        i = self.frames[k]
        parts = [
            *self._shared_parts,
            self.pose.frame_fingerprint(i),
            self.face.frame_fingerprint(i) if self.face is not None else "-",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
