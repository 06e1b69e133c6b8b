"""Runs queued jobs on an executor: the loop behind ``studio queue run``.

For each job it takes a worker from the executor and calls :func:`studio.core.render.run_job`
with the worker's :class:`~studio.farm.executor.RemoteBackend`, on a thread of this (driver)
process, so the render folder, its manifest and resume work as for a local render. Progress goes
into the queue file (the GUI's Queue dock and ``studio queue list`` read it there); a cancel
asked for in the file reaches the job within one step. When a job finishes and its output is a
video or GIF, the frames are exported to it.

Outcomes: ``Finished`` -> done; ``Cancelled`` -> cancelled (or back to queued when the runner
itself is stopping); ``Failed`` with :class:`~studio.farm.executor.WorkerLost` -> requeued and
resumed later from its finished frames; any other ``Failed`` -> failed with the error's words.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress, RenderEvent
from studio.core.jobs import RenderJob
from studio.core.render import run_job
from studio.farm.executor import Executor, WorkerLost
from studio.farm.queue import QueueEntry, RenderQueue

log = logging.getLogger("studio.farm")

#: Seconds between progress writes to the queue file for Progress events.
PROGRESS_EVERY = 0.5

#: ``on_event(entry, event)``: every event of every job, on the job's thread.
EventHook = Callable[[QueueEntry, RenderEvent], None]


@dataclass
class RunSummary:
    """What one :meth:`QueueRunner.run` did, by job id."""

    done: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)


def export_result(job: RenderJob, output: Path, fps: float, cancel: CancelToken) -> Path | None:
    """Export a finished job's frames to ``output`` when it is a video, GIF or another folder than
    the render folder; returns the written path, or ``None`` when the frames are the result."""
    from studio.core.files import read_png
    from studio.core.render import render_frames
    from studio.media.exporters import export_frames, is_sequence_target

    output = Path(output)
    if is_sequence_target(output) and job.output_dir is not None and \
            output.resolve() == Path(job.output_dir).resolve():
        return None

    def frames():
        for path in render_frames(job):
            img = read_png(path)
            if img is None:
                raise StudioError("Missing frame", f"{path} cannot be read; run the queue job again.")
            yield img

    return export_frames(frames(), fps, output, cancel=cancel, frame_count=job.n_frames)


class QueueRunner:
    """Runs the jobs of ``queue`` on ``executor`` (see the module docstring)."""

    def __init__(self, queue: RenderQueue, executor: Executor, *, on_event: EventHook | None = None,
                 poll: float = 0.25) -> None:
        self.queue = queue
        self.executor = executor
        self.on_event = on_event
        self.poll = poll
        self.stop_event = threading.Event()
        self._threads: dict[int, threading.Thread] = {}
        self._tokens: dict[int, CancelToken] = {}
        self._dirs: dict[int, str] = {}  # running job -> its render folder
        self._lock = threading.Lock()
        self.summary = RunSummary()

    def stop(self) -> None:
        """Stop starting jobs and cancel the running ones (they go back to the queue)."""
        self.stop_event.set()
        with self._lock:
            for token in self._tokens.values():
                token.cancel()

    def run(self, wait: bool = False) -> RunSummary:
        """Run queued jobs until none is left (``wait=False``) or until :meth:`stop`."""
        self.summary.recovered = self.queue.recover()
        while True:
            self._reap()
            if self.stop_event.is_set():
                break
            started = self._start_next()
            if started:
                continue
            with self._lock:
                idle = not self._threads
            if idle and not wait and self.queue.next_queued() is None:
                break
            self.stop_event.wait(self.poll)
        for t in list(self._threads.values()):
            t.join()
        self._reap()
        return self.summary

    # -- scheduling -------------------------------------------------------------------------------
    def _reap(self) -> None:
        with self._lock:
            for job_id in [i for i, t in self._threads.items() if not t.is_alive()]:
                self._threads.pop(job_id)
                self._tokens.pop(job_id, None)
                self._dirs.pop(job_id, None)

    def _start_next(self) -> bool:
        """Start the first queued job if a worker for it is free (strict queue order)."""
        entry = self.queue.next_queued()
        if entry is None:
            return False
        with self._lock:
            busy_dirs = set(self._dirs.values())
        if entry.render_dir in busy_dirs:  # two jobs never write one render folder at once
            return False
        lease = None
        if entry.split and self.executor.can_split(entry.backend):
            lease = self.executor.acquire_split(entry.backend)
        else:  # not split, or this executor has fewer than two workers for it: one worker renders it
            lease = self.executor.acquire(entry.backend)
        if lease is None:
            return False
        claimed = self.queue.claim(entry.id)
        if claimed is None:  # cancelled or taken meanwhile
            lease.release()
            return True
        token = CancelToken()
        thread = threading.Thread(target=self._run_one, args=(claimed, lease, token),
                                  name=f"studio-queue-job-{claimed.id}", daemon=True)
        with self._lock:
            self._threads[claimed.id] = thread
            self._tokens[claimed.id] = token
            self._dirs[claimed.id] = claimed.render_dir
        thread.start()
        return True

    # -- one job ----------------------------------------------------------------------------------
    def _run_one(self, entry: QueueEntry, lease: Any, token: CancelToken) -> None:
        q = self.queue
        try:
            try:
                job = q.job(entry.id)
            except StudioError as err:
                q.finish(entry.id, "failed", f"{err.title}: {err.description}")
                self.summary.failed.append(entry.id)
                return
            if self.stop_event.is_set():
                token.cancel()
            done: set[int] = set()
            last_write = 0.0
            final: RenderEvent | None = None
            for ev in run_job(job, lease.backend, None, token, resume=True):
                if self.on_event is not None:
                    self.on_event(entry, ev)
                if isinstance(ev, FramesReady):
                    done.update(ev.indices)
                    if q.progress(entry.id, len(done), f"{len(done)}/{job.n_frames} frames"):
                        token.cancel()
                    last_write = time.monotonic()
                elif isinstance(ev, Progress) and time.monotonic() - last_write > PROGRESS_EVERY:
                    if q.progress(entry.id, len(done), f"{ev.phase} {ev.step}/{ev.total}"):
                        token.cancel()
                    last_write = time.monotonic()
                elif isinstance(ev, (Finished, Cancelled, Failed)):
                    final = ev
            self._record(entry, job, final, len(done), token)
        except StudioError as err:
            q.finish(entry.id, "failed", f"{err.title}: {err.description}")
            self.summary.failed.append(entry.id)
        except Exception as exc:  # noqa: BLE001 - a runner bug must not leave the job 'running'
            log.exception("queue job %s", entry.id)
            q.finish(entry.id, "failed", f"Unexpected error: {type(exc).__name__}: {exc}")
            self.summary.failed.append(entry.id)
        finally:
            lease.release()

    def _record(self, entry: QueueEntry, job: RenderJob, final: RenderEvent | None, n_done: int,
                token: CancelToken) -> None:
        q = self.queue
        if isinstance(final, Finished):
            written = export_result(job, Path(entry.output), entry.fps, token)
            where = written if written is not None else job.output_dir
            q.finish(entry.id, "done", f"{job.n_frames} frames in {final.seconds:.1f} s -> {where}", job.n_frames)
            self.summary.done.append(entry.id)
        elif isinstance(final, Failed) and isinstance(final.error, WorkerLost):
            if q.requeue(entry.id, f"requeued: {final.error.title} ({n_done} frames kept)"):
                self.summary.requeued.append(entry.id)
            else:
                self.summary.failed.append(entry.id)
        elif isinstance(final, Failed):
            q.finish(entry.id, "failed", f"{final.error.title}: {final.error.description}")
            self.summary.failed.append(entry.id)
        else:  # Cancelled (or nothing): by the artist, or because the runner is stopping
            if q.entry(entry.id).cancel_requested:
                q.finish(entry.id, "cancelled", f"cancelled; {n_done} frames kept")
                self.summary.cancelled.append(entry.id)
            else:
                q.unclaim(entry.id, f"runner stopped; {n_done} frames kept")
                self.summary.requeued.append(entry.id)
