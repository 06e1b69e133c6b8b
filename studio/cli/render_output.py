"""What ``studio render`` prints and writes: the progress bars, Ctrl-C handling, and the export of
the finished frames (result or side by side, retimed, scaled, with the driving video's sound)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress
from studio.core.jobs import RenderJob
from studio.core.render import render_frames, run_job
from studio.core.files import read_png
from studio.media.audio import AudioSlice, slice_for_frames
from studio.media.export_path import export_count, write_export
from studio.media.panels import PANEL_NAMES, compose
from studio.media.retime import RetimeMode


# -- progress ---------------------------------------------------------------------------------------
def _bar(quiet: bool, desc: str, total: int | None = None, unit: str = "it"):
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr)


def _advance(bar: Any, done: int, total: int | None) -> None:
    if bar is None:
        return
    if total is not None and bar.total != total:
        bar.total = total
    bar.n = done
    bar.refresh()


class _Sigint:
    """While active, the first Ctrl-C cancels the render; a second one interrupts at once.

    Installed also when the process started with SIGINT ignored (``nohup studio render ... &``
    from a script): a SIGINT then cancels cleanly too, keeping the finished frames for
    ``--resume``, rather than being dropped. The handler found is put back on exit."""

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self.previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.token.cancelled:
            raise KeyboardInterrupt
        self.token.cancel()
        print("\ncancelling after the current step (Ctrl-C again to abort now) ...", file=sys.stderr)

    def __enter__(self) -> "_Sigint":
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: the caller cancels through the token
            self.previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def render_with_progress(job: RenderJob, backend: Any, token: CancelToken, resume: bool, quiet: bool):
    """Run the job with a tqdm bar per phase, the frame count and the phase's latest message beside it;
    returns the final event."""
    bar = None
    phase = None
    message = ""
    frames_done = 0
    last: Any = None

    def postfix() -> str:
        frames = f"{frames_done}/{job.n_frames} frames"
        return f"{frames} | {message}" if message else frames  # the count first: a long message is cut at the edge

    for ev in run_job(job, backend, None, token, resume=resume):
        if isinstance(ev, Progress):
            if ev.phase != phase:
                if bar is not None:
                    bar.close()
                phase, message = ev.phase, ""
                bar = _bar(quiet, ev.phase, ev.total)
            said, message = message, ev.message or message
            _advance(bar, ev.step, ev.total)
            if bar is not None:
                bar.set_postfix_str(postfix(), refresh=message != said)  # a new message shows at once
        elif isinstance(ev, FramesReady):
            frames_done += len(ev.indices)
            if bar is not None:
                bar.set_postfix_str(postfix())
        elif isinstance(ev, (Finished, Cancelled, Failed)):
            last = ev
    if bar is not None:
        bar.close()
    return last


# -- export -----------------------------------------------------------------------------------------
def result_frames(job: RenderJob) -> Iterator[np.ndarray]:
    """The finished frames of ``job`` read back from its render folder, in order."""
    for path in render_frames(job):
        img = read_png(path)
        if img is None:
            raise StudioError("Missing frame", f"{path} cannot be read; render again with --resume.")
        yield img


def side_by_side_frames(job: RenderJob, panels: tuple[str, ...] = PANEL_NAMES) -> Iterator[np.ndarray]:
    """``driving | pose | result`` per frame (``pose | result`` without a driving video); the pose
    panel is what the model sees (:func:`studio.extract.model_view.model_pose`)."""
    from studio.extract.canvas import driving_frames
    from studio.extract.model_view import model_pose_for_job, model_pose_map

    canvas = model_pose_for_job(job)
    driving: Iterator[np.ndarray | None] = (
        driving_frames(job) if job.driving_video is not None else iter([None] * job.n_frames)
    )
    for i, drive, result in zip(job.frames, driving, result_frames(job)):
        yield compose({"driving": drive, "pose": model_pose_map(canvas, i), "result": result}, panels)


def sound_for(job: RenderJob, fps: float, wanted: bool = True) -> AudioSlice | None:
    """The driving video's sound under the job's frames at ``fps`` (``None`` when not ``wanted``,
    without a driving video, or when the video is silent)."""
    if not wanted or job.driving_video is None or not job.frames:
        return None
    return slice_for_frames(job.driving_video, job.frames[0], job.n_frames, fps)


def export(frames: Iterator[np.ndarray], n: int, src_fps: float, out: Path, token: CancelToken, quiet: bool,
           audio: AudioSlice | None = None, *, fps: float | None = None, scale: float = 1.0,
           mode: RetimeMode = "repeat") -> Path:
    """Write the ``n`` rendered ``frames`` (at ``src_fps``) to ``out`` through the one export
    path (:func:`studio.media.export_path.write_export`: scale, rate conversion to ``fps``,
    the exporter of the suffix, ``audio`` where the format has a sound track), with a bar."""
    bar = _bar(quiet, f"export {out.name}", export_count(n, src_fps, fps), unit="frame")
    try:
        return write_export(frames, n, src_fps, out, out_fps=fps, fps_mode=mode, scale=scale, audio=audio,
                            progress=lambda d, t: _advance(bar, d, t), cancel=token)
    finally:
        if bar is not None:
            bar.close()


