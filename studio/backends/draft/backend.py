"""The draft backend: animates the reference photo by warping it along the driving skeleton.

No model weights, no GPU: a one-time setup per reference photo (segmentation, background
fill, rig), then tens of frames per second on a laptop CPU. It streams frames to its caller
exactly like the X-Dyna backend does, in chunks, checking the cancel token between them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from studio.backends.draft.flutter import flutter_offsets
from studio.backends.draft.idle import SWAY_PERIOD_S, idle_poses
from studio.backends.draft.motion import driving_poses
from studio.backends.draft.prepare import prepare_rig
from studio.backends.draft.rig import Rig, body_scale
from studio.backends.draft.spec import SPEC
from studio.backends.draft.warp import render_pose
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import FramesReady, Progress, RenderEvent
from studio.core.jobs import RenderJob
from studio.extract.live_photo import is_held

CHUNK = 8


class DraftBackend:
    """Weight-free renderer (see the module docstring). Keeps the rig of the last reference
    photo, so re-rendering after a pose edit skips the setup."""

    name = "draft"
    capabilities = SPEC.capabilities

    def __init__(self, chunk: int = CHUNK, threads: int | None = None) -> None:
        if chunk < 1:
            raise StudioError("Invalid chunk size", f"The draft chunk size must be at least 1 (got {chunk}).")
        self.chunk = chunk
        #: Frames of a chunk rendered at the same time (default: the number of cores, up to 4).
        self.threads = max(1, threads if threads is not None else min(4, os.cpu_count() or 1))
        self._lock = threading.Lock()
        self._cached: tuple[str, Rig] | None = None

    def available(self) -> tuple[bool, str]:
        """Always available: needs only numpy, OpenCV and MediaPipe."""
        return True, "ready (no model weights needed)"

    def load(self) -> None:
        """Nothing to load: the draft renderer has no weights."""

    def close(self) -> None:
        """Forget the cached rig (its photo layers and meshes)."""
        with self._lock:
            self._cached = None

    def prepare(self, job: RenderJob) -> None:
        """Build the rig ``render(job)`` will use (person segmentation, part layers) ahead of it."""
        self.rig_for(job)

    def rig_for(self, job: RenderJob) -> Rig:
        """The rig for ``job``'s reference photo and size (built once, then reused)."""
        key = "|".join((
            job.reference_fingerprint(),
            job.reference_pose.fingerprint() if job.reference_pose is not None else "detect",
            f"{job.settings.width}x{job.settings.height}",
            f"{tuple(job.settings.photo_offset)}x{job.settings.photo_scale}",
        ))
        with self._lock:
            if self._cached is not None and self._cached[0] == key:
                return self._cached[1]
        s = job.settings
        rig = prepare_rig(job.reference, job.reference_pose, s.width, s.height, offset=tuple(s.photo_offset),
                          scale=s.photo_scale)
        with self._lock:
            self._cached = (key, rig)
        return rig

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        """Yield ``Progress`` and ``FramesReady`` (``chunk`` frames at a time) for ``job``.

        Raises :class:`~studio.core.errors.StudioError` for unusable inputs and
        :class:`~studio.core.errors.RenderCancelled` when ``cancel`` is set (checked before the
        setup and before every chunk)."""
        n = job.n_frames
        if n == 0:
            raise StudioError("Nothing to render", "The render job has no frames. Choose a frame range.")
        cancel.raise_if_cancelled()
        yield Progress(0, n, "setup", "Preparing the reference photo")
        t0 = time.perf_counter()
        rig = self.rig_for(job)
        offsets = None
        if is_held(job.pose):  # a live photo: the photo's own pose, breathing and swaying
            amount = job.options.live_motion
            poses = idle_poses(rig.ref_pose, job.frames, job.pose.fps, amount)
            scale = body_scale(rig.ref_pose)
            offsets = [flutter_offsets(rig.vertices, rig.loose, scale, i / job.pose.fps, amount, SWAY_PERIOD_S)
                       for i in job.frames]
        else:
            poses = driving_poses(job, rig.ref_pose)
        yield Progress(0, n, "render", f"Setup took {time.perf_counter() - t0:.2f} s")
        _ = rig.tris, rig.tri_part, rig.src_tris, rig.part_ranges  # computed before threads share it
        with ThreadPoolExecutor(self.threads) as pool:
            for start in range(0, n, self.chunk):
                cancel.raise_if_cancelled()
                stop = min(start + self.chunk, n)
                frames = np.empty((stop - start, job.settings.height, job.settings.width, 3), np.uint8)
                # OpenCV and large numpy operations release the GIL: frames overlap on the cores.
                list(pool.map(lambda k: render_pose(rig, poses[k], out=frames[k - start],
                                                    offsets=offsets[k] if offsets is not None else None),
                              range(start, stop)))
                yield FramesReady(tuple(range(start, stop)), frames)
                yield Progress(stop, n, "render")
