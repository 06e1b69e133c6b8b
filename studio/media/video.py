"""Frame-accurate video reading on the bundled ffmpeg.

Frame ``i`` is the ``i``-th frame in presentation order. When a reader opens, the presentation
timestamp of every frame is read from the container's packet index (no decoding; a clip without
packet timestamps is decoded once instead).

:class:`VideoReader` gives random access by frame index without decoding from the start each
time: a far jump starts a new ffmpeg process that seeks to the keyframe before the target
(``-ss`` before ``-i``) and decodes forward to it. Each decoded frame's timestamp is logged by
ffmpeg's ``showinfo`` filter, so the reader knows exactly where a seek landed and backs off
further when a container seeks imprecisely (MPEG-TS). A short forward jump keeps reading the
running process (scrubbing forward, playback), and recently decoded frames are kept in a small
LRU cache bounded in bytes. Iteration uses its own sequential process.

Display-rotation metadata is honoured: frames come out upright and
:attr:`VideoReader.size` is the displayed size.
"""

from __future__ import annotations

import bisect
import math
import queue
import subprocess
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.media.ffmpeg import (
    decode_args,
    ffmpeg_exe,
    frame_timestamps,
    packet_timestamps,
    parse_pts_time,
    probe_header,
)

#: Longest driving clip accepted, in seconds. X-Dyna animates a few seconds of motion; a
#: multi-hour file is almost certainly the wrong file (and would take days to render).
MAX_SECONDS = 30 * 60.0
#: Largest frame side accepted (8K).
MAX_SIDE = 8192
#: Rates outside this range are treated as broken metadata.
FPS_RANGE = (1.0, 240.0)


class _FrameStream:
    """One ffmpeg process decoding RGB frames from a seek point onwards.

    A reader thread drains stderr and queues the ``showinfo`` timestamp of every frame, so
    :meth:`read` returns each frame with its original presentation time.
    """

    def __init__(self, path: Path, size: tuple[int, int], seek: float | None, first_index: int) -> None:
        self.next_index = first_index
        self._frame_bytes = size[0] * size[1] * 3
        self._shape = (size[1], size[0], 3)
        self._stamps: queue.Queue[float] = queue.Queue()
        self._log: deque[str] = deque(maxlen=40)
        self._proc = subprocess.Popen(
            [ffmpeg_exe(), *decode_args(path, seek), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            bufsize=self._frame_bytes,
        )
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode(errors="replace")
            stamp = parse_pts_time(line)
            if stamp is None:
                if "Parsed_showinfo" not in line:  # keep ffmpeg's messages, not frame logs
                    self._log.append(line.rstrip())
            else:
                self._stamps.put(stamp)

    def read(self) -> tuple[float, np.ndarray] | None:
        """The next frame and its timestamp (NaN if unknown), or ``None`` at the end."""
        assert self._proc.stdout is not None
        data = self._proc.stdout.read(self._frame_bytes)
        if len(data) < self._frame_bytes:
            return None
        self.next_index += 1
        try:
            stamp = self._stamps.get(timeout=10)
        except queue.Empty:  # pragma: no cover - showinfo logs before the frame is written
            stamp = float("nan")
        return stamp, np.frombuffer(data, np.uint8).reshape(self._shape)

    def error_text(self) -> str:
        """The last lines ffmpeg printed that were not frame logs (after stopping it)."""
        self.close()
        return "\n".join(self._log)[-2000:]

    def close(self) -> None:
        """Stop the process and release its pipes."""
        if self._proc.poll() is None:
            self._proc.kill()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - kill does not hang in practice
            pass
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        if sys.is_finalizing():
            return  # daemon threads are frozen at exit: the log reader may hold the stderr lock
        self._drain.join(timeout=5)  # ends at EOF of the dead process's stderr
        if self._proc.stderr is not None and not self._drain.is_alive():
            self._proc.stderr.close()


class VideoReader:
    """Random-access, iterable reader of a video's frames as ``(H, W, 3)`` uint8 RGB arrays.

    Parameters
    ----------
    path:
        The video file.
    cache_bytes:
        Memory budget of the decoded-frame LRU cache.
    max_seconds:
        Clips longer than this are refused with a :class:`StudioError`.
    forward_window:
        A request at most this many frames ahead of the running decoder is served by decoding
        forward; farther jumps seek.

    Raises :class:`StudioError` for missing, empty, truncated, non-video, audio-only files and
    absurd metadata (duration, size, frame rate).
    """

    def __init__(
        self,
        path: str | Path,
        cache_bytes: int = 256 * 1024 * 1024,
        max_seconds: float = MAX_SECONDS,
        forward_window: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.header = probe_header(self.path)
        self._check_metadata(max_seconds)
        w, h = self.size
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = max(2, cache_bytes // (w * h * 3))
        self._forward_window = forward_window if forward_window is not None else max(8, int(2 * self.fps))
        self._stream: _FrameStream | None = None
        self._lock = threading.RLock()
        #: How many seeking ffmpeg processes random access has started (tests, benchmarks).
        self.seeks = 0
        # the container's packet index is fast; decoding the whole clip is the exact fallback
        self._set_stamps(packet_timestamps(self.path) or frame_timestamps(self.path))
        if self._frame_count / self.fps > max_seconds:  # the header may carry no duration
            raise self._too_long(self._frame_count / self.fps, max_seconds)
        if self._frame_count == 0:
            raise StudioError(
                f"Cannot read the video {self.path.name}",
                f"{self.path} contains no decodable frames; it is damaged or truncated. "
                "Copy or export it again.",
            )

    def _set_stamps(self, stamps: list[float]) -> None:
        if any(math.isnan(t) for t in stamps) or any(b <= a for a, b in zip(stamps, stamps[1:])):
            stamps = [i / self.fps for i in range(len(stamps))]  # no usable timestamps: assume CFR
        self._stamps = stamps
        self._frame_count = len(stamps)

    def _check_metadata(self, max_seconds: float) -> None:
        hdr, name = self.header, self.path
        title = f"Cannot use the video {name.name}"
        if not FPS_RANGE[0] <= hdr.fps <= FPS_RANGE[1]:
            raise StudioError(
                title,
                f"{name} reports {hdr.fps:g} frames per second, outside the supported "
                f"{FPS_RANGE[0]:g}-{FPS_RANGE[1]:g}. Re-encode it at a normal rate, e.g. "
                "`ffmpeg -i in.mp4 -r 30 out.mp4`.",
            )
        if hdr.duration is not None and hdr.duration > max_seconds:
            raise self._too_long(hdr.duration, max_seconds)
        w, h = hdr.size
        if min(w, h) < 1 or max(w, h) > MAX_SIDE:
            raise StudioError(
                title,
                f"{name} has frames of {w}x{h} pixels; the supported range is 1 to {MAX_SIDE} "
                "pixels per side. Re-encode it at a smaller size.",
            )

    def _too_long(self, seconds: float, max_seconds: float) -> StudioError:
        return StudioError(
            f"Cannot use the video {self.path.name}",
            f"{self.path} is {seconds / 60:.1f} minutes long; the limit is {max_seconds / 60:g} minutes. "
            "Trim the part you want to animate first, e.g. `ffmpeg -ss 0 -t 20 -i in.mp4 out.mp4`.",
        )

    # -- metadata -------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        """Frames per second."""
        return self.header.fps

    @property
    def frame_count(self) -> int:
        """Number of frames (from the container's packet index, else counted by decoding)."""
        return self._frame_count

    @property
    def size(self) -> tuple[int, int]:
        """Displayed ``(width, height)`` of every frame, rotation applied."""
        return self.header.size

    @property
    def rotation(self) -> int:
        """Display rotation (degrees counter-clockwise) applied to decoded frames."""
        return self.header.rotation

    @property
    def duration(self) -> float:
        """Length in seconds, ``frame_count / fps``."""
        return self._frame_count / self.fps

    def __len__(self) -> int:
        return self._frame_count

    # -- random access --------------------------------------------------------------------
    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as a read-only ``(H, W, 3)`` uint8 RGB array."""
        index = int(index)
        if not 0 <= index < self._frame_count:
            raise StudioError(
                f"No frame {index} in {self.path.name}",
                f"{self.path} has frames 0 to {self._frame_count - 1}; frame {index} was asked for.",
            )
        with self._lock:
            cached = self._cache.get(index)
            if cached is not None:
                self._cache.move_to_end(index)
                return cached
            stream = self._stream
            if stream is None or not stream.next_index <= index <= stream.next_index + self._forward_window:
                if stream is not None:
                    stream.close()
                self._stream = None
                stream = self._seek(index)
                if index in self._cache:  # the seek landed exactly on the target
                    return self._cache[index]
            while True:
                at = stream.next_index
                got = stream.read()
                if got is None:
                    raise self._decode_error(index, at, stream)
                self._remember(at, got[1])
                if at == index:
                    return got[1]

    def _seek(self, index: int) -> _FrameStream:
        """Start a decoder whose next frame is at most ``index``, seeking as close as it can."""
        margins = (0.5, 1.0 * self.fps, 4.0 * self.fps, 16.0 * self.fps)  # in frames
        for margin in margins:
            seek = self._stamps[index] - self._stamps[0] - margin / self.fps
            if seek <= 0:
                break
            stream = _FrameStream(self.path, self.size, seek, first_index=-1)
            self.seeks += 1
            got = stream.read()
            landed = self._index_of(got[0]) if got is not None else None
            if landed is not None and landed <= index:
                # the seek landed on or before the target: keep decoding forward from there
                stream.next_index = landed + 1
                self._remember(landed, got[1])
                self._stream = stream
                return stream
            stream.close()  # landed after the target (imprecise container seeking): back off
        stream = self._stream = _FrameStream(self.path, self.size, None, first_index=0)
        self.seeks += 1
        return stream

    def _index_of(self, stamp: float) -> int | None:
        """The frame index whose timestamp is nearest to ``stamp``."""
        if math.isnan(stamp):
            return None
        k = bisect.bisect_left(self._stamps, stamp)
        if k > 0 and (k == len(self._stamps) or stamp - self._stamps[k - 1] < self._stamps[k] - stamp):
            k -= 1
        return k

    def _decode_error(self, index: int, at: int, stream: _FrameStream) -> StudioError:
        self._stream = None
        return StudioError(
            f"Cannot decode frame {index} of {self.path.name}",
            f"ffmpeg stopped at frame {at} of {self.path}; the file may be damaged near its end. "
            "Re-export the video, or use the frames before it.",
            stream.error_text(),
        )

    def _remember(self, index: int, frame: np.ndarray) -> None:
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)

    def __getitem__(self, index: int) -> np.ndarray:
        if index < 0:
            index += self._frame_count
        return self.read(index)

    # -- sequential -----------------------------------------------------------------------
    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """Decode frames ``start`` to ``stop`` (exclusive) in order with a dedicated process."""
        stop = self._frame_count if stop is None else min(stop, self._frame_count)
        if start >= stop:
            return
        if start <= 0:
            for frame in self._iter_from_start(stop):
                yield frame
            return
        for i in range(start, stop):  # random access decodes forward from a seek point
            yield self.read(i)

    def _iter_from_start(self, stop: int) -> Iterator[np.ndarray]:
        stream = _FrameStream(self.path, self.size, None, first_index=0)
        try:
            for _ in range(stop):
                got = stream.read()
                if got is None:
                    return
                yield got[1]
        finally:
            stream.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.iter_frames()

    # -- lifetime -------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the decoder process and drop cached frames."""
        with self._lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            self._cache.clear()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        w, h = self.size
        return f"VideoReader({str(self.path)!r}, {w}x{h}, {self.fps:g} fps, {self._frame_count} frames)"
