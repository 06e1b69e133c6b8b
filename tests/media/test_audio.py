"""Sound: exports carry the driving video's audio under exactly the exported frames, in sync."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.media.audio import audio_codec, decode_mono, frame_envelope, slice_for_frames
from studio.media.exporters import GIFExporter, MP4Exporter, WebMExporter
from studio.media.ffmpeg import ffmpeg_exe, frame_timestamps
from tests.media.conftest import index_frame

FPS = 24
TONE_AT = 1.5  # seconds: silence before, a 1 kHz tone after
RATE = 48000


def _tone_video(path: Path, seconds: float = 4.0, audio_codec_args: tuple[str, ...] = ("-c:a", "aac")) -> Path:
    """A 24 fps clip whose audio is silent until :data:`TONE_AT`, then a loud 1 kHz tone."""
    tone = f"aevalsrc='if(gte(t,{TONE_AT}),0.5*sin(2*PI*1000*t),0)':s={RATE}:d={seconds}"
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc=size=64x48:rate={FPS}:duration={seconds}",
           "-f", "lavfi", "-i", tone, "-c:v", "libx264", "-pix_fmt", "yuv420p", *audio_codec_args,
           "-shortest", str(path)]
    subprocess.run(cmd, check=True)
    return path


@pytest.fixture(scope="module")
def tone_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tone_video(tmp_path_factory.mktemp("tone") / "tone.mp4")


def _onset(samples: np.ndarray, rate: int) -> float:
    """Time (s) of the first sample louder than a fifth of the tone's amplitude."""
    loud = np.flatnonzero(np.abs(samples) > 0.1)
    assert loud.size, "no tone in the export"
    return loud[0] / rate


@pytest.mark.parametrize("exporter, suffix", [(MP4Exporter(preset="ultrafast"), ".mp4"), (WebMExporter(cpu_used=8), ".webm")])
def test_48_frames_carry_their_slice_of_sound_in_sync(tone_video: Path, tmp_path: Path, exporter, suffix) -> None:
    first, n = 12, 48  # frames 12..59: 0.5 s to 2.5 s of the source; the tone starts 1.0 s in
    clip = slice_for_frames(tone_video, first, n, FPS)
    assert clip is not None and clip.start == pytest.approx(first / FPS, abs=1e-3)
    out = exporter.write([index_frame(i, 64, 48) for i in range(n)], FPS, tmp_path / f"out{suffix}", audio=clip)

    assert audio_codec(out) == ("aac" if suffix == ".mp4" else "opus")
    video_seconds = len(frame_timestamps(out)) / FPS
    assert video_seconds == pytest.approx(n / FPS)
    sound = decode_mono(out, rate=RATE)
    audio_seconds = len(sound) / RATE
    assert abs(audio_seconds - video_seconds) <= 1 / FPS  # within one frame
    assert _onset(sound, RATE) == pytest.approx(TONE_AT - first / FPS, abs=0.25 / FPS)


def test_slice_from_the_start_keeps_the_silence(tone_video: Path, tmp_path: Path) -> None:
    clip = slice_for_frames(tone_video, 0, 48, FPS)
    out = MP4Exporter(preset="ultrafast").write([index_frame(i, 64, 48) for i in range(48)], FPS,
                                                tmp_path / "a.mp4", audio=clip)
    assert _onset(decode_mono(out, rate=RATE), RATE) == pytest.approx(TONE_AT, abs=0.25 / FPS)


def test_slice_past_the_sound_is_padded_with_silence(tmp_path: Path) -> None:
    """A track shorter than the frames is filled with silence: the sound never ends early."""
    video = _tone_video(tmp_path / "short.mp4", seconds=2.0)
    clip = slice_for_frames(video, 24, 24, FPS)  # 1.0 s .. 2.0 s, fine
    longer = type(clip)(clip.source, clip.start, 3.0)  # asks for 1 s past the end of the track
    out = MP4Exporter(preset="ultrafast").write([index_frame(i, 64, 48) for i in range(72)], FPS,
                                                tmp_path / "long.mp4", audio=longer)
    sound = decode_mono(out, rate=RATE)
    assert abs(len(sound) / RATE - 3.0) <= 1 / FPS
    assert np.abs(sound[int(2.2 * RATE):]).max() < 0.01  # the part past the track is silent


def test_formats_without_sound_ignore_it(tone_video: Path, tmp_path: Path) -> None:
    clip = slice_for_frames(tone_video, 0, 8, FPS)
    out = GIFExporter().write([index_frame(i, 64, 48) for i in range(8)], FPS, tmp_path / "a.gif", audio=clip)
    assert out.is_file()


def test_silent_video_has_no_slice(make_video) -> None:
    video = make_video("silent.mp4", 10)
    assert audio_codec(video) is None
    assert slice_for_frames(video, 0, 10, 25) is None
    assert frame_envelope(video) is None


def test_envelope_follows_the_tone(tone_video: Path) -> None:
    env = frame_envelope(tone_video)
    assert env is not None and len(env) == 4 * FPS
    onset = int(TONE_AT * FPS)
    assert env[: onset - 1].max() < 0.01
    assert env[onset + 1:].min() > 0.3


def test_frame_outside_the_video_is_named(tone_video: Path) -> None:
    with pytest.raises(StudioError, match="Frame 500 is outside tone.mp4"):
        slice_for_frames(tone_video, 500, 10, FPS)


def test_studio_export_keeps_the_sound_and_scales(tone_video: Path, tmp_path: Path) -> None:
    import argparse

    from studio.cli import export as cli_export
    from studio.media.video import VideoReader

    parser = argparse.ArgumentParser(prog="studio")
    cli_export.register(parser.add_subparsers(dest="command"))

    def run(*argv):
        args = parser.parse_args(["export", *map(str, argv)])
        return args.func(args)

    assert run(tone_video, "-o", tmp_path / "a.webm", "--scale", "0.5", "--no-progress") == 0
    assert audio_codec(tmp_path / "a.webm") == "opus"
    assert _onset(decode_mono(tmp_path / "a.webm", rate=RATE), RATE) == pytest.approx(TONE_AT, abs=0.25 / FPS)
    with VideoReader(tmp_path / "a.webm") as r:
        assert r.size == (32, 24)
    assert run(tone_video, "-o", tmp_path / "b.mp4", "--no-audio", "--no-progress") == 0
    assert audio_codec(tmp_path / "b.mp4") is None
    assert run(tone_video, "-o", tmp_path / "c.mp4", "--fps", "12", "--no-progress") == 0  # retimed: no sound
    assert audio_codec(tmp_path / "c.mp4") is None
    with pytest.raises(StudioError, match="between 0.25 and 2"):
        run(tone_video, "-o", tmp_path / "d.mp4", "--scale", "3")
