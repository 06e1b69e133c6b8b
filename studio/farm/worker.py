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


@dataclasses.dataclass
class _Split:
    """One split render's state on this worker."""

    prepared: Any  # studio.backends.xdyna.pipeline.PreparedRender
    pipe: Any


class Worker:
    """A farm worker's state: backends kept across jobs, the running job's cancel token."""

    def __init__(self, factories: BackendFactories | None = None) -> None:
        self.factories = dict(factories or {})
        self._backends: dict[str, Backend] = {}
        self._cancel = CancelToken()
        self._lock = threading.Lock()
        self._splits: dict[str, _Split] = {}

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
        """Build the render state of X-Dyna ``job`` under ``key``; returns what the driver needs:
        the initial latents ``(1, 4, N + 1, h, w)`` (frame 0 = reference), the per-step window
        offsets, the guidance scale and the output size."""
        from studio.backends.xdyna.backend import XDynaBackend, plan_for

        backend = self.backend("xdyna")
        if not isinstance(backend, XDynaBackend):
            raise StudioError("Split render needs X-Dyna", "Only X-Dyna renders can be split across workers.")
        s = job.settings
        weights = backend._weights_for(job)
        pipe = backend.pipeline(weights, s.device, s.dtype)
        plan = plan_for(job)
        call = backend.pipeline_call(job, plan, backend.uses_face(job, pipe, weights))
        prepared = pipe.prepare(**call)
        self._splits = {key: _Split(prepared, pipe)}  # one split render at a time per worker
        return {
            "latents": prepared.latents.float().cpu().numpy(),
            "offsets": [int(o) for o in prepared.draws.window_offsets],
            "guidance": float(prepared.denoiser.guidance_scale),
            "halves": int(prepared.denoiser.halves),
            "size": (int(call["pose"].shape[1]), int(call["pose"].shape[2])),
        }

    def _split(self, key: str) -> _Split:
        if key not in self._splits:
            raise StudioError(
                "Split render lost its worker state",
                "A farm worker was asked for a split render it did not prepare (it was restarted). "
                "Run the queue again; the job resumes.",
            )
        return self._splits[key]

    def split_predict(self, key: str, step_index: int, x: np.ndarray, windows: list[list[int]],
                      mine: list[int]) -> list[np.ndarray]:
        """Noise predictions ``(H, 4, 1 + F, h, w)`` float32 of the step's windows ``mine``
        (indices into all the step's ``windows``) at step ``step_index``, for the clip latents
        ``x`` (1, 4, N, h, w) the driver sent (``H``: the CFG halves that run).

        ControlNet residuals are computed in the batches a single-process render uses (each
        frame with the first window of the step that needs it): frames shared with earlier
        windows of other workers are computed here in those windows' batches, so every
        prediction is bit-identical to the single-process one."""
        import torch

        sp = self._split(key)
        den, latents = sp.prepared.denoiser, sp.prepared.latents
        t = den.schedule.timesteps(sp.prepared.steps)[step_index]
        xt = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(latents.device)
        ref = latents[:, :, 0]
        needed = {f for i in mine for f in windows[i]}
        with torch.no_grad():
            res = den.residuals(xt, t, windows)
            if den.branches and den.reuse_residuals:
                seen: set[int] = set()
                for i, frames in enumerate(windows[: max(mine) + 1]):
                    batch = [f for f in frames if f not in seen]
                    seen.update(frames)
                    if i not in mine and needed.intersection(batch):
                        res.fill(batch)
            out = []
            for i in sorted(mine):
                frames = windows[i]
                current = xt.index_select(2, den.index(frames, xt.device))
                out.append(den.predict(ref, current, t, res, frames).cpu().numpy())
            return out

    def split_decode(self, key: str, latents: np.ndarray) -> np.ndarray:
        """``(1, 4, F, h, w)`` final latents -> ``(F, H, W, 3)`` uint8 frames (VAE)."""
        import torch

        from studio.backends.xdyna.preview import to_uint8

        sp = self._split(key)
        with torch.no_grad():
            return to_uint8(sp.pipe.decode(torch.from_numpy(np.ascontiguousarray(latents, np.float32))))

    def split_end(self, key: str) -> None:
        """Forget split render ``key``."""
        self._splits.pop(key, None)
