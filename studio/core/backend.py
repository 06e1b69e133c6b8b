"""The renderer protocol shared by the draft and X-Dyna backends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from studio.core.cancel import CancelToken
from studio.core.events import RenderEvent
from studio.core.jobs import RenderJob


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, so callers adapt without knowing which one they hold."""

    needs_weights: bool
    step_previews: bool  # emits StepPreview events while denoising
    independent_frames: bool  # each output frame depends only on its own driving frame
    schedules: tuple[str, ...] = ()


@runtime_checkable
class Backend(Protocol):
    """A renderer. ``render`` is a generator that checks ``cancel`` at every step or chunk,
    yields :mod:`studio.core.events` and never touches the GUI."""

    name: str
    capabilities: Capabilities

    def available(self) -> tuple[bool, str]:
        """Whether this backend can run here, and if not, why (shown in the GUI and doctor)."""
        ...

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        """Render ``job``; yields Progress/StepPreview/FramesReady events. Raises
        :class:`~studio.core.errors.StudioError` on bad input and
        :class:`~studio.core.errors.RenderCancelled` when cancelled."""
        ...
