"""What runs on a farm worker (a local helper process or a Ray actor): the same code for both.

A :class:`Worker` keeps its backends between jobs, so the X-Dyna pipeline is loaded once per
weights folder and the draft renderer's rig once per photo. It serves two kinds of work:

* :meth:`Worker.render`: a whole job; the backend's events (progress, previews, finished
  frames) are yielded back to the driver, which writes the render folder and the frame cache
  through :func:`studio.core.render.run_job`, exactly as a local render does. The worker never
  writes the render folder (it may not even see it: another machine of a Ray cluster).
* ``split_*``: one clip divided among several workers, for backends with a split render (see :mod:`studio.farm.split`):
  :meth:`split_prepare` builds the render's state from the job (every worker computes the same
  initial latents from the seed), :meth:`split_predict` returns the noise predictions of some of
  a step's windows, :meth:`split_decode` VAE-decodes final latents. Only latents and predictions
  cross the wire, never weights.

Render problems become :class:`~studio.core.events.Failed` / :class:`~studio.core.events.Cancelled`
events, so they reach the driver as values rather than transport errors.
"""

from __future__ import annotations

import dataclasses
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from studio.core.backend import Backend
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import Cancelled, Failed, RenderEvent
from studio.core.jobs import RenderJob

#: Backend name -> a picklable callable that builds it (default: :func:`studio.core.registry.create_backend`).
BackendFactories = dict[str, Callable[[], Backend]]


def for_worker(job: RenderJob) -> RenderJob:
    """The copy of ``job`` sent to a worker: no render folder (the driver owns it) and no
    per-instance memos (which do not pickle)."""
    return dataclasses.replace(job, output_dir=None)


class Worker:
    """A farm worker's state: backends kept across jobs, the running job's cancel token."""

    def __init__(self, factories: BackendFactories | None = None) -> None:
        self.factories = dict(factories or {})
        self._backends: dict[str, Backend] = {}
        self._cancel = CancelToken()
        self._lock = threading.Lock()
        self._splits: dict[str, tuple[Any, Any]] = {}  # key -> (the backend's SplitRender, its state)

    def backend(self, name: str) -> Backend:
        """The worker's backend called ``name`` (built on first use, then kept)."""
        with self._lock:
            if name not in self._backends:
                factory = self.factories.get(name)
                if factory is not None:
                    self._backends[name] = factory()
                else:
                    from studio.core.registry import create_backend as get_backend

                    self._backends[name] = get_backend(name)
            return self._backends[name]

    # -- whole jobs -----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the job running now (within one denoising step or draft chunk)."""
        self._cancel.cancel()

    def render(self, job: RenderJob, cancel: CancelToken | None = None) -> Iterator[RenderEvent]:
        """Render ``job`` with its backend; yields the backend's events, and a final
        :class:`Failed` or :class:`Cancelled` if it stops early (never raises). ``cancel``: the
        job's token (a new one by default); :meth:`cancel` sets it too."""
        self._cancel = token = cancel if cancel is not None else CancelToken()
        try:
            backend = self.backend(job.backend)
            yield from backend.render(job, token)
        except RenderCancelled:
            yield Cancelled()
        except StudioError as err:
            yield Failed(err)
        except Exception as exc:  # noqa: BLE001 - sent to the driver, which reports it
            yield Failed(StudioError(
                "Render failed",
                f"The {job.backend} renderer stopped on a farm worker with an unexpected error "
                f"({type(exc).__name__}: {exc}). Finished frames are kept; run the queue again.",
                "".join(traceback.format_exception(exc)),
            ))

    # -- one clip split across workers -----------------------------------------------------------
    def split_prepare(self, key: str, job: RenderJob) -> dict[str, Any]:
        """Prepare ``job`` under ``key`` with its backend's split render
        (:meth:`~studio.core.backend.SplitRender.prepare`); returns what the driver needs
        (initial latents, window offsets, guidance, size)."""
        from studio.core import registry

        split = registry.get_spec(job.backend).split_render()
        if split is None:
            raise StudioError("This renderer cannot split a clip",
                              f"The {job.backend} renderer renders a clip on one worker only; queue it without --split.")
        state, info = split.prepare(self.backend(job.backend), job)
        self._splits = {key: (split, state)}  # one split render at a time per worker
        return info

    def _split(self, key: str) -> tuple[Any, Any]:
        if key not in self._splits:
            raise StudioError(
                "Split render lost its worker state",
                "A farm worker was asked for a split render it did not prepare (it was restarted). "
                "Run the queue again; the job resumes.",
            )
        return self._splits[key]

    def split_predict(self, key: str, step_index: int, x: np.ndarray, windows: list[list[int]],
                      mine: list[int]) -> list[np.ndarray]:
        """Noise predictions of the step's windows ``mine`` (indices into ``windows``) for the clip
        latents ``x`` (:meth:`~studio.core.backend.SplitRender.predict`)."""
        split, state = self._split(key)
        return split.predict(state, step_index, x, windows, mine)

    def split_decode(self, key: str, latents: np.ndarray) -> np.ndarray:
        """Final latents -> ``(F, H, W, 3)`` uint8 frames."""
        split, state = self._split(key)
        return split.decode(state, latents)

    def split_end(self, key: str) -> None:
        """Forget split render ``key``."""
        self._splits.pop(key, None)
