"""Feeding RGB frames to an ffmpeg encoder process through a pipe."""

from __future__ import annotations

import errno
import subprocess
import threading
from collections import deque
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.media.atomic import describe_os_error
from studio.media.ffmpeg import ffmpeg_exe, file_url, fps_fraction

#: ffmpeg messages that mean an operating-system error, and the errno they stand for.
_OS_MESSAGES = (
    ("No space left on device", errno.ENOSPC),
    ("Disk quota exceeded", getattr(errno, "EDQUOT", errno.ENOSPC)),
    ("Read-only file system", errno.EROFS),
    ("Permission denied", errno.EACCES),
)


class FFmpegPipe:
    """An ffmpeg process that encodes ``(H, W, 3)`` uint8 RGB frames written to its stdin.

    Parameters
    ----------
    out_path:
        Where ffmpeg writes (the caller makes this a temporary path).
    size:
        ``(width, height)`` of every frame.
    fps:
        Frame rate of the output.
    output_args:
        Codec, filter and muxer arguments placed between the input and ``out_path``.
    target:
        The path named in error messages (the final destination, not the temporary).
    audio:
        A sound file to mux as the output's audio track (its codec comes from ``output_args``).
    """

    def __init__(self, out_path: Path, size: tuple[int, int], fps: float, output_args: list[str],
                 target: Path | None = None, audio: Path | None = None) -> None:
        self.target = Path(target or out_path)
        self.size = size
        rate = fps_fraction(fps)
        cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}",
               "-framerate", f"{rate.numerator}/{rate.denominator}", "-i", "-"]
        if audio is not None:
            cmd += ["-i", file_url(Path(audio)), "-map", "0:v:0", "-map", "1:a:0"]
        cmd += [*output_args, file_url(out_path)]
        self._log: deque[str] = deque(maxlen=60)
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()

    def _read_log(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            self._log.append(raw.decode(errors="replace").rstrip())

    def write(self, frame: np.ndarray) -> None:
        """Send one frame; raises :class:`StudioError` if ffmpeg has stopped."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).tobytes())
        except (BrokenPipeError, ValueError, OSError) as err:
            raise self._failure() from err

    def finish(self) -> None:
        """Close the input and wait for ffmpeg to finish writing; raise on failure."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        code = self._proc.wait()
        self._release()
        if code != 0:
            raise self._failure()

    def abort(self) -> None:
        """Stop ffmpeg without finishing the file (cancel, error)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._release()

    def _release(self) -> None:
        """Close the pipes once the process has ended (the log reader sees EOF first)."""
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        self._drain.join(timeout=5)
        if self._proc.stderr is not None:
            self._proc.stderr.close()

    def _failure(self) -> StudioError:
        self.abort()
        log = "\n".join(self._log)
        for message, code in _OS_MESSAGES:
            if message in log:
                return describe_os_error(OSError(code, message), self.target)
        return StudioError(
            f"Cannot encode {self.target.name}",
            f"ffmpeg stopped while writing {self.target}. Try another format (e.g. a PNG sequence) "
            "and run `studio doctor` to check ffmpeg.",
            log[-2000:],
        )
