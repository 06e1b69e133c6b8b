"""What a render tells its caller while it works. Arrays are numpy, never tensors."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.core.errors import StudioError


@dataclass(frozen=True)
class Progress:
    """``step`` of ``total`` units of work done in ``phase`` (e.g. "load", "denoise", "decode")."""

    step: int
    total: int
    phase: str
    message: str = ""


@dataclass(frozen=True, eq=False)
class StepPreview:
    """A cheap preview of frames ``indices`` after denoising step ``step`` (not final)."""

    indices: tuple[int, ...]
    frames: np.ndarray  # (len(indices), H, W, 3) uint8
    step: int


@dataclass(frozen=True, eq=False)
class FramesReady:
    """Final frames for clip indices ``indices``."""

    indices: tuple[int, ...]
    frames: np.ndarray  # (len(indices), H, W, 3) uint8


@dataclass(frozen=True)
class Finished:
    """The render completed; ``n_frames`` final frames were produced."""

    n_frames: int
    seconds: float = 0.0


@dataclass(frozen=True)
class Cancelled:
    """The render stopped on request; ``done`` lists the frames that are final and kept."""

    done: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Failed:
    """The render stopped on an error."""

    error: StudioError


RenderEvent = Progress | StepPreview | FramesReady | Finished | Cancelled | Failed
