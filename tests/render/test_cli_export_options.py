"""``studio render`` export options: the driving video's sound (--audio/--no-audio), the output
frame rate (--fps with --fps-mode) and the export scale (--scale)."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.cli import render as cli_render
from studio.core.project import Project
from studio.media.audio import audio_codec, decode_mono
from studio.media.ffmpeg import ffmpeg_exe
from studio.media.video import VideoReader

FPS = 16  # the sample project's rate
TONE_AT = 2.0
RATE = 48000


def run(*argv) -> int:
    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", *map(str, argv)])
    return args.func(args)


@pytest.fixture(scope="module")
def project_with_sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project driven by a 16 fps clip (48 frames) whose sound is a tone from 2 s."""
    folder = tmp_path_factory.mktemp("sound")
    video = folder / "drive.mp4"
    tone = f"aevalsrc='if(gte(t,{TONE_AT}),0.5*sin(2*PI*1000*t),0)':s={RATE}:d=3"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc=size=64x112:rate={FPS}:duration=3",
                    "-f", "lavfi", "-i", tone, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-shortest", str(video)], check=True)
    p = Project.load(cli_render.sample_project_path())
    p.driving_video = video
    p.render_dir = None
    return p.save(folder / "sound.studio.json")


SMALL = ("--size", "64x112", "--no-progress")


def test_render_keeps_the_sound_of_the_rendered_range(project_with_sound: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    assert run("--project", project_with_sound, *SMALL, "--frames", "16:48", "-o", out) == 0
    assert audio_codec(out) == "aac"
    with VideoReader(out) as r:
        seconds = r.frame_count / r.fps
    assert seconds == pytest.approx(2.0)
    sound = decode_mono(out, rate=RATE)
    assert abs(len(sound) / RATE - seconds) <= 1 / FPS
    onset = np.flatnonzero(np.abs(sound) > 0.1)[0] / RATE
    assert onset == pytest.approx(TONE_AT - 16 / FPS, abs=0.25 / FPS)  # 1 s into the export


def test_no_audio_and_gif_have_no_sound(project_with_sound: Path, tmp_path: Path) -> None:
    out = tmp_path / "quiet.webm"
    assert run("--project", project_with_sound, *SMALL, "--frames", "0:8", "--no-audio", "-o", out) == 0
    assert audio_codec(out) is None
    assert run("--project", project_with_sound, *SMALL, "--frames", "0:8", "-o", tmp_path / "a.gif") == 0


def test_fps_conversion_keeps_the_duration_and_the_sound_in_sync(project_with_sound: Path, tmp_path: Path) -> None:
    out = tmp_path / "8fps.mp4"
    assert run("--project", project_with_sound, *SMALL, "--frames", "0:48", "--fps", "8", "--fps-mode", "blend",
               "--scale", "50%", "-o", out) == 0
    with VideoReader(out) as r:
        assert r.fps == pytest.approx(8) and r.frame_count == 24  # 3 s either way
        assert r.size == (32, 56)
    assert abs(len(decode_mono(out, rate=RATE)) / RATE - 3.0) <= 1 / 8


@pytest.mark.parametrize("bad", ["10%", "3", "big"])
def test_bad_scale_is_refused(bad: str) -> None:
    with pytest.raises(SystemExit):
        run("--sample", "--scale", bad, "-o", "x.mp4")


def test_panels_choose_the_side_by_side_content_and_order(tmp_path: Path) -> None:
    base = ("--sample", "--size", "64x112", "--frames", "0:4", "--no-progress")
    assert run(*base, "--side-by-side", "-o", tmp_path / "a/") == 0  # pose | result (no driving video)
    assert run(*base, "--panels", "result,pose", "-o", tmp_path / "b/") == 0
    from studio.media.image import load_image

    a = load_image(sorted((tmp_path / "a").glob("*.png"))[1], min_side=1).pixels
    b = load_image(sorted((tmp_path / "b").glob("*.png"))[1], min_side=1).pixels
    assert a.shape == b.shape == (112, 128, 3)
    assert np.array_equal(a[:, :64], b[:, 64:]) and np.array_equal(a[:, 64:], b[:, :64])  # swapped
    with pytest.raises(SystemExit):
        run(*base, "--panels", "pose,pose", "-o", tmp_path / "c/")
