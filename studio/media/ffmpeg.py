"""The bundled ffmpeg executable (from imageio-ffmpeg) and what it says about a file.

:func:`probe_header` runs ``ffmpeg -i FILE`` and parses the stream header it prints, which is
enough for fps, size, duration, rotation and "is there a video stream at all". Nothing here
decodes frames; :mod:`studio.media.video` does that.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from studio.core.errors import StudioError

#: Container names ffmpeg gives to single still images; such files are photos, not videos.
STILL_IMAGE_FORMATS = ("png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "image2")

#: Exact rates that ffmpeg prints rounded to two decimals.
_NTSC_RATES = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001), Fraction(120000, 1001))


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg executable bundled with imageio-ffmpeg."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as err:  # imageio-ffmpeg missing or its binary absent
        raise StudioError(
            "ffmpeg is not available",
            "The studio decodes and encodes video with the ffmpeg that ships with the "
            "imageio-ffmpeg package. Reinstall it with `pip install --force-reinstall imageio-ffmpeg`.",
            repr(err),
        ) from err


def file_url(path: Path) -> str:
    """``path`` for ffmpeg's command line, always read as a local file (a name such as
    ``rtmp:x.mp4`` or ``concat:a|b`` would otherwise select a protocol)."""
    return f"file:{path}"


def run_ffmpeg(args: list[str], path: Path | None, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``ffmpeg ARGS`` to completion, capturing text output; a hang past ``timeout`` seconds
    or a missing executable becomes a :class:`StudioError` naming ``path``."""
    what = f" on {path}" if path is not None else ""
    try:
        return subprocess.run([ffmpeg_exe(), *args], capture_output=True, text=True, errors="replace",
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as err:
        raise StudioError(
            "ffmpeg did not finish",
            f"ffmpeg ran for more than {timeout:g} seconds{what}. The file may be damaged or on a "
            "slow network drive; copy it to a local disk and try again.",
            str(err),
        ) from err
    except OSError as err:
        raise StudioError(
            "ffmpeg cannot be started",
            f"Starting {ffmpeg_exe()} failed{what}. Reinstall imageio-ffmpeg "
            "(`pip install --force-reinstall imageio-ffmpeg`) and run `studio doctor`.",
            str(err),
        ) from err


def ffmpeg_version_line() -> str:
    """The first line of ``ffmpeg -version`` (e.g. ``ffmpeg version 7.0 ...``)."""
    out = run_ffmpeg(["-version"], None, timeout=30)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def fps_fraction(fps: float) -> Fraction:
    """``fps`` as an exact fraction, snapping 29.97-style values to their NTSC rationals."""
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    for rate in _NTSC_RATES:
        if abs(float(rate) - fps) < 0.006:
            return rate
    return Fraction(fps).limit_denominator(1001)


@dataclass(frozen=True)
class StreamHeader:
    """What ``ffmpeg -i`` reports about a file's first video stream.

    ``coded_size`` is the size stored in the stream; ``rotation`` the display rotation in
    degrees (counter-clockwise, one of 0/90/180/270) that ffmpeg applies while decoding.
    """

    container: str
    codec: str
    coded_size: tuple[int, int]
    fps: float
    duration: float | None
    rotation: int

    @property
    def size(self) -> tuple[int, int]:
        """Displayed (width, height): the coded size with the rotation applied."""
        w, h = self.coded_size
        return (h, w) if self.rotation in (90, 270) else (w, h)


_RE_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,]+)*?), from ", re.M)
_RE_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_RE_VIDEO = re.compile(r"Stream #0:\d+.*?: Video: (\w+).*$", re.M)
_RE_SIZE = re.compile(r", (\d{1,6})x(\d{1,6})[,\s]")
_RE_FPS = re.compile(r", ([\d.]+)(k?) (fps|tbr)")
_RE_ROTATION = re.compile(r"rotation of (-?[\d.]+) degrees")
_RE_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)", re.M)


def _video_error(path: Path, description: str, details: str = "") -> StudioError:
    return StudioError(f"Cannot read the video {path.name}", description, details)


def check_readable_file(path: Path, kind: str = "video") -> Path:
    """Raise a :class:`StudioError` unless ``path`` is an existing, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise StudioError(
            f"Cannot find the {kind} {path.name}",
            f"There is no file at {path}. Check the path, or pick the file again.",
        )
    if path.is_dir():
        raise StudioError(
            f"Cannot read the {kind} {path.name}",
            f"{path} is a folder, not a {kind} file. Pick a file inside it.",
        )
    if path.stat().st_size == 0:
        raise StudioError(
            f"Cannot read the {kind} {path.name}",
            f"{path} is empty (0 bytes); the copy or download probably failed. Copy it again.",
        )
    return path


def probe_header(path: Path) -> StreamHeader:
    """Parse ``ffmpeg -i path`` into a :class:`StreamHeader`.

    Raises :class:`StudioError` for missing, empty, unreadable, still-image and audio-only files.
    """
    path = check_readable_file(Path(path))
    proc = run_ffmpeg(["-hide_banner", "-nostdin", "-i", file_url(path)], path, timeout=60)
    text = proc.stderr
    input_match = _RE_INPUT.search(text)
    if input_match is None:
        from studio.media.sniff import unopenable_reason

        raise _video_error(
            path,
            f"{path} cannot be opened: {unopenable_reason(path, text)}. Pick the video file itself, "
            "or re-export or copy it again (MP4/H.264, MOV, WebM and AVI are supported).",
            text.strip()[-2000:],
        )
    container = input_match.group(1)
    # cover art in audio files and some videos is a one-picture "video" stream: not the video
    video = next((m for m in _RE_VIDEO.finditer(text) if "(attached pic)" not in m.group(0)), None)
    if video is None:
        raise _video_error(
            path,
            f"{path} has no video stream (it looks like an audio-only file). "
            "Pick a video of a person moving.",
            text.strip()[-2000:],
        )
    if container.split(",")[0] in STILL_IMAGE_FORMATS:
        raise _video_error(
            path,
            f"{path} is a still image, not a video. Load it as the reference photo, "
            "or pick a video file as the driving motion.",
        )
    line = video.group(0)
    size = _RE_SIZE.search(line)
    if size is None:
        raise _video_error(path, f"ffmpeg reports no frame size for {path}; the file may be damaged.", line)
    fps = 0.0
    fps_match = _RE_FPS.search(line)
    if fps_match is not None:
        fps = float(fps_match.group(1)) * (1000 if fps_match.group(2) else 1)
        if fps > 0:
            fps = float(fps_fraction(fps))
    duration = None
    dur = _RE_DURATION.search(text)
    if dur is not None:
        h, m, s = dur.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    rotation = 0
    after_stream = text[video.end():]
    next_stream = after_stream.find("Stream #")
    stream_tail = after_stream if next_stream < 0 else after_stream[:next_stream]
    rot = _RE_ROTATION.search(stream_tail)
    if rot is not None:
        rotation = int(round(float(rot.group(1)))) % 360
    else:
        tag = _RE_ROTATE_TAG.search(stream_tail)
        if tag is not None:  # older files / ffmpeg: rotate is clockwise
            rotation = (-int(tag.group(1))) % 360
    rotation = int(round(rotation / 90.0)) * 90 % 360
    return StreamHeader(
        container=container,
        codec=video.group(1),
        coded_size=(int(size.group(1)), int(size.group(2))),
        fps=fps,
        duration=duration,
        rotation=rotation,
    )


_RE_PTS_TIME = re.compile(r"\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(\S+)")


def parse_pts_time(line: str) -> float | None:
    """The ``pts_time`` of one ``showinfo`` log line, or ``None`` if the line is not a frame."""
    match = _RE_PTS_TIME.search(line)
    if match is None:
        return None
    try:
        return float(match.group(1))
    except ValueError:  # NOPTS
        return float("nan")


def decode_args(path: Path, seek: float | None = None) -> list[str]:
    """ffmpeg arguments (after the executable) that decode the first video stream of ``path`` in
    presentation order, up to the output options.

    ``0:V:0`` is the first video stream that is not an attached picture (cover art).
    Every decoded frame comes out exactly once (``-fps_mode passthrough``) and is logged by
    ``showinfo`` with its original timestamp (``-copyts``), so callers can tell which frame a
    seek landed on. ``seek`` (seconds from the start of the file) seeks to the keyframe before
    that time without trimming (``-noaccurate_seek``).
    """
    args = ["-hide_banner", "-nostdin", "-v", "info", "-copyts"]
    if seek is not None and seek > 0:
        args += ["-noaccurate_seek", "-ss", f"{seek:.6f}"]
    return args + ["-i", file_url(path), "-map", "0:V:0", "-an", "-sn", "-dn",
                   "-vf", "showinfo=checksum=0", "-fps_mode", "passthrough"]


_RE_TIMEBASE = re.compile(r"^#tb 0: (\d+)/(\d+)", re.M)
_NOPTS = -(2**63)


#: Packet flags printed by ffmpeg's ``framecrc`` muxer (``F=0x..``).
_PKT_CORRUPT = 0x2
_PKT_DISCARD = 0x4


def packet_timestamps(path: Path, timeout: float = 120.0) -> list[float] | None:
    """Presentation times (s) of the first video stream's frames from its packets, sorted,
    without decoding.

    Fast (the container index is read, nothing is decoded). Packets the demuxer marks as
    discarded (edit lists) are skipped. Returns ``None`` when the packets cannot be trusted to
    match the decoded frames -- no or repeated timestamps, a cut-off or corrupt packet -- so the
    caller can fall back to :func:`frame_timestamps`.
    """
    proc = run_ffmpeg(["-hide_banner", "-nostdin", "-v", "error", "-copyts", "-i", file_url(path),
                       "-map", "0:V:0", "-c", "copy", "-f", "framecrc", "-"], Path(path), timeout)
    tb = _RE_TIMEBASE.search(proc.stdout)
    if proc.returncode != 0 or tb is None or "partial file" in proc.stderr:
        return None
    scale = int(tb.group(1)) / int(tb.group(2))
    pts: list[int] = []
    for line in proc.stdout.splitlines():
        if line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 5:
            continue
        flags = next((int(f[2:], 16) for f in fields[6:] if f.startswith("F=")), 0)
        if flags & _PKT_CORRUPT:
            return None
        if flags & _PKT_DISCARD:
            continue
        value = int(fields[2])
        if value == _NOPTS:
            return None
        pts.append(value)
    pts.sort()
    if not pts or any(b <= a for a, b in zip(pts, pts[1:])):
        return None
    return [v * scale for v in pts]


def frame_timestamps(path: Path, timeout: float = 600.0) -> list[float]:
    """Decode the first video stream of ``path`` once; the timestamp (s) of every frame, in order."""
    proc = run_ffmpeg([*decode_args(Path(path)), "-f", "null", "-"], Path(path), timeout)
    stamps = [t for t in map(parse_pts_time, proc.stderr.splitlines()) if t is not None]
    if proc.returncode != 0 and not stamps:
        raise _video_error(
            Path(path),
            f"ffmpeg could not decode {path}; the file is damaged or uses an unsupported codec. "
            "Re-export it as MP4/H.264.",
            proc.stderr.strip()[-2000:],
        )
    return stamps
