"""Runs a renderer in a helper process, driven from the render worker thread.

Renderers written in Python hold the GIL for tens to hundreds of milliseconds at a time: the
draft renderer's numpy/OpenCV/MediaPipe work, and X-Dyna's module calls between (small) torch
kernels, its torch import and its weight loading. On the render *thread* that froze the GUI
thread, which needs the GIL to paint (measured with bench/gui_latency.py). A
:class:`ProcessBackend` keeps the real backend -- with its loaded pipeline or rig -- alive in one
helper process and forwards its events, so the worker thread only waits on a pipe (GIL
released). A crash in the helper (out of memory, a driver fault) fails the render, not the app.
The helper is a :class:`~studio.farm.helper_process.HelperProcess`, the host the farm's local
executor uses too.

Nothing here imports Qt (the helper process must start quickly).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

from studio.core.backend import Backend, Capabilities
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import FramesReady, RenderEvent
from studio.core.phases import mark
from studio.core.jobs import RenderJob
from studio.core.render_store import ResumeStore
from studio.farm.helper_process import HelperProcess, Send

log = logging.getLogger("studio.gui")

#: Seconds to wait for the helper to start and prepare (imports, segmentation model).
START_TIMEOUT = 120.0
POLL = 0.05
#: Niceness added to the helper process (Unix): renders yield the CPU to the window.
HELPER_NICE = 10


def prepare_backend(backend: Any, job: RenderJob) -> None:
    """Build what ``backend`` keeps between renders of ``job``'s inputs, through the backend's
    optional ``prepare(job)`` (the draft renderer's rig; a diffusion backend's pipeline, placed as
    the job's device, precision and memory options say). A backend without one is left alone."""
    prepare = getattr(backend, "prepare", None)
    if prepare is not None:
        prepare(job)


class _BackendCommands:
    """The helper's handler (:mod:`studio.farm.helper_process`) for backend ``name``:
    ``render`` forwards the backend's events, ``prepare`` runs :func:`prepare_backend`; each
    ends with ``("done",)``, or ``("error", StudioError)``."""

    def __init__(self, name: str, factory: Any, args: tuple) -> None:
        from studio.core.registry import create_backend as get_backend

        self.name = name
        self.backend = factory(*args) if factory is not None else get_backend(name)

    def __call__(self, kind: str, payload: tuple, cancel: CancelToken, send: Send) -> None:
        job, store = payload
        try:
            if kind == "prepare":
                prepare_backend(self.backend, job)
                mark("renderer prepared in its helper")
            else:
                resume = {"store": store} if store is not None else {}  # a resumable backend's
                first = True
                for ev in self.backend.render(job, cancel, **resume):
                    if first and isinstance(ev, FramesReady):
                        mark("first frames rendered")
                        first = False
                    send(("event", ev))
            send(("done",))
        except RenderCancelled:
            send(("done",))
        except StudioError as err:
            send(("error", err))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which reports it
            import traceback

            send(("error", StudioError(
                "Render failed",
                f"The {self.name} renderer stopped with an unexpected error ({type(exc).__name__}: {exc}).",
                "".join(traceback.format_exception(exc)),
            )))


def _plain(job: RenderJob) -> RenderJob:
    """A copy of ``job`` without per-instance memos (which cannot be pickled)."""
    return dataclasses.replace(job) if vars(job).keys() - {f.name for f in dataclasses.fields(job)} else job


class ProcessBackend:
    """A :class:`Backend` whose work happens in a long-lived helper process.

    ``factory(*args)`` builds the real backend in the helper (a module-level callable, so it can
    be pickled); by default :func:`studio.core.registry.create_backend` of ``name``.
    """

    def __init__(self, name: str, factory: Any = None, args: tuple = ()) -> None:
        from studio.core.registry import create_backend as get_backend

        self.name = name
        self._factory, self._args = factory, tuple(args)
        self._local: Backend = get_backend(name)  # capabilities and availability (no torch import)
        self._proc: HelperProcess | None = None

    @property
    def capabilities(self) -> Capabilities:
        """The wrapped backend's capabilities."""
        return self._local.capabilities

    def available(self) -> tuple[bool, str]:
        """The wrapped backend's availability."""
        return self._local.available()

    # -- process management --------------------------------------------------------------------
    def _ensure(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        self._proc = HelperProcess(
            _BackendCommands, (self.name, self._factory, self._args), name=f"studio-{self.name}",
            start_timeout=START_TIMEOUT, nice=HELPER_NICE,  # the interactive window wins the CPU
            not_started=StudioError(
                f"The {self.name} renderer did not start",
                "Its helper process did not answer. Restart the studio; if it keeps happening, "
                "run `studio doctor`.",
            ),
        )

    def _wait_for(self, kind: str, timeout: float | None) -> bool:
        """Wait for a ``kind`` message (``None``: as long as the helper lives)."""
        waited = 0.0
        while timeout is None or waited < timeout:
            if self._proc.poll(POLL):
                msg = self._proc.recv()
                if msg[0] == kind:
                    return True
                if msg[0] == "error":
                    raise msg[1]
            elif not self._proc.is_alive():
                return False
            waited += POLL
        return False

    def close(self) -> None:
        """Stop the helper process."""
        if self._proc is None:
            return
        self._proc.close(timeout=3)
        self._proc = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # -- backend protocol -------------------------------------------------------------------------
    def load(self) -> None:
        """Start the helper process (imports and models load there)."""
        self._ensure()

    def prepare(self, job: RenderJob) -> None:
        """Let the helper build its state for ``job`` (see :func:`prepare_backend`); blocks
        until done. Raises :class:`StudioError` when it fails."""
        self._ensure()
        self._proc.send(("prepare", (_plain(job), None)))
        if not self._wait_for("done", None):
            raise StudioError(f"The {self.name} renderer stopped", "Its helper process ended while preparing.")

    def render(self, job: RenderJob, cancel: CancelToken, store: ResumeStore | None = None) -> Iterator[RenderEvent]:
        """Render ``job`` in the helper; events are forwarded as they arrive. ``store`` (resumable
        backends) goes along: the helper resumes from the same render folder."""
        self._ensure()
        self._proc.send(("render", (_plain(job), store)))
        cancelled = False
        finished = False
        try:
            while True:
                if cancel.cancelled and not cancelled:
                    self._proc.cancel()
                    cancelled = True
                if not self._proc.poll(POLL):
                    if not self._proc.is_alive():
                        finished = True
                        raise StudioError(
                            "Render failed",
                            f"The {self.name} renderer's helper process stopped unexpectedly (exit code "
                            f"{self._proc.exitcode}). Finished frames are kept; render again.",
                        )
                    continue
                msg = self._proc.recv()
                if msg[0] == "event":
                    yield msg[1]
                elif msg[0] == "done":
                    finished = True
                    if cancelled:
                        raise RenderCancelled()
                    return
                elif msg[0] == "error":
                    finished = True
                    raise msg[1]
        finally:
            if not finished and self._proc is not None and self._proc.is_alive():
                # closed early (the caller stopped listening): stop the helper and drain
                self._proc.cancel()
                self._wait_for("done", 30.0)
