"""What the export dialog writes: rendered frames from the cache, optionally resized and shown
side by side with the driving frame and its pose map. Runs on the export worker (no Qt)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio.core.errors import StudioError
from studio.core.frame_cache import FrameCache, FrameState
from studio.core.tracks import PoseTrack

#: Menu label -> (exporter name, extension or "" for a folder).
FORMATS: dict[str, tuple[str, str]] = {
    "MP4 (H.264)": ("mp4", ".mp4"),
    "WebM (VP9)": ("webm", ".webm"),
    "GIF": ("gif", ".gif"),
    "PNG sequence": ("png", ""),
}


@dataclass(frozen=True)
class ExportSpec:
    """One export: where, which timeline frames, at what scale, side by side or not."""

    path: Path
    frames: tuple[int, ...]
    fps: float
    scale: float = 1.0
    side_by_side: bool = False


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


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _fit_height(img: np.ndarray, h: int) -> np.ndarray:
    w = max(2, int(round(img.shape[1] * h / img.shape[0])))
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA if img.shape[0] > h else cv2.INTER_LINEAR)


def export_frames(
    spec: ExportSpec, cache: FrameCache, keys: Sequence[str], pose: PoseTrack | None = None,
    driving_video: Path | None = None,
) -> Iterator[np.ndarray]:
    """The frames to write for ``spec`` (each ``(H, W, 3)`` uint8, all the same size)."""
    reader = None
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
            h, w = frame.shape[:2]
            out_h, out_w = _even(h * spec.scale), _even(w * spec.scale)
            out = cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_AREA) if (out_h, out_w) != (h, w) else frame
            if spec.side_by_side:
                parts = []
                if reader is not None:
                    parts.append(_fit_height(reader.read(i), out_h))
                if pose is not None and 0 <= i < len(pose):
                    from studio.extract.pose_map import draw_pose

                    pw = _even(out_h * pose.width / max(1, pose.height))
                    parts.append(draw_pose(pose.body[i], pose.body_conf[i], pose.hands[i], pose.hands_conf[i], pw, out_h))
                out = np.concatenate([*parts, out], axis=1)
                if out.shape[1] % 2:
                    out = out[:, :-1]
            yield np.ascontiguousarray(out)
    finally:
        if reader is not None:
            reader.close()
