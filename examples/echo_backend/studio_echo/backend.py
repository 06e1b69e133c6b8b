"""The running echo backend: every output frame is the placed reference photo, tinted."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from studio.core.backend import Capabilities
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import FramesReady, Progress, RenderEvent
from studio.core.jobs import RenderJob
from studio.extract.canvas import reference_image
from studio_echo.spec import SPEC

#: Frames per FramesReady event.
CHUNK = 4
COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def tint(image: np.ndarray, strength: float, colour: str) -> np.ndarray:
    """``image`` moved ``strength`` of the way towards ``colour`` (uint8 in, uint8 out)."""
    target = np.asarray(COLOURS[colour], np.float32)
    out = image.astype(np.float32) * (1.0 - strength) + target * strength
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


class EchoBackend:
    """See the module docstring. Keeps the tinted frame of the last job (one photo, one size)."""

    name = SPEC.name
    capabilities: Capabilities = SPEC.capabilities

    def __init__(self) -> None:
        self._frame: tuple[str, np.ndarray] | None = None

    def available(self) -> tuple[bool, str]:
        """Always: numpy only."""
        return True, "ready (no model weights needed)"

    def load(self) -> None:
        """Nothing to load."""

    def close(self) -> None:
        """Forget the cached frame."""
        self._frame = None

    def _tinted(self, job: RenderJob) -> np.ndarray:
        key = f"{job.reference_fingerprint()}|{job.settings.fingerprint()}"
        if self._frame is None or self._frame[0] != key:
            self._frame = (key, tint(reference_image(job), job.options.strength, job.options.colour))
        return self._frame[1]

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        """``CHUNK`` frames at a time, checking ``cancel`` before each chunk."""
        n = job.n_frames
        if n == 0:
            raise StudioError("Nothing to render", "The render job has no frames. Choose a frame range.")
        frame = self._tinted(job)
        for start in range(0, n, CHUNK):
            cancel.raise_if_cancelled()
            stop = min(start + CHUNK, n)
            yield FramesReady(tuple(range(start, stop)), np.repeat(frame[None], stop - start, axis=0))
            yield Progress(stop, n, "render")
