"""``studio render`` on the sample with the draft backend: exports, side-by-side, Ctrl-C, resume."""

import argparse
import os
import signal

import numpy as np
import pytest

from studio.cli import render as cli_render
from studio.core.errors import StudioError
from studio.core.events import FramesReady
from studio.media.video import VideoReader


def parse(*argv):
    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["render", *map(str, argv)])


def run(*argv):
    args = parse(*argv)
    return args.func(args)


SMALL = ("--sample", "--size", "128x224", "--frames", "0:16", "--no-progress")


def test_sample_to_mp4_and_side_by_side(tmp_path):
    out = tmp_path / "out.mp4"
    assert run(*SMALL, "-o", out) == 0
    with VideoReader(out) as r:
        assert r.size == (128, 224) and r.frame_count == 16
        first = r.read(0)
    assert first.std() > 10  # a picture, not a blank frame
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]  # no out.mp4.frames left beside it

    sbs = tmp_path / "sbs.mp4"
    assert run(*SMALL, "--side-by-side", "-o", sbs) == 0
    with VideoReader(sbs) as r:
        assert r.size == (256, 224) and r.frame_count == 16  # pose | result (no driving video)
        frame = r.read(3)
    left, right = frame[:, :128].astype(int), frame[:, 128:].astype(int)
    assert (left < 30).mean() > 0.8  # the skeleton panel is mostly black
    assert (right < 30).mean() < 0.5


def test_png_folder_output_is_the_render_folder(tmp_path):
    out = tmp_path / "frames"
    assert run(*SMALL, "--frames", "0:4", "-o", out) == 0
    assert sorted(p.name for p in out.glob("*.png")) == [f"frame_{i:06d}.png" for i in range(4)]


def test_ctrl_c_keeps_frames_and_resume_finishes(tmp_path, monkeypatch, capsys):
    from studio.backends.draft.backend import DraftBackend

    class InterruptOnce(DraftBackend):
        """Sends this process a real SIGINT after its first chunk, the first time it renders."""

        armed = True

        def render(self, job, cancel):
            for ev in super().render(job, cancel):
                yield ev
                if isinstance(ev, FramesReady) and self.armed:
                    self.armed = False
                    os.kill(os.getpid(), signal.SIGINT)

    backend = InterruptOnce(chunk=4)  # one instance: the draft rig is built once for all runs
    monkeypatch.setattr("studio.core.registry.create_backend", lambda name, *a, **k: backend)
    out = tmp_path / "out.mp4"
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest was started in the background
    assert run(*SMALL, "-o", out) == 130
    err = capsys.readouterr().err
    assert "4 of 16 frames" in err and "--resume" in err and str(tmp_path / "out.mp4.frames") in err
    assert not out.exists()
    assert len(list((tmp_path / "out.mp4.frames").glob("frame_*.png"))) == 4
    assert signal.getsignal(signal.SIGINT) is before  # the handler found is put back

    assert run(*SMALL, "--resume", "-o", out) == 0
    with VideoReader(out) as r:
        assert r.frame_count == 16
    assert not (tmp_path / "out.mp4.frames").exists()  # served the resume; gone once out.mp4 is written

    ref = tmp_path / "ref.mp4"
    assert run(*SMALL, "-o", ref) == 0
    assert out.read_bytes() == ref.read_bytes()  # the resumed render is the uninterrupted one


@pytest.mark.parametrize(
    "argv, words",
    [
        (("--sample", "--size", "100x100", "-o", "x.mp4"), "width"),
        (("--sample", "--frames", "60:70", "-o", "x.mp4"), "frame range"),
        (("--sample", "-o", "x.avi"), ".avi"),
        (("--sample", "--image", "a.png", "--video", "b.mp4", "-o", "x.mp4"), "exactly one"),
        (("--image", "missing.png", "--video", "missing.mp4", "-o", "x.mp4"), "does not exist"),
    ],
)
def test_bad_inputs_are_studio_errors(tmp_path, argv, words):
    argv = [str(tmp_path / a) if a.endswith((".mp4", ".avi", ".png")) else a for a in argv]
    with pytest.raises(StudioError) as info:
        run(*argv, "--no-progress")
    assert words in str(info.value)


def test_bad_range_text_is_an_argparse_error():
    with pytest.raises(SystemExit):
        parse("--sample", "--frames", "9:3", "-o", "x.mp4")
    with pytest.raises(SystemExit):
        parse("--sample", "--size", "big", "-o", "x.mp4")


def test_settings_overrides():
    args = parse("--sample", "--steps", "3", "--seed", "7", "--schedule", "stream", "--overlap", "2",
                 "--size", "64x96", "--cfg", "2.5", "--backend", "xdyna", "-o", "x.mp4")
    from studio.core.settings import RenderSettings

    s = cli_render.build_settings(RenderSettings(), args)
    o = s.options
    assert (o.steps, s.seed, o.schedule, o.overlap, s.width, s.height, o.cfg, s.backend) == (
        3, 7, "stream", 2, 64, 96, 2.5, "xdyna")
    assert np.isclose(o.cfg, 2.5)


def test_image_and_video_extracts_then_renders_side_by_side(tmp_path, monkeypatch):
    """--image/--video: pose extraction through studio.extract (cached), driving | pose | result."""
    import cv2
    from skimage import data

    from studio.media.exporters import export_frames

    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    photo = cv2.resize(data.astronaut(), (256, 256))
    clip = [cv2.warpAffine(photo, np.float32([[1, 0, 3 * i], [0, 1, 2 * i]]), (256, 256),
                           borderMode=cv2.BORDER_REPLICATE) for i in range(6)]
    export_frames(clip, 8, tmp_path / "clip.mp4")
    cv2.imwrite(str(tmp_path / "ref.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    argv = ("--image", tmp_path / "ref.png", "--video", tmp_path / "clip.mp4", "--size", "128x128",
            "--side-by-side", "--no-progress", "--render-dir", tmp_path / "sbs.mp4.frames")  # kept: read below
    assert run(*argv, "-o", tmp_path / "sbs.mp4") == 0
    from studio.core.files import read_png

    with VideoReader(tmp_path / "sbs.mp4") as r:
        assert r.size == (384, 128) and r.frame_count == 6
        frames = [r.read(k).astype(int) for k in range(6)]
    # H.264 at default quality moves pixels by about 4 grey levels on average here: each panel must
    # be its source up to that (a wrong frame or a shifted panel is 20+ levels off)
    codec = 8
    for k, frame in enumerate(frames):
        driving, pose, result = frame[:, :128], frame[:, 128:256], frame[:, 256:]
        source = cv2.resize(clip[k], (128, 128), interpolation=cv2.INTER_AREA).astype(int)
        assert np.abs(driving - source).mean() < codec, k  # the driving frame k, fitted to the canvas
        png = read_png(tmp_path / "sbs.mp4.frames" / f"frame_{k:06d}.png").astype(int)
        assert np.abs(result - png).mean() < codec, k  # the rendered frame k
        assert (pose < 30).mean() > 0.8 and (pose.max(axis=2) > 150).sum() > 50  # skeleton on black
    # frame 0 drives with the photo's own pose: the draft gives back the photo (segmentation edges
    # and the filled background cost about 18 levels; a wrong warp or colour costs far more)
    photo_small = cv2.resize(photo, (128, 128), interpolation=cv2.INTER_AREA).astype(int)
    assert np.abs(read_png(tmp_path / "sbs.mp4.frames" / "frame_000000.png").astype(int) - photo_small).mean() < 25
    assert any((tmp_path / "cache").rglob("*")), "the extraction was cached"


def test_project_file_renders_into_its_render_folder(tmp_path):
    from studio.core.project import Project

    p = Project.load(cli_render.sample_project_path())
    p.frame_range = (4, 10)
    p.render_dir = None
    saved = p.save(tmp_path / "clip.studio.json")
    assert run("--project", saved, "--size", "128x224", "--no-progress", "-o", tmp_path / "clip.gif") == 0
    renders = tmp_path / "clip.renders"
    assert sorted(q.name for q in renders.glob("frame_*.png")) == [f"frame_{i:06d}.png" for i in range(4, 10)]
    assert (tmp_path / "clip.gif").stat().st_size > 0
    # --frames overrides the project's range; finished frames are reused with --resume
    assert run("--project", saved, "--size", "128x224", "--frames", "6:8", "--resume", "--no-progress",
               "-o", tmp_path / "part.webm") == 0
    with VideoReader(tmp_path / "part.webm") as r:
        assert r.frame_count == 2


def test_the_progress_bars_show_each_phase_s_message(tmp_path, capsys):
    """The backend's Progress messages (here the draft's setup notes) reach the terminal with the bars."""
    assert run("--sample", "--size", "128x224", "--frames", "0:2", "-o", tmp_path / "frames") == 0
    err = capsys.readouterr().err
    assert "Preparing the reference photo" in err and "Setup took" in err and "2/2 frames" in err
