"""Renders on one long-lived worker thread that owns the loaded backends (and so the X-Dyna
pipeline): two renders never overlap, and weights load once.

The worker iterates :func:`studio.core.render.run_job` and re-emits its events as Qt signals that
carry numpy arrays (never tensors). ``run_job`` writes frames into the document's
:class:`FrameCache` from the worker thread; the document relays the cache's ``changed`` signal to
the GUI thread. Cancel sets the job's :class:`CancelToken` directly from the GUI thread, so it is
seen at the next denoising step or draft chunk.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from studio.core.backend import Backend
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress, StepPreview
from studio.core.frame_cache import FrameCache
from studio.core.jobs import RenderJob
from studio.core import registry
from studio.core.registry import create_backend as get_backend
from studio.gui.errors import as_studio_error
from studio.gui.helper_task import helpers_allowed
from studio.gui.process_backend import ProcessBackend, prepare_backend

log = logging.getLogger("studio.gui")

Runner = Callable[..., Any]  # run_job-compatible


@dataclass
class _Request:
    job: RenderJob
    backend: str
    cancel: CancelToken
    cache: FrameCache | None
    resume: bool


#: How much lower than the GUI the render thread runs (Linux nice increment): the GUI thread then
#: wins the CPU whenever both want it, so scrubbing stays smooth on machines with few cores.
WORKER_NICE = 10


def lower_thread_priority() -> None:
    """Run the calling thread (and threads it starts, e.g. torch's pool) below the GUI thread."""
    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)
            return
        except OSError:
            pass
    QThread.currentThread().setPriority(QThread.Priority.LowPriority)


def worker_backend(name: str) -> Backend:
    """The backend the render worker drives for ``name``: a :class:`ProcessBackend`, whose
    helper process holds the real renderer, so that renderer's Python work never competes with
    the GUI thread for the GIL (see :mod:`studio.gui.process_backend`). With
    ``STUDIO_RENDER_IN_THREAD=1`` and in frozen builds (see
    :func:`~studio.gui.helper_task.helpers_allowed`) the renderer runs on the worker thread itself."""
    return ProcessBackend(name) if helpers_allowed() else get_backend(name)


class _Worker(QObject):
    """Lives on the render thread; holds the backends it has created."""

    progress = Signal(int, int, str, str)
    preview = Signal(object, object, int)
    frames = Signal(object, object)
    finished = Signal(int, float)
    cancelled = Signal(object)
    failed = Signal(object)
    ended = Signal()
    preparing = Signal(str)
    prepared = Signal(str, str)

    def __init__(self, factory: Callable[[str], Backend], runner: Runner | None) -> None:
        super().__init__()
        self._factory = factory
        self._runner = runner
        self.backends: dict[str, Backend] = {}

    @Slot()
    def prepare(self) -> None:  # render thread, once
        lower_thread_priority()

    def backend(self, name: str) -> Backend:
        """The backend called ``name``, created on first use and kept (with its loaded weights)."""
        b = self.backends.get(name)
        if b is None:
            b = self.backends[name] = self._factory(name)
        return b

    @Slot(str)
    def preload(self, name: str) -> None:  # render thread
        """Import (and where cheap, load) backend ``name`` ahead of the first render: importing
        big extension modules holds the GIL for tens of milliseconds at a time, which would
        otherwise stall the GUI during that render."""
        try:
            b = self.backend(name)
        except Exception as exc:  # noqa: BLE001 - the render itself reports problems
            log.info("preloading the %s renderer failed: %s", name, exc)
            return
        if isinstance(b, ProcessBackend):
            try:
                b.load()  # start the helper process now
            except Exception as err:  # noqa: BLE001 - any failure: render on this thread instead
                log.warning("helper process for the %s renderer failed (%s); rendering on the worker "
                            "thread instead", name, err)
                b.close()
                self.backends[name] = get_backend(name)
        else:  # the backend's module; torch & co. are imported by the first prepare or render
            try:
                registry.get_spec(name).backend_class()
            except Exception as exc:  # noqa: BLE001 - the render itself reports problems
                log.info("preloading the %s renderer's module failed: %s", name, exc)

    def close(self) -> None:
        """Stop helper processes (after the thread has finished)."""
        for b in self.backends.values():
            close = getattr(b, "close", None)
            if isinstance(b, ProcessBackend) and close is not None:
                close()

    @Slot(object)
    def prepare_job(self, job: RenderJob) -> None:  # render thread
        """Build what the backend keeps between renders before the user presses Render: the
        draft renderer's rig (person segmentation and part layers) or the X-Dyna pipeline."""
        name = job.settings.backend
        self.preparing.emit(name)
        try:
            b = self.backend(name)
            if isinstance(b, ProcessBackend):
                b.prepare(job)
            else:
                prepare_backend(b, job)
        except Exception as exc:  # noqa: BLE001 - the render itself reports problems
            log.info("preparing the %s renderer failed: %s", name, exc)
            self.prepared.emit(name, str(getattr(exc, "description", exc)))
            return
        self.prepared.emit(name, "")

    @Slot(object)
    def run(self, req: _Request) -> None:  # render thread
        try:
            backend = self.backend(req.backend)
            runner = self._runner
            if runner is None:
                from studio.core.render import run_job as runner
            for ev in runner(req.job, backend, req.cache, req.cancel, resume=req.resume):
                if isinstance(ev, FramesReady):
                    self.frames.emit(tuple(ev.indices), np.asarray(ev.frames))
                elif isinstance(ev, StepPreview):
                    self.preview.emit(tuple(ev.indices), np.asarray(ev.frames), int(ev.step))
                elif isinstance(ev, Progress):
                    self.progress.emit(int(ev.step), int(ev.total), str(ev.phase), str(ev.message))
                elif isinstance(ev, Finished):
                    self.finished.emit(int(ev.n_frames), float(ev.seconds))
                elif isinstance(ev, Cancelled):
                    self.cancelled.emit(tuple(ev.done))
                elif isinstance(ev, Failed):
                    self.failed.emit(ev.error)
        except BaseException as exc:  # noqa: BLE001 - reaches the user as a dialog
            log.error("render worker failed", exc_info=exc)
            self.failed.emit(as_studio_error(exc))
        finally:
            self.ended.emit()


class RenderController(QObject):
    """Starts and cancels renders of a :class:`~studio.gui.document.Document`.

    Signals (GUI thread)
    -------
    started(object): a :class:`RenderJob` started.
    progress(int, int, str, str): step, total, phase, message.
    eta(float): seconds left (negative when unknown).
    step_preview(object, object, int): timeline indices, ``(n, H, W, 3)`` uint8 frames, step.
    frames_ready(object, object): timeline indices, ``(n, H, W, 3)`` uint8 final frames.
    finished(int, float): frames, seconds.
    cancelled(object): timeline indices that are final and kept.
    failed(object): a :class:`StudioError`.
    busy_changed(bool): a render started (True) or ended (False); always last.
    preparing(str): the worker started preparing this renderer (loading weights, rig).
    prepared(str, str): it finished; the second value is a problem description or "".
    """

    started = Signal(object)
    progress = Signal(int, int, str, str)
    eta = Signal(float)
    step_preview = Signal(object, object, int)
    frames_ready = Signal(object, object)
    finished = Signal(int, float)
    cancelled = Signal(object)
    failed = Signal(object)
    busy_changed = Signal(bool)
    preparing = Signal(str)
    prepared = Signal(str, str)
    _submit = Signal(object)
    _preload = Signal(str)
    _prepare = Signal(object)

    def __init__(
        self,
        document: Any,
        factory: Callable[[str], Backend] | None = None,
        runner: Runner | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.doc = document
        self._thread = QThread()
        self._thread.setObjectName("studio-render")
        self._worker = _Worker(factory or worker_backend, runner)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._preload.connect(self._worker.preload)
        self._prepare.connect(self._worker.prepare_job)
        self._thread.started.connect(self._worker.prepare)
        self._worker.progress.connect(self._on_progress)
        self._worker.preview.connect(self._on_preview)
        self._worker.frames.connect(self._on_frames)
        self._worker.finished.connect(self.finished)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.failed.connect(self.failed)
        self._worker.ended.connect(self._on_ended)
        self._worker.preparing.connect(self.preparing)
        self._worker.prepared.connect(self.prepared)
        self._thread.start()
        self._job: RenderJob | None = None
        self._keys: list[str] = []
        self._cancel: CancelToken | None = None
        self._t0 = 0.0
        self._phase = ("", 0.0, 0)

    @property
    def busy(self) -> bool:
        """Whether a render is running."""
        return self._job is not None

    @property
    def job(self) -> RenderJob | None:
        """The running job."""
        return self._job

    def start(self, job: RenderJob | None = None, resume: bool = True) -> RenderJob:
        """Start rendering ``job`` (default: the document's in/out range into its render folder).
        Raises :class:`StudioError` when a render is running or nothing can be rendered."""
        if self._job is not None:
            raise StudioError("Already rendering", "Wait for the current render to finish, or cancel it.")
        if job is None:
            job = self.doc.make_job(output_dir=self.doc.project.default_render_dir())
        self._job = job
        self._keys = list(self.doc.frame_keys() or [])  # what this job's frames are keyed under
        self._cancel = CancelToken()
        self._t0 = time.monotonic()
        self._phase = ("", self._t0, 0)
        self.doc.set_inflight(set(job.frames))
        self.busy_changed.emit(True)
        self.started.emit(job)
        self._submit.emit(_Request(job, job.settings.backend, self._cancel, self.doc.cache, resume))
        return job

    def preload(self, backend: str) -> None:
        """Import the ``backend`` renderer on the worker thread now, while the user is busy
        choosing files, instead of at the first render."""
        self._preload.emit(backend)

    def prepare(self, job: RenderJob) -> None:
        """Let the worker build the backend's per-reference state for ``job`` now (queued behind
        any running render)."""
        self._prepare.emit(job)

    def cancel(self) -> None:
        """Stop the running render at its next step (finished frames are kept)."""
        if self._cancel is not None:
            self._cancel.cancel()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel any render and stop the worker thread (the window calls this on close)."""
        self.cancel()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            log.warning("render thread did not stop within %d ms", timeout_ms)
            return
        self._worker.close()

    # -- worker events (GUI thread) ---------------------------------------------------------------
    def _indices(self, positions: tuple[int, ...]) -> list[int]:
        assert self._job is not None
        return [self._job.frames[k] for k in positions]

    def _on_progress(self, step: int, total: int, phase: str, message: str) -> None:
        now = time.monotonic()
        if phase != self._phase[0]:
            self._phase = (phase, now, step)
        self.progress.emit(step, total, phase, message)
        _, t_start, s_start = self._phase
        done = step - s_start
        self.eta.emit((now - t_start) / done * (total - step) if done > 0 and total >= step else -1.0)

    def _on_preview(self, positions: tuple[int, ...], frames: np.ndarray, step: int) -> None:
        if self._job is None:
            return
        idx = self._indices(positions)
        self.doc.note_rendered({i: self._keys[i] for i in idx if i < len(self._keys)})
        self.step_preview.emit(idx, frames, step)

    def _on_frames(self, positions: tuple[int, ...], frames: np.ndarray) -> None:
        if self._job is None:
            return
        idx = self._indices(positions)
        self.doc.note_rendered({i: self._keys[i] for i in idx if i < len(self._keys)})
        self.doc.set_inflight(self.doc.inflight - set(idx))
        self.frames_ready.emit(idx, frames)

    def _on_cancelled(self, positions: tuple[int, ...]) -> None:
        self.cancelled.emit(self._indices(positions) if self._job is not None else [])

    def _on_ended(self) -> None:
        self._job = None
        self._cancel = None
        self.doc.set_inflight(set())
        self.busy_changed.emit(False)
