"""The driving video's sound: which slice of it belongs to a run of frames, that slice as a WAV
for an exporter to mux, and a per-frame loudness envelope for the timeline's waveform strip.

Times are the source's own presentation times (ffmpeg ``-copyts``), the same clock the video
reader's frame timestamps use, so frame ``i``'s sound starts exactly where frame ``i`` is shown.
Nothing here plays sound; playback in the studio stays silent.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.media.ffmpeg import (
    check_readable_file,
    ffmpeg_exe,
    file_url,
    frame_timestamps,
    packet_timestamps,
    run_ffmpeg,
)

#: Sample rate of the slices handed to encoders (Opus only takes 48 kHz; AAC is happy with it).
SLICE_RATE = 48000
#: Sample rate the waveform envelope is computed from (plenty for a strip a few pixels high).
ENVELOPE_RATE = 8000

_RE_AUDIO = re.compile(r"Stream #0:\d+.*?: Audio: (\w+)", re.M)


@dataclass(frozen=True)
class AudioSlice:
    """``duration`` seconds of ``source``'s first audio track from ``start`` (source time, s).

    Exporters write exactly ``duration`` seconds: silence fills whatever part of the slice the
    track does not cover, so the sound never runs shorter or longer than the frames.
    """

    source: Path
    start: float
    duration: float


def audio_codec(path: str | Path) -> str | None:
    """The codec name of ``path``'s first audio stream (e.g. ``aac``), or ``None`` without one."""
    path = check_readable_file(Path(path))
    proc = run_ffmpeg(["-hide_banner", "-nostdin", "-i", file_url(path)], path, timeout=60)
    match = _RE_AUDIO.search(proc.stderr)
    return match.group(1) if match else None


def frame_time(video: str | Path, index: int) -> float:
    """Presentation time (s, source clock) of frame ``index`` of ``video``."""
    video = Path(video)
    stamps = packet_timestamps(video) or frame_timestamps(video)
    if not stamps:
        raise StudioError(f"Cannot read the video {video.name}", f"{video} has no decodable frames.")
    if not 0 <= index < len(stamps):
        raise StudioError(
            "Frame outside the video",
            f"Frame {index} is outside {video.name}, which has {len(stamps)} frames. "
            "Choose a range inside the clip.",
        )
    return float(stamps[index])


def slice_for_frames(video: str | Path, first: int, count: int, fps: float) -> AudioSlice | None:
    """The sound under frames ``first .. first+count-1`` of ``video`` played at ``fps``, or
    ``None`` when the video has no audio track."""
    if count < 1 or not fps > 0:
        raise StudioError("Nothing to export", f"{count} frames at {fps:g} fps have no sound to cut.")
    video = Path(video)
    if audio_codec(video) is None:
        return None
    return AudioSlice(video, frame_time(video, first), count / float(fps))


def write_slice_wav(clip: AudioSlice, out: Path, timeout: float = 300.0) -> Path:
    """Write ``clip`` as 16-bit stereo PCM at :data:`SLICE_RATE` to ``out``, exactly
    ``clip.duration`` long (padded with silence where the track is shorter or starts later)."""
    src = check_readable_file(clip.source)
    start, dur = max(0.0, clip.start), clip.duration
    samples = int(round(dur * SLICE_RATE))
    graph = (
        f"atrim=start={start:.6f}:end={start + dur:.6f},"
        f"asetpts=PTS-{start:.6f}/TB,"
        f"aresample={SLICE_RATE}:async=1:first_pts=0,"
        f"apad=whole_len={samples},atrim=end_sample={samples}"
    )
    proc = run_ffmpeg(["-hide_banner", "-nostdin", "-v", "error", "-y", "-copyts", "-i", file_url(src),
                       "-map", "0:a:0", "-vn", "-af", graph, "-ac", "2", "-ar", str(SLICE_RATE),
                       "-c:a", "pcm_s16le", "-f", "wav", file_url(Path(out))], src, timeout)
    if proc.returncode != 0 or not Path(out).is_file():
        raise StudioError(
            f"Cannot read the sound of {src.name}",
            f"ffmpeg could not decode the audio track of {src}. Export without sound "
            "(untick 'Include sound' or pass --no-audio), or re-encode the video's audio as AAC.",
            proc.stderr.strip()[-2000:],
        )
    return Path(out)


def decode_mono(path: str | Path, rate: int = ENVELOPE_RATE, timeout: float = 300.0) -> np.ndarray:
    """The first audio track of ``path`` as mono float32 samples at ``rate``; sample ``k`` plays
    at source time ``k / rate`` (silence is filled in before a track that starts late).
    Raises :class:`StudioError` when the file has no decodable audio."""
    path = check_readable_file(Path(path))
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-copyts", "-i", file_url(path),
           "-map", "0:a:0", "-vn", "-af", f"aresample={rate}:async=1:first_pts=0", "-ac", "1",
           "-f", "s16le", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (subprocess.TimeoutExpired, OSError) as err:
        raise StudioError(f"Cannot read the sound of {path.name}",
                          f"ffmpeg could not decode the audio of {path} in time.", str(err)) from err
    if proc.returncode != 0:
        raise StudioError(
            f"Cannot read the sound of {path.name}",
            f"{path} has no audio track ffmpeg can decode.",
            proc.stderr.decode(errors="replace")[-2000:],
        )
    return np.frombuffer(proc.stdout, np.int16).astype(np.float32) / 32768.0


def frame_envelope(video: str | Path, stamps: list[float] | None = None, fps: float | None = None) -> np.ndarray | None:
    """Peak loudness (0..1) of the sound under each frame of ``video`` (``None`` without audio).

    ``stamps`` are the frames' presentation times (default: read from the video); frame ``i``
    covers ``[stamps[i], stamps[i+1])``, the last one ``1/fps`` seconds.
    """
    video = Path(video)
    if audio_codec(video) is None:
        return None
    if stamps is None:
        stamps = packet_timestamps(video) or frame_timestamps(video)
    if not stamps:
        return np.zeros(0, np.float32)
    samples = decode_mono(video)
    step = 1.0 / fps if fps else (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1) or 0.04
    edges = np.asarray([*stamps, stamps[-1] + step], np.float64)
    idx = np.clip(np.round(edges * ENVELOPE_RATE).astype(np.int64), 0, len(samples))
    out = np.zeros(len(stamps), np.float32)
    mags = np.abs(samples)
    for i in range(len(stamps)):
        a, b = idx[i], idx[i + 1]
        if b > a:
            out[i] = float(mags[a:b].max())
    return out
