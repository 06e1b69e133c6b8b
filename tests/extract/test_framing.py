"""Framing: the photo's offset and scale and the video's crop on the output canvas, applied in
one place (CanvasFit / ModelView) that the conditioning, the draft renderer, live photos and the
Pose pane all use; presets and the CLI options."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.settings import RenderSettings
from studio.core.tracks import PoseTrack
from studio.extract.fit import CanvasFit
from studio.extract.framing import fit_scale, parse_offset, preset_changes
from studio.extract.model_view import ModelView, model_pose, photo_fit


def test_placed_moves_and_scales_about_the_canvas_centre() -> None:
    base = CanvasFit.create(400, 800, 200, 400, "center")
    moved = base.placed((0.1, -0.05), 0.5)
    centre = base.from_canvas_norm(np.array([0.5, 0.5]))
    assert np.allclose(moved.to_canvas_norm(centre), [0.6, 0.45], atol=1e-6)
    a, b = base.from_canvas_norm(np.array([[0.3, 0.5], [0.7, 0.5]]))
    da = np.diff(moved.to_canvas_norm(np.stack([a, b])), axis=0)[0, 0]
    assert da == pytest.approx(0.4 * 0.5, abs=1e-6)  # distances scale by 0.5
    assert base.placed() is base
    with pytest.raises(StudioError, match="must be positive"):
        base.placed((0, 0), 0)


def test_placed_image_shifts_and_repeats_edges() -> None:
    img = np.zeros((100, 50, 3), np.uint8)
    img[40:60, 20:30] = 255  # a white block in the middle
    fit = CanvasFit.create(50, 100, 50, 100, "center")
    assert np.array_equal(fit.apply(img), img)  # whole-pixel crops keep the official resize
    out = fit.placed((0.2, 0.0), 1.0).apply(img)
    cols = np.flatnonzero(out[50, :, 0] > 128)
    assert cols.min() == 30 and cols.max() == 39  # moved right by 0.2 * 50 px


def test_fit_mode_letterboxes_the_whole_frame() -> None:
    frame = np.full((100, 200, 3), 200, np.uint8)  # landscape video on a portrait canvas
    fit = CanvasFit.create(200, 100, 64, 112, "fit")
    out = fit.apply(frame)
    assert out.shape == (112, 64, 3)
    assert out[:30].max() == 0 and out[-30:].max() == 0 and out[56, 32, 0] == 200  # bars above/below
    corners = fit.to_canvas_norm(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert np.allclose(corners[:, 0], [0, 1], atol=1e-6) and 0 < corners[0, 1] < corners[1, 1] < 1


def reference_pose() -> PoseTrack:
    p = PoseTrack.empty(1, 100, 200, 25.0)
    rng = np.random.default_rng(1)
    p.body[0] = np.clip(0.5 + 0.2 * rng.standard_normal((18, 2)), 0.1, 0.9)
    p.body_conf[0] = 1.0
    p.flags[:] = 0
    return p


def test_skeleton_takes_the_photo_scale_and_the_video_crop() -> None:
    """The retargeted skeleton gets the limb lengths of the person as placed on the canvas (so it
    scales with the photo) and stands where the video crop puts the dancer (the default
    retargeting keeps the dancer's place: moving the photo does not move the skeleton)."""
    ref = reference_pose()
    drive = PoseTrack.empty(3, 100, 200, 25.0)
    drive.body[:] = ref.body[0]
    drive.body[:, :, 0] += np.arange(3)[:, None] * 0.01
    drive.body_conf[:] = 1.0
    drive.flags[:] = 0

    def torso(pose: PoseTrack) -> float:
        b = pose.body[0] * [pose.width, pose.height]
        return float(np.linalg.norm(b[1] - 0.5 * (b[8] + b[11])))

    plain = model_pose(drive, ModelView(64, 128, ref, True))
    moved = model_pose(drive, ModelView(64, 128, ref, True, photo_offset=(0.1, 0.05)))
    assert np.allclose(moved.body, plain.body, atol=1e-5)
    half = model_pose(drive, ModelView(64, 128, ref, True, photo_scale=0.5))
    assert torso(half) == pytest.approx(0.5 * torso(plain), rel=0.02)
    square = PoseTrack(body=drive.body, body_conf=drive.body_conf, hands=drive.hands, hands_conf=drive.hands_conf,
                       flags=drive.flags, width=200, height=200, fps=25.0)  # a square video on a tall canvas
    letterboxed = model_pose(square, ModelView(64, 128, ref, False, video_fit="fit"))
    cropped = model_pose(square, ModelView(64, 128, ref, False))
    assert np.allclose(letterboxed.body[..., 1] - 0.5, 0.5 * (square.body[..., 1] - 0.5), atol=1e-4)  # bars
    assert not np.allclose(letterboxed.body, cropped.body)
    view = ModelView(64, 128, ref, True, photo_scale=0.5)
    assert photo_fit(100, 200, view).crop[2] == pytest.approx(200)  # half size: twice the crop


def test_presets_and_offsets() -> None:
    assert fit_scale((512, 896), (512, 896)) == pytest.approx(1.0)
    assert fit_scale((1000, 1000), (500, 1000)) == pytest.approx(0.5)
    assert preset_changes("official", None, (512, 896)) == {"photo_offset": (0.0, 0.0), "photo_scale": 1.0,
                                                            "video_fit": "top", "video_offset": (0.0, 0.0),
                                                            "video_scale": 1.0}
    assert preset_changes("fit", (1000, 1000), (500, 1000))["photo_scale"] == pytest.approx(0.5)
    with pytest.raises(StudioError, match="not one of"):
        preset_changes("zoom", None, (1, 1))
    assert parse_offset("0.1,-0.2") == (0.1, -0.2)
    with pytest.raises(StudioError, match="between -1 and 1"):
        parse_offset("2,0")


def test_default_framing_keeps_old_cache_keys() -> None:
    s = RenderSettings()
    assert s.default_framing
    assert s.fingerprint() != s.model_copy(update={"photo_scale": 0.8}).fingerprint()
    assert s.fingerprint() != s.model_copy(update={"video_fit": "fit"}).fingerprint()
    d = s.model_dump()
    assert "photo_offset" in d
    with pytest.raises(Exception, match="between -1 and 1"):
        RenderSettings(photo_offset=(1.5, 0))


def test_cli_framing_options() -> None:
    from studio.cli import render as cli_render

    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", "--sample", "--photo-offset", "0.1,0", "--photo-scale", "0.8", "--fit",
                              "center", "-o", "x.mp4"])
    s = cli_render.build_settings(RenderSettings(), args)
    assert (s.photo_offset, s.photo_scale, s.video_fit) == ((0.1, 0.0), 0.8, "center")
    args = parser.parse_args(["render", "--sample", "--fit", "-o", "x.mp4"])
    assert args.fit == "fit"
    with pytest.raises(SystemExit):
        parser.parse_args(["render", "--sample", "--photo-offset", "3,0", "-o", "x.mp4"])


def test_draft_render_moves_the_person_with_the_photo(tmp_path) -> None:
    from studio.backends.draft.backend import DraftBackend
    from studio.cli import render as cli_render
    from studio.core.project import Project
    from studio.core.render import run_job
    from studio.core.jobs import RenderJob
    from studio.core.events import FramesReady
    from studio.media.image import read_image

    p = Project.load(cli_render.sample_project_path())

    def frame0(**framing):
        s = RenderSettings(width=128, height=224, **framing)
        job = RenderJob(reference=read_image(p.reference_image), pose=p.pose, frames=(0,), settings=s,
                        reference_pose=p.reference_pose)
        backend = DraftBackend()
        ref = backend.rig_for(job).ref_pose
        frames = [e.frames[0] for e in run_job(job, backend, None) if isinstance(e, FramesReady)]
        return ref, frames[0]

    ref0, img0 = frame0()
    ref1, img1 = frame0(photo_offset=(0.25, 0.0))
    assert np.allclose(np.nanmean(ref1 - ref0, axis=0), [0.25 * 128, 0.0], atol=1.0)
    assert not np.array_equal(img0, img1)


def test_xdyna_reference_image_is_the_placed_photo() -> None:
    from studio.backends.xdyna import conditioning
    from studio.core.jobs import RenderJob

    photo = np.random.default_rng(0).integers(0, 255, (200, 100, 3), np.uint8)
    ref = reference_pose()
    plain = RenderJob(reference=photo, pose=ref, frames=(0,), settings=RenderSettings(width=64, height=128),
                      reference_pose=ref)
    framed = RenderJob(reference=photo, pose=ref, frames=(0,), reference_pose=ref,
                       settings=RenderSettings(width=64, height=128, photo_offset=(0.25, 0.0), photo_scale=0.5))
    assert not conditioning.photo_is_placed(plain) and conditioning.photo_is_placed(framed)
    a, b = conditioning.reference_image(plain), conditioning.reference_image(framed)
    assert a.shape == b.shape == (128, 64, 3)
    expected = photo_fit(100, 200, ModelView.for_job(framed)).apply(photo)
    assert np.array_equal(b, expected) and not np.array_equal(a, b)


def test_video_offset_and_scale_move_the_skeleton() -> None:
    drive = PoseTrack.empty(2, 100, 200, 25.0)
    drive.body[:] = reference_pose().body[0]
    drive.body_conf[:] = 1.0
    drive.flags[:] = 0
    plain = model_pose(drive, ModelView(64, 128, None, False))
    moved = model_pose(drive, ModelView(64, 128, None, False, video_offset=(-0.1, 0.2)))
    assert np.allclose(moved.body - plain.body, [-0.1, 0.2], atol=1e-5)
    small = model_pose(drive, ModelView(64, 128, None, False, video_scale=0.5))
    assert np.allclose(small.body - 0.5, 0.5 * (plain.body - 0.5), atol=1e-5)  # about the canvas centre
    s = RenderSettings(video_offset=(0.1, 0.0))
    assert s.fingerprint() != RenderSettings().fingerprint() and not s.default_framing
    assert preset_changes("official", None, (64, 128))["video_offset"] == (0.0, 0.0)


def test_cli_video_framing_options() -> None:
    from studio.cli import render as cli_render

    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", "--sample", "--video-offset", "0,-0.1", "--video-scale", "1.2", "-o", "x.mp4"])
    s = cli_render.build_settings(RenderSettings(), args)
    assert (s.video_offset, s.video_scale) == ((0.0, -0.1), 1.2)
