"""What runs on a farm worker (a local helper process or a Ray actor): the same code for both.

A :class:`Worker` keeps its backends between jobs, so the X-Dyna pipeline is loaded once per
weights folder and the draft renderer's rig once per photo. It serves two kinds of work:

* :meth:`Worker.render`: a whole job; the backend's events (progress, previews, finished
  frames) are yielded back to the driver, which writes the render folder and the frame cache
  through :func:`studio.core.render.run_job`, exactly as a local render does. The worker never
  writes the render folder (it may not even see it: another machine of a Ray cluster).
* ``split_*``: one X-Dyna clip divided among several workers (see :mod:`studio.farm.split`):
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

#: Backend name -> a picklable callable that builds it (default: :func:`studio.backends.get_backend`).
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
        self._splits: dict[str, Any] = {}  # key -> studio.backends.xdyna.split.WorkerState

    def backend(self, name: str) -> Backend:
        """The worker's backend called ``name`` (built on first use, then kept)."""
        with self._lock:
            if name not in self._backends:
                factory = self.factories.get(name)
                if factory is not None:
                    self._backends[name] = factory()
                else:
                    from studio.backends import get_backend

                    self._backends[name] = get_backend(name)
            return self._backends[name]

    # -- whole jobs -----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the job running now (within one denoising step or draft chunk)."""
        self._cancel.cancel()

    def render(self, job: RenderJob) -> Iterator[RenderEvent]:
        """Render ``job`` with its backend; yields the backend's events, and a final
        :class:`Failed` or :class:`Cancelled` if it stops early (never raises)."""
        self._cancel = token = CancelToken()
        try:
            backend = self.backend(job.settings.backend)
            yield from backend.render(job, token)
        except RenderCancelled:
            yield Cancelled()
        except StudioError as err:
            yield Failed(err)
        except Exception as exc:  # noqa: BLE001 - sent to the driver, which reports it
            yield Failed(StudioError(
                "Render failed",
                f"The {job.settings.backend} renderer stopped on a farm worker with an unexpected error "
                f"({type(exc).__name__}: {exc}). Finished frames are kept; run the queue again.",
                "".join(traceback.format_exception(exc)),
            ))

    # -- one clip split across workers -----------------------------------------------------------
    def split_prepare(self, key: str, job: RenderJob) -> dict[str, Any]:
        """Prepare X-Dyna ``job`` under ``key`` (see :func:`studio.backends.xdyna.split.prepare_split`);
        returns what the driver needs (initial latents, window offsets, guidance, size)."""
        from studio.backends.xdyna.backend import XDynaBackend
        from studio.backends.xdyna.split import prepare_split

        backend = self.backend("xdyna")
        if not isinstance(backend, XDynaBackend):
            raise StudioError("Split render needs X-Dyna", "Only X-Dyna renders can be split across workers.")
        state, info = prepare_split(backend, job)
        self._splits = {key: state}  # one split render at a time per worker
        return info

    def _split(self, key: str) -> Any:
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
        latents ``x`` (see :func:`studio.backends.xdyna.split.predict_windows`)."""
        from studio.backends.xdyna.split import predict_windows

        return predict_windows(self._split(key), step_index, x, windows, mine)

    def split_decode(self, key: str, latents: np.ndarray) -> np.ndarray:
        """``(1, 4, F, h, w)`` final latents -> ``(F, H, W, 3)`` uint8 frames (VAE)."""
        from studio.backends.xdyna.split import decode_latents

        return decode_latents(self._split(key), latents)

    def split_end(self, key: str) -> None:
        """Forget split render ``key``."""
        self._splits.pop(key, None)
