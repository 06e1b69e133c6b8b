"""Fake backends and small jobs for the render-engine tests (no weights, no torch)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from studio.core.backend import Capabilities
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import FramesReady, Progress, RenderEvent, StepPreview
from studio.core.jobs import RenderJob
from studio.core.settings import RenderSettings
from studio.core.tracks import PoseTrack


def make_job(n: int = 10, seed: int = 1, output_dir=None, size: int = 64, pose_shift: float = 0.0,
             shift_frame: int | None = None, **settings) -> RenderJob:
    """A job of ``n`` frames over a synthetic pose track (smooth motion)."""
    pose = PoseTrack.empty(n, 64, 64, 25.0)
    t = np.arange(n, dtype=np.float32)[:, None]
    pose.body[:] = (0.5 + 0.1 * np.sin(t / 5 + np.arange(18)))[..., None]
    pose.body_conf[:] = 1.0
    pose.flags[:] = 0
    if shift_frame is not None:
        pose.body[shift_frame] += pose_shift
    ref = np.full((size, size, 3), 120, np.uint8)
    s = RenderSettings(**{"width": size, "height": size, "seed": seed, **settings})
    return RenderJob(reference=ref, pose=pose, frames=tuple(range(n)), settings=s, output_dir=output_dir)


def frame_for(job: RenderJob, k: int) -> np.ndarray:
    """What the fake independent backend draws for output frame ``k``."""
    i = job.frames[k]
    v = (i * 7 + job.settings.seed * 13 + int(1000 * np.nansum(job.pose.body[i]))) % 256
    return np.full((job.settings.height, job.settings.width, 3), v, np.uint8)


class FakeIndependent:
    """Frames depend only on their own driving frame; renders in chunks, records its jobs."""

    name = "fake-independent"
    capabilities = Capabilities(needs_weights=False, step_previews=False, independent_frames=True)

    def __init__(self, chunk: int = 4, cancel_after_chunks: int | None = None,
                 fail_after_chunks: int | None = None, error: Exception | None = None) -> None:
        self.chunk = chunk
        self.cancel_after_chunks = cancel_after_chunks
        self.fail_after_chunks = fail_after_chunks
        self.error = error
        self.jobs: list[RenderJob] = []

    def available(self) -> tuple[bool, str]:
        return True, ""

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        self.jobs.append(job)
        n = job.n_frames
        for c, start in enumerate(range(0, n, self.chunk)):
            cancel.raise_if_cancelled()
            if self.fail_after_chunks is not None and c == self.fail_after_chunks:
                raise self.error or StudioError("Boom", "the fake backend failed")
            ks = list(range(start, min(n, start + self.chunk)))
            yield FramesReady(tuple(ks), np.stack([frame_for(job, k) for k in ks]))
            yield Progress(ks[-1] + 1, n, "render")
            if self.cancel_after_chunks is not None and c + 1 == self.cancel_after_chunks:
                cancel.cancel()


class FakeCoupled:
    """All frames are final only after the last step; a preview of all frames after each step."""

    name = "fake-coupled"
    capabilities = Capabilities(needs_weights=True, step_previews=True, independent_frames=False)

    def __init__(self, steps: int = 3) -> None:
        self.steps = steps
        self.calls = 0

    def available(self) -> tuple[bool, str]:
        return True, ""

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        self.calls += 1
        n = job.n_frames
        ks = tuple(range(n))
        for step in range(self.steps):
            cancel.raise_if_cancelled()
            yield Progress(step + 1, self.steps, "denoise")
            yield StepPreview(ks, np.stack([frame_for(job, k) // 2 for k in ks]), step)
        yield FramesReady(ks, np.stack([frame_for(job, k) for k in ks]))
