"""A renderer for the farm tests: frames that depend only on their driving frame, produced one
chunk at a time with a pause, so a test can kill a worker while a job is half done. Lives in a
plain module so helper processes and Ray actors can import it (tests/farm is put on their path).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from studio.core.backend import Capabilities
from studio.core.cancel import CancelToken
from studio.core.events import FramesReady, Progress, RenderEvent
from studio.core.jobs import RenderJob


def frame_for(job: RenderJob, k: int) -> np.ndarray:
    """Output frame ``k`` of ``job``: a flat colour from the driving frame index and the seed."""
    i = job.frames[k]
    v = (i * 7 + job.settings.seed * 13) % 256
    return np.full((job.settings.height, job.settings.width, 3), v, np.uint8)


class SlowBackend:
    """Independent frames in chunks of ``chunk``, ``pause`` seconds per chunk. With ``log`` set,
    each render appends one line to that file first: the output frame indices it was asked for."""

    name = "draft"  # queued as draft jobs
    capabilities = Capabilities(needs_weights=False, step_previews=False, independent_frames=True)

    def __init__(self, chunk: int = 2, pause: float = 0.4, log: str | None = None) -> None:
        self.chunk = chunk
        self.pause = pause
        self.log = log

    def available(self) -> tuple[bool, str]:
        return True, ""

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        n = job.n_frames
        if self.log is not None:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(",".join(map(str, job.frames)) + "\n")
        for start in range(0, n, self.chunk):
            cancel.raise_if_cancelled()
            time.sleep(self.pause)
            ks = list(range(start, min(n, start + self.chunk)))
            yield FramesReady(tuple(ks), np.stack([frame_for(job, k) for k in ks]))
            yield Progress(ks[-1] + 1, n, "render")
