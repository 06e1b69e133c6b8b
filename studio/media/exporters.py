"""Exporters with one interface: MP4 (H.264), WebM (VP9), GIF and PNG sequence.

Every exporter's :meth:`Exporter.write` takes an iterable of ``(H, W, 3)`` uint8 RGB frames,
a frame rate and a target path, reports progress, honours a
:class:`~studio.core.cancel.CancelToken`, and is atomic (see :mod:`studio.media.atomic`).
:func:`exporter_for` picks the exporter from the target's extension; a path ending in ``/``
or without extension is a PNG-sequence folder. MP4 (AAC) and WebM (Opus) also carry sound: an
:class:`~studio.media.audio.AudioSlice` of the driving video cut to exactly the frames' duration.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.media.atomic import atomic_target, describe_os_error
from studio.media.audio import AudioSlice, write_slice_wav
from studio.media.ffmpeg_writer import FFmpegPipe

#: ``progress(done, total)``: ``total`` is the ``frame_count`` hint, or ``None`` if unknown.
ProgressCallback = Callable[[int, "int | None"], None]

#: File name pattern of PNG-sequence frames.
SEQUENCE_PATTERN = "frame_{:05d}.png"


def as_rgb8(frame: np.ndarray, index: int) -> np.ndarray:
    """Check and convert one frame to ``(H, W, 3)`` uint8 (gray and RGBA are accepted)."""
    arr = np.asarray(frame)
    if arr.dtype != np.uint8:
        if np.issubdtype(arr.dtype, np.floating):  # floats are taken as 0..1
            arr = np.round(np.clip(np.nan_to_num(arr), 0.0, 1.0) * 255.0).astype(np.uint8)
        else:
            raise StudioError(
                "Cannot export the frames",
                f"Frame {index} has pixel type {arr.dtype}; frames must be uint8 (0-255) or float (0-1).",
            )
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or min(arr.shape[:2]) < 1:
        raise StudioError(
            "Cannot export the frames",
            f"Frame {index} has shape {arr.shape}; frames must be (height, width, 3) RGB images.",
        )
    return arr[..., :3]


class Exporter(ABC):
    """Writes a sequence of RGB frames to one kind of file (or folder)."""

    #: Short name used in menus and ``studio export``.
    name: str = ""
    #: Lower-case extensions (with dot) this exporter writes; empty for folders.
    extensions: tuple[str, ...] = ()
    #: Whether the target is a folder.
    directory: bool = False
    #: Whether the format carries a sound track (an ``audio`` slice is ignored otherwise).
    supports_audio: bool = False

    def write(
        self,
        frames: Iterable[np.ndarray],
        fps: float,
        path: str | Path,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        frame_count: int | None = None,
        audio: AudioSlice | None = None,
    ) -> Path:
        """Write ``frames`` at ``fps`` to ``path`` atomically and return the path.

        ``progress(done, frame_count)`` is called after each frame; ``cancel`` is checked before
        each frame (raising :class:`~studio.core.errors.RenderCancelled`, with nothing left at
        ``path``). ``audio`` is muxed as the sound track when the format has one
        (:attr:`supports_audio`). Raises :class:`StudioError` for bad frames, no frames and write
        failures.
        """
        path = Path(path)
        if not (isinstance(fps, numbers.Real) and 0 < fps <= 240):
            raise StudioError("Cannot export", f"Frame rate {fps!r} is not between 0 and 240 frames per second.")

        def checked() -> Iterable[np.ndarray]:
            size = None
            for i, frame in enumerate(frames):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                rgb = as_rgb8(frame, i)
                if size is None:
                    size = rgb.shape[:2]
                elif rgb.shape[:2] != size:
                    raise StudioError(
                        f"Cannot export {path.name}",
                        f"Frame {i} is {rgb.shape[1]}x{rgb.shape[0]} but frame 0 is {size[1]}x{size[0]}; "
                        "all frames of a clip must have the same size.",
                    )
                yield rgb
                if progress is not None:
                    progress(i + 1, frame_count)
            if cancel is not None:
                cancel.raise_if_cancelled()

        with atomic_target(path, directory=self.directory) as tmp, tempfile.TemporaryDirectory() as work:
            wav = None
            if audio is not None and self.supports_audio:
                wav = write_slice_wav(audio, Path(work) / "sound.wav")
            written = self._write(checked(), float(fps), tmp, path, wav)
            if written == 0:
                raise StudioError(f"Cannot export {path.name}", "There are no frames to export.")
        return path

    @abstractmethod
    def _write(self, frames: Iterable[np.ndarray], fps: float, tmp: Path, target: Path,
               audio: Path | None = None) -> int:
        """Write checked RGB frames (and the WAV ``audio``, if given) to ``tmp``; return how many
        frames were written."""


class FFmpegExporter(Exporter):
    """Exporter that pipes frames into ffmpeg with :meth:`output_args`."""

    #: Pad odd widths/heights to even ones (needed by 4:2:0 chroma subsampling).
    even_size: bool = True

    @abstractmethod
    def output_args(self) -> list[str]:
        """Codec, filter and muxer arguments."""

    def audio_args(self) -> list[str]:
        """Audio codec arguments (formats with :attr:`supports_audio`)."""
        return []

    def _write(self, frames: Iterable[np.ndarray], fps: float, tmp: Path, target: Path,
               audio: Path | None = None) -> int:
        pipe: FFmpegPipe | None = None
        count = 0
        try:
            for frame in frames:
                if self.even_size and (frame.shape[0] % 2 or frame.shape[1] % 2):
                    # repeat the last row/column: invisible, unlike a black pad line
                    frame = np.pad(frame, ((0, frame.shape[0] % 2), (0, frame.shape[1] % 2), (0, 0)), mode="edge")
                if pipe is None:
                    args = self.output_args() + (self.audio_args() if audio is not None else [])
                    pipe = FFmpegPipe(tmp, (frame.shape[1], frame.shape[0]), fps, args, target, audio=audio)
                pipe.write(frame)
                count += 1
            if pipe is not None:
                pipe.finish()
                pipe = None
        finally:
            if pipe is not None:
                pipe.abort()
        return count


#: Tag and convert with the BT.709 matrix so players show the colours we wrote.
_BT709 = ["-vf", "scale=out_color_matrix=bt709:out_range=tv", "-colorspace", "bt709",
          "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]


class MP4Exporter(FFmpegExporter):
    """H.264 in MP4, yuv420p, CRF 19: plays everywhere. ``keyframe_interval`` (frames) trades
    file size for faster seeking; ``None`` keeps x264's default."""

    name = "mp4"
    extensions = (".mp4", ".m4v")
    supports_audio = True

    def __init__(self, crf: int = 19, preset: str = "medium", keyframe_interval: int | None = None) -> None:
        self.crf = crf
        self.preset = preset
        self.keyframe_interval = keyframe_interval

    def output_args(self) -> list[str]:
        gop = ["-g", str(self.keyframe_interval)] if self.keyframe_interval else []
        return [*_BT709, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", str(self.crf),
                "-preset", self.preset, *gop, "-movflags", "+faststart", "-f", "mp4"]

    def audio_args(self) -> list[str]:
        """AAC-LC at 192 kbit/s."""
        return ["-c:a", "aac", "-b:a", "192k"]


class WebMExporter(FFmpegExporter):
    """VP9 in WebM (constant quality), for the web."""

    name = "webm"
    extensions = (".webm",)
    supports_audio = True

    def __init__(self, crf: int = 28, cpu_used: int = 4) -> None:
        self.crf = crf
        self.cpu_used = cpu_used

    def output_args(self) -> list[str]:
        return [*_BT709, "-c:v", "libvpx-vp9", "-pix_fmt", "yuv420p", "-crf", str(self.crf), "-b:v", "0",
                "-deadline", "good", "-cpu-used", str(self.cpu_used), "-row-mt", "1", "-f", "webm"]

    def audio_args(self) -> list[str]:
        """Opus at 128 kbit/s."""
        return ["-c:a", "libopus", "-b:a", "128k"]


class GIFExporter(FFmpegExporter):
    """Looping GIF with palettes computed from the frames themselves (palettegen + paletteuse).

    ``palette="per_frame"`` (default) gives every frame its own 256 colours: on smooth synthetic
    clips its mean error is about a third of one palette for the whole clip. ``"global"`` uses
    one palette for all frames (smaller files, no palette changes between frames).
    """

    name = "gif"
    extensions = (".gif",)
    even_size = False

    def __init__(self, palette: str = "per_frame", dither: str = "sierra2_4a") -> None:
        if palette not in ("per_frame", "global"):
            raise StudioError("Unknown GIF palette", f"GIF palette {palette!r} must be 'per_frame' or 'global'.")
        self.palette = palette
        self.dither = dither

    def output_args(self) -> list[str]:
        if self.palette == "per_frame":
            graph = ("split[a][b];[a]palettegen=max_colors=256:stats_mode=single[p];"
                     f"[b][p]paletteuse=new=1:dither={self.dither}")
        else:
            graph = ("split[a][b];[a]palettegen=max_colors=256:stats_mode=full[p];"
                     f"[b][p]paletteuse=dither={self.dither}")
        return ["-filter_complex", graph, "-loop", "0", "-f", "gif"]


class PNGSequenceExporter(Exporter):
    """A folder of ``frame_00000.png``, ``frame_00001.png``, ... (lossless, resumable)."""

    name = "png"
    directory = True

    def __init__(self, compress_level: int = 3) -> None:
        self.compress_level = compress_level

    def _write(self, frames: Iterable[np.ndarray], fps: float, tmp: Path, target: Path,
               audio: Path | None = None) -> int:
        count = 0
        for i, frame in enumerate(frames):
            out = tmp / SEQUENCE_PATTERN.format(i)
            try:
                Image.fromarray(frame, "RGB").save(out, compress_level=self.compress_level)
            except OSError as err:
                raise describe_os_error(err, target) from err
            count += 1
        return count


#: Exporters by name.
EXPORTERS: dict[str, type[Exporter]] = {
    cls.name: cls for cls in (MP4Exporter, WebMExporter, GIFExporter, PNGSequenceExporter)
}


def is_sequence_target(path: str | Path) -> bool:
    """Whether ``path`` names a PNG-sequence folder: ends with a separator, has no extension,
    or is an existing folder."""
    text = os.fspath(path)
    return text.endswith(("/", os.sep)) or Path(text).is_dir() or Path(text).suffix == ""


def exporter_for(path: str | Path) -> Exporter:
    """The exporter that writes ``path``, chosen by its extension (folder: PNG sequence)."""
    if is_sequence_target(path):
        return PNGSequenceExporter()
    suffix = Path(path).suffix.lower()
    for cls in EXPORTERS.values():
        if suffix in cls.extensions:
            return cls()
    known = ", ".join(ext for cls in EXPORTERS.values() for ext in cls.extensions)
    raise StudioError(
        f"Cannot export to {Path(path).name}",
        f"The extension {suffix!r} is not supported. Use one of {known}, or a folder name ending "
        "in / for a PNG sequence.",
    )


def export_frames(
    frames: Iterable[np.ndarray],
    fps: float,
    path: str | Path,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    frame_count: int | None = None,
    audio: AudioSlice | None = None,
) -> Path:
    """Write ``frames`` with the exporter :func:`exporter_for` picks for ``path``."""
    return exporter_for(path).write(frames, fps, path, progress=progress, cancel=cancel, frame_count=frame_count,
                                    audio=audio)
