"""The one render path shared by the GUI and the CLI: drive a :class:`Backend` over a
:class:`RenderJob` and turn what it yields into :mod:`studio.core.events`.

:func:`run_job` is a generator; call it from a worker thread (the GUI's QThread) or the CLI's main
thread. It

* reuses finished frames (``resume=True``): PNGs in ``job.output_dir`` recorded under the frame's
  current cache key, and final frames already in the :class:`FrameCache`;
* asks the backend only for what is missing (backends with independent frames get a job of just
  the missing frames; resumable backends such as X-Dyna get the whole job and the render
  folder's :class:`~studio.core.render_store.ResumeStore`, and skip the finished frames and
  windows it holds, from the latents saved beside the PNGs: :mod:`studio.core.resume`);
* writes every finished frame into the cache (final) and to the PNG sequence as it arrives, and
  every step preview into the cache (not final);
* ends with exactly one of :class:`Finished`, :class:`Cancelled` or :class:`Failed` and never
  raises for a render problem.

Event indices are output positions ``k`` (``0 .. job.n_frames-1``); the cache index of output
frame ``k`` is the driving frame index ``job.frames[k]`` and its key is :func:`cache_key`.
Nothing here imports Qt or torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from studio.core.backend import Backend
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress, RenderEvent, StepPreview
from studio.core.frame_cache import FrameCache, FrameState
from studio.core.jobs import RenderJob
from studio.core.render_store import RenderStore, ResumeStore, frame_filename

#: Frames read back from disk are announced in chunks of this many (bounded memory).
RESUME_CHUNK = 16


def cache_key(job: RenderJob, backend: Backend, k: int) -> str:
    """The :class:`FrameCache` key of output frame ``k`` (stored at index ``job.frames[k]``):
    the per-frame fingerprint for backends whose frames are independent, else the job's."""
    if backend.capabilities.independent_frames:
        return job.frame_fingerprint(k)
    return job.fingerprint()


def cache_keys(job: RenderJob, backend: Backend) -> list[str]:
    """:func:`cache_key` for every output frame, computed once."""
    if backend.capabilities.independent_frames:
        return [job.frame_fingerprint(k) for k in range(job.n_frames)]
    return [job.fingerprint()] * job.n_frames


def open_store(job: RenderJob, backend: Backend, keys: Sequence[str] | None = None) -> RenderStore | None:
    """The :class:`RenderStore` of ``job.output_dir`` (``None`` when the job has no folder)."""
    if job.output_dir is None:
        return None
    s = job.settings
    info = {
        "backend": backend.name,
        "width": s.width,
        "height": s.height,
        "settings": s.model_dump(mode="json"),
    }
    return RenderStore(
        Path(job.output_dir), job.fingerprint(), job.frames,
        list(keys) if keys is not None else cache_keys(job, backend), info,
    )


def _unexpected(backend: Backend, exc: BaseException) -> StudioError:
    return StudioError(
        "Render failed",
        f"The {backend.name} renderer stopped with an unexpected error ({type(exc).__name__}: {exc}). "
        "Finished frames are kept; try again, or report the details.",
        "".join(traceback.format_exception(exc)),
    )


def _check_person(job: RenderJob) -> None:
    """Refuse a job none of whose driving frames shows a person (nothing to follow)."""
    if job.pose.has_person()[list(job.frames)].any():
        return
    source = f"the driving video {Path(job.driving_video).name}" if job.driving_video is not None else "the pose track"
    raise StudioError(
        "No person in the driving motion",
        f"No person was found in {source} on any of the {job.n_frames} frames to render "
        f"({job.frames[0]} to {job.frames[-1]}). Choose a video where one person is clearly visible, "
        "or a frame range in which they are.",
    )


class _Run:
    """State of one :func:`run_job` call (done set, cache and disk writes)."""

    def __init__(self, job: RenderJob, backend: Backend, cache: FrameCache | None) -> None:
        self.job = job
        self.backend = backend
        self.cache = cache
        self.keys = cache_keys(job, backend)
        self.done: set[int] = set()
        self.store: RenderStore | None = None

    def check_frames(self, frames: np.ndarray, n: int, what: str) -> np.ndarray:
        a = np.asarray(frames)
        if a.dtype != np.uint8 or a.ndim != 4 or a.shape[0] != n or a.shape[3] != 3:
            raise StudioError(
                "Render failed",
                f"The {self.backend.name} renderer produced {what} of shape {a.shape} ({a.dtype}); "
                f"expected ({n}, H, W, 3) uint8. This is a bug in the renderer.",
            )
        return a

    def finish(self, positions: Sequence[int], frames: np.ndarray, write: bool = True) -> None:
        if write and self.store is not None:
            self.store.write(positions, frames)
        if self.cache is not None:
            for k, f in zip(positions, frames):
                self.cache.put(self.keys[k], self.job.frames[k], f, final=True)
        self.done.update(positions)

    def preview(self, positions: Sequence[int], frames: np.ndarray) -> None:
        if self.cache is not None:
            for k, f in zip(positions, frames):
                if k not in self.done:
                    self.cache.put(self.keys[k], self.job.frames[k], f, final=False)

    def reuse(self) -> Iterator[FramesReady]:
        """Frames already finished on disk or in the cache, as FramesReady chunks."""
        if self.store is not None:
            on_disk = self.store.done_positions()
            for i in range(0, len(on_disk), RESUME_CHUNK):
                chunk, frames = [], []
                for k in on_disk[i : i + RESUME_CHUNK]:
                    img = self.store.read(k)
                    if img is not None:
                        chunk.append(k)
                        frames.append(img)
                if chunk:
                    arr = np.stack(frames)
                    self.finish(chunk, arr, write=False)
                    yield FramesReady(tuple(chunk), arr)
        if self.cache is not None:
            todo = [
                k for k in range(self.job.n_frames)
                if k not in self.done
                and self.cache.state(self.keys[k], self.job.frames[k]) == FrameState.FINAL
            ]
            for i in range(0, len(todo), RESUME_CHUNK):
                chunk, frames = [], []
                for k in todo[i : i + RESUME_CHUNK]:
                    img = self.cache.get(self.keys[k], self.job.frames[k])
                    if img is not None:
                        chunk.append(k)
                        frames.append(np.asarray(img))
                if chunk:
                    arr = np.stack(frames)
                    if self.store is not None:
                        self.store.write(chunk, arr)
                    self.done.update(chunk)
                    yield FramesReady(tuple(chunk), arr)


def run_job(
    job: RenderJob,
    backend: Backend,
    cache: FrameCache | None = None,
    cancel: CancelToken | None = None,
    *,
    resume: bool = True,
) -> Iterator[RenderEvent]:
    """Render ``job`` with ``backend``, yielding :class:`Progress`, :class:`StepPreview` and
    :class:`FramesReady` events and finally one of :class:`Finished`, :class:`Cancelled` or
    :class:`Failed`.

    Parameters
    ----------
    job: the frozen render inputs; ``job.output_dir`` (if set) receives the PNG sequence.
    backend: the renderer.
    cache: where finished frames (final) and step previews (not final) are stored.
    cancel: set it from any thread to stop within one denoising step or draft chunk; finished
        frames are kept.
    resume: reuse finished frames from ``job.output_dir`` and ``cache``; with ``False`` every
        frame of the job is rendered again and overwritten on disk (frames of the folder outside
        the job are never touched).
    """
    cancel = cancel if cancel is not None else CancelToken()
    t0 = time.monotonic()
    run = _Run(job, backend, cache)
    n = job.n_frames
    try:
        if n == 0:
            raise StudioError("Nothing to render", "The render job has no frames; choose a frame range.")
        _check_person(job)
        run.store = open_store(job, backend, run.keys)
        if run.store is not None and not resume:
            run.store.restart()
        if resume:
            yield from run.reuse()
        cancel.raise_if_cancelled()
        missing = [k for k in range(n) if k not in run.done]
        if missing:
            if backend.capabilities.independent_frames and len(missing) < n:
                sub = dataclasses.replace(job, frames=tuple(job.frames[k] for k in missing))
                position = missing
            else:
                sub, position = job, list(range(n))
            if backend.capabilities.resumable:  # it skips what the store holds (finished frames, latents)
                store = run.store.resume() if run.store is not None else ResumeStore.nothing()
                gen = backend.render(sub, cancel, store=store)
            else:
                gen = backend.render(sub, cancel)
            with contextlib.closing(gen):
                for ev in gen:
                    if isinstance(ev, FramesReady):
                        ks = [position[i] for i in ev.indices]
                        frames = run.check_frames(ev.frames, len(ks), "frames")
                        run.finish(ks, frames)
                        yield FramesReady(tuple(ks), frames)
                    elif isinstance(ev, StepPreview):
                        ks = [position[i] for i in ev.indices]
                        frames = run.check_frames(ev.frames, len(ks), "a preview")
                        run.preview(ks, frames)
                        yield StepPreview(tuple(ks), frames, ev.step)
                    elif isinstance(ev, Progress):
                        yield ev
                    elif isinstance(ev, Failed):
                        raise ev.error
                    elif isinstance(ev, Cancelled):
                        raise RenderCancelled()
                    # a backend's own Finished is ignored: completeness is checked below
        if len(run.done) < n:
            if cancel.cancelled:
                raise RenderCancelled()
            left = sorted(set(range(n)) - run.done)
            raise StudioError(
                "Render incomplete",
                f"The {backend.name} renderer stopped before producing {len(left)} of {n} frames "
                f"(first missing: output frame {left[0]}). Render again to fill them in.",
            )
    except RenderCancelled:
        yield Cancelled(tuple(sorted(run.done)))
        return
    except StudioError as err:
        yield Failed(err)
        return
    except Exception as exc:  # noqa: BLE001 - every failure reaches the user as a StudioError
        yield Failed(_unexpected(backend, exc))
        return
    yield Finished(n, time.monotonic() - t0)


def render_frames(job: RenderJob) -> list[Path]:
    """The PNG paths of ``job``'s output frames in ``job.output_dir``, in output order."""
    if job.output_dir is None:
        raise StudioError("No render folder", "The render job has no output folder to read frames from.")
    return [Path(job.output_dir) / frame_filename(i) for i in job.frames]
