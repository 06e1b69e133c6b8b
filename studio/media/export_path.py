"""The one export path of the studio: frames in, a video, GIF or PNG sequence out.

``studio export`` (a video or PNG folder converted), ``studio render -o`` (the rendered clip,
side by side or not) and the GUI's export dialog (frames from the render cache) all hand their
frames to :func:`write_export`, which

1. scales them by ``scale`` (Lanczos, even sizes; :func:`~studio.media.panels.scale_frame`),
2. converts their rate from ``fps`` to ``out_fps`` keeping the duration (``repeat`` or
   ``blend``; :func:`~studio.media.retime.retime`),
3. writes them with the exporter the target's extension picks (atomic; ``audio`` as the sound
   track where the format has one; :func:`~studio.media.exporters.exporter_for`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from studio.core.cancel import CancelToken
from studio.media.audio import AudioSlice
from studio.media.exporters import ProgressCallback, exporter_for
from studio.media.panels import scale_frame
from studio.media.retime import RetimeMode, retime, retimed_count


def write_export(frames: Iterable[np.ndarray], n_frames: int, fps: float, path: str | Path, *,
                 out_fps: float | None = None, fps_mode: RetimeMode = "repeat", scale: float = 1.0,
                 audio: AudioSlice | None = None, progress: ProgressCallback | None = None,
                 cancel: CancelToken | None = None) -> Path:
    """Write ``n_frames`` ``frames`` played at ``fps`` to ``path`` (see the module docstring);
    ``progress(done, total)`` counts written frames of :func:`export_count` in all. Returns the
    path written."""
    exporter = exporter_for(path)  # an unsupported extension fails before any frame is made
    if abs(scale - 1.0) > 1e-9:
        frames = (scale_frame(f, scale) for f in frames)
    rate = float(out_fps or fps)
    return exporter.write(retime(frames, n_frames, fps, rate, fps_mode), rate, path, progress=progress,
                          cancel=cancel, frame_count=export_count(n_frames, fps, out_fps), audio=audio)


def export_count(n_frames: int, fps: float, out_fps: float | None = None) -> int:
    """How many frames :func:`write_export` writes for ``n_frames`` at ``fps`` (same duration)."""
    return retimed_count(n_frames, fps, float(out_fps or fps))
