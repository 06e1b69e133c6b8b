"""What the export dialog writes: rendered frames from the cache, optionally resized and shown
side by side with the driving frame and the pose the model sees, composed exactly like
``studio render --side-by-side``. Runs on the export worker (no Qt)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.core.frame_cache import FrameCache, FrameState
from studio.core.tracks import PoseTrack
from studio.extract.model_view import ModelView, model_pose, model_pose_map
from studio.media.audio import AudioSlice, slice_for_frames
from studio.media.panels import PANEL_NAMES, compose
from studio.media.retime import RetimeMode, retimed_count

#: Menu label -> (exporter name, extension or "" for a folder).
FORMATS: dict[str, tuple[str, str]] = {
    "MP4 (H.264)": ("mp4", ".mp4"),
    "WebM (VP9)": ("webm", ".webm"),
    "GIF": ("gif", ".gif"),
    "PNG sequence": ("png", ""),
}


@dataclass(frozen=True)
class ExportSpec:
    """One export: where, which timeline frames (played at ``fps``, the project's rate), at what
    scale (25 % to 200 %, Lanczos), side by side or not (``panels`` in their order), at which
    output rate (``out_fps``, ``None`` for ``fps``; converted by ``fps_mode``), with or without
    the driving video's sound."""

    path: Path
    frames: tuple[int, ...]
    fps: float
    scale: float = 1.0
    side_by_side: bool = False
    panels: tuple[str, ...] = PANEL_NAMES
    out_fps: float | None = None
    fps_mode: RetimeMode = "repeat"
    audio: bool = True

    @property
    def output_fps(self) -> float:
        """The frame rate written to the file."""
        return float(self.out_fps or self.fps)

    def output_count(self) -> int:
        """How many frames the file gets (the frame-rate conversion keeps the duration)."""
        return retimed_count(len(self.frames), self.fps, self.output_fps)

    def sound(self, driving_video: Path | None) -> AudioSlice | None:
        """The driving video's sound under the exported frames (``None`` when off, without a
        video, when the frames are not one run, or when the video is silent)."""
        f = self.frames
        if not self.audio or driving_video is None or not f or list(f) != list(range(f[0], f[-1] + 1)):
            return None
        return slice_for_frames(driving_video, f[0], len(f), self.fps)


def missing_frames(cache: FrameCache, keys: Sequence[str], frames: Sequence[int]) -> list[int]:
    """The frames of ``frames`` that have no final render under their current key."""
    return [i for i in frames if cache.state(keys[i], i) != FrameState.FINAL]


def describe_ranges(frames: Sequence[int]) -> str:
    """``3-7, 12`` for a sorted list of frames."""
    out, start, prev = [], None, None
    for i in frames:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            out.append(f"{start}-{prev}" if prev != start else str(start))
            start = prev = i
    if start is not None:
        out.append(f"{start}-{prev}" if prev != start else str(start))
    return ", ".join(out)


def export_frames(
    spec: ExportSpec, cache: FrameCache, keys: Sequence[str], pose: PoseTrack | None = None,
    driving_video: Path | None = None, view: ModelView | None = None,
) -> Iterator[np.ndarray]:
    """The frames to write for ``spec`` (each ``(H, W, 3)`` uint8, all the same size).

    Side by side, each frame holds ``spec.panels`` in their order (default ``driving | pose |
    result``), composed exactly as ``studio render --side-by-side`` composes them
    (:func:`studio.media.panels.compose`): the driving frame fitted to the render canvas and the
    pose the model sees (:func:`~studio.extract.model_view.model_pose` of ``pose`` under
    ``view``). Without ``view`` the pose is only fitted to the result's size. They are not
    scaled yet: :func:`studio.media.export_path.write_export` scales them by ``spec.scale``.
    """
    reader = None
    canvas = fit = None
    if spec.side_by_side and pose is not None:
        first = cache.get(keys[spec.frames[0]], spec.frames[0]) if spec.frames else None
        if view is None and first is not None:
            view = ModelView(first.shape[1], first.shape[0], retarget=False)
        if view is not None:
            canvas = model_pose(pose, view)
            fit = view.driving_fit(pose)
    if spec.side_by_side and driving_video is not None and Path(driving_video).exists():
        from studio.media.video import VideoReader

        reader = VideoReader(driving_video)
    try:
        for i in spec.frames:
            frame = cache.get(keys[i], i)
            if frame is None:
                raise StudioError(
                    "Frame not rendered",
                    f"Frame {i} is not in the render cache any more. Render it again, then export.",
                )
            out = frame
            if spec.side_by_side and canvas is not None and 0 <= i < len(canvas):
                drive = None
                if reader is not None and fit is not None and tuple(reader.size) == (fit.src_w, fit.src_h):
                    drive = fit.apply(reader.read(i))
                out = compose({"driving": drive, "pose": model_pose_map(canvas, i), "result": frame}, spec.panels)
            yield np.ascontiguousarray(out)
    finally:
        if reader is not None:
            reader.close()

