"""Live photos: no driving video; the photo's own pose (and face) held on every frame.

* the draft renderer (``studio render --image ... --live-photo``) writes a clip that moves while
  the person stays within a few pixels of the photo's pose;
* X-Dyna with tiny weights is conditioned on the photo's skeleton (and the photo's face for
  S-Face) on every frame: checked on the tensors that reach the ControlNets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from studio.backends.draft.idle import MAX_SHIFT, idle_poses
from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.core.project import Project
from studio.core.settings import RenderSettings
from studio.core.tracks import FLAG_HELD, FaceTrack, PoseTrack
from studio.extract.fit import CanvasFit
from studio.extract.live_photo import held_pose, is_held, live_tracks

REPO = Path(__file__).resolve().parents[2]
PHOTO = REPO / "resources" / "sample" / "reference.png"
CASE = REPO / "tests" / "fixtures" / "xdyna_tiny" / "b_sface_28f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def run(*argv) -> int:
    from studio.cli import render as cli_render

    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", *map(str, argv)])
    return args.func(args)


def synthetic_reference(w: int = 64, h: int = 64) -> tuple[PoseTrack, FaceTrack]:
    """A standing person (OpenPose 18) and a face on a ``w`` x ``h`` photo."""
    pose = PoseTrack.empty(1, w, h, 25.0)
    pts = {0: (.5, .18), 1: (.5, .3), 2: (.4, .3), 3: (.36, .45), 4: (.34, .58), 5: (.6, .3), 6: (.64, .45),
           7: (.66, .58), 8: (.44, .6), 9: (.44, .78), 10: (.44, .95), 11: (.56, .6), 12: (.56, .78),
           13: (.56, .95), 14: (.48, .16), 15: (.52, .16), 16: (.46, .17), 17: (.54, .17)}
    for k, xy in pts.items():
        pose.body[0, k] = xy
        pose.body_conf[0, k] = 1.0
    pose.flags[:] = 0
    face = FaceTrack.empty(1, w, h, 25.0)
    face.box[0] = (.42, .08, .58, .26)
    face.left_eye[0], face.right_eye[0], face.mouth[0] = (.46, .15), (.54, .15), (.5, .22)
    face.conf[0] = 1.0
    face.flags[:] = 0
    return pose, face


def test_held_tracks_sit_where_the_photo_sits_on_the_canvas() -> None:
    ref, face = synthetic_reference(80, 64)  # a wider photo than the canvas: centre crop
    pose, held_f = live_tracks(ref, face, 2.0, 12, 64, 96)
    assert len(pose) == 24 and is_held(pose) and (pose.flags == FLAG_HELD).all()
    fit = CanvasFit.create(80, 64, 64, 96, "center")
    assert np.allclose(pose.body[17], fit.to_canvas_norm(ref.body[0]), equal_nan=True)
    assert held_f is not None and np.allclose(held_f.mouth[5], fit.to_canvas_norm(face.mouth[0]))
    with pytest.raises(StudioError, match="No person found in the photo"):
        held_pose(PoseTrack.empty(1, 64, 64, 25), 4, 25, 64, 64)
    with pytest.raises(StudioError, match="at most 60 seconds"):
        live_tracks(ref, face, 90, 25, 64, 64)


def test_idle_motion_breathes_sways_and_scales_with_the_amount() -> None:
    ref, _ = synthetic_reference(512, 896)
    ref_px = ref.body[0] * [512, 896]
    torso = float(np.hypot(*(ref_px[1] - (ref_px[8] + ref_px[11]) / 2)))
    poses = idle_poses(ref_px, range(100), 25.0)
    shift = np.hypot(*(poses - ref_px).transpose(2, 0, 1))
    assert np.allclose(poses[0], ref_px)  # starts at the photo's pose
    assert shift.max() <= MAX_SHIFT * torso + 1e-6  # stays near it
    assert shift[:, [0, 1]].max() > 0.04 * torso  # the head and neck visibly move
    assert np.allclose(poses[:, [10, 13]], ref_px[[10, 13]])  # the feet stay planted
    assert (poses[:, 1, 1] < ref_px[1, 1] - 0.01 * torso).any()  # the chest rises
    assert np.allclose(idle_poses(ref_px, range(20), 25.0, amount=0.0), ref_px)  # 0: still
    speed = [float(np.abs(np.diff(idle_poses(ref_px, range(50), 25.0, amount=a), axis=0)).mean())
             for a in (0.5, 1.0, 2.0)]
    assert speed[0] < speed[1] < speed[2] and speed[2] > 1.6 * speed[1] > 2.5 * speed[0]


def _mean_change(frames: list[np.ndarray]) -> float:
    """Mean absolute change between consecutive frames, in grey levels."""
    import cv2

    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for f in frames]
    return float(np.mean([np.abs(a - b).mean() for a, b in zip(grey[1:], grey[:-1])]))


def _draft_live(photo: Path, amount: float = 1.0, size: tuple[int, int] = (512, 896)) -> list[np.ndarray]:
    """A 2 s, 25 fps draft live photo of ``photo`` (the defaults of ``studio render --live-photo``)."""
    from studio.backends.draft.backend import DraftBackend
    from studio.core.cancel import CancelToken
    from studio.core.events import FramesReady
    from studio.extract.image import detect_image
    from studio.media.image import read_image

    rgb = read_image(photo)
    pose, face = detect_image(rgb)
    s = RenderSettings(width=size[0], height=size[1], live_motion=amount)
    held, held_f = live_tracks(pose, face, 2.0, 25.0, s.width, s.height)
    job = RenderJob(reference=rgb, pose=held, frames=tuple(range(len(held))), settings=s, face=held_f,
                    reference_pose=pose)
    return [f for ev in DraftBackend().render(job, CancelToken()) if isinstance(ev, FramesReady) for f in ev.frames]


SHIPPED = [PHOTO, REPO / "resources" / "sample_real" / "reference.jpg",
           REPO / "tests" / "fixtures" / "real_dance" / "reference_1.png"]


@pytest.mark.parametrize("photo", SHIPPED, ids=lambda p: p.name)
def test_draft_live_photo_visibly_moves_on_the_shipped_photos(photo: Path) -> None:
    """Before: 0.013 grey levels a frame (a still); now 0.25-0.41 at 512x896 and the default amount."""
    frames = _draft_live(photo)
    assert len(frames) == 50
    assert _mean_change(frames) > 0.2


def test_live_motion_amount_scales_the_motion() -> None:
    changes = [_mean_change(_draft_live(SHIPPED[1], a, (256, 448))) for a in (0.0, 0.5, 1.0, 2.0)]
    assert changes[0] == 0.0  # still: every frame is the first
    assert changes[1] < changes[2] < changes[3]
    assert changes[3] > 1.4 * changes[2] > 1.4 * 1.4 * changes[1]


def test_cli_live_motion_flag(tmp_path: Path) -> None:
    from studio.cli.render import build_settings

    parser = argparse.ArgumentParser(prog="studio")
    from studio.cli import render as cli_render

    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", "--image", str(PHOTO), "--live-photo", "--live-motion", "2.5", "-o", "x.mp4"])
    assert build_settings(RenderSettings(), args).options.live_motion == 2.5
    args = parser.parse_args(["render", "--image", str(PHOTO), "--live-photo", "--live-motion", "9", "-o", "x.mp4"])
    with pytest.raises(StudioError, match="live_motion"):
        build_settings(RenderSettings(), args)
    assert RenderSettings().fingerprint() == RenderSettings(live_motion=1.0).fingerprint()
    assert RenderSettings().fingerprint() != RenderSettings(live_motion=2.0).fingerprint()


def test_cli_live_photo_draft_moves_and_holds_the_pose(tmp_path: Path) -> None:
    from studio.extract.image import detect_image
    from studio.media.image import read_image
    from studio.media.video import VideoReader

    out = tmp_path / "live.mp4"
    assert run("--image", PHOTO, "--live-photo", "--seconds", "2", "--fps", "12", "--size", "256x448",
               "--no-progress", "-o", out) == 0
    with VideoReader(out) as r:
        assert r.frame_count == 24 and abs(r.fps - 12) < 1e-3
        frames = [r.read(i).astype(np.int16) for i in range(r.frame_count)]
    change = [float(np.abs(f - frames[0]).mean()) for f in frames]
    assert max(change) > 0.2  # the clip moves (breathing, sway)
    photo_pose, _ = detect_image(read_image(PHOTO))
    target = held_pose(photo_pose, 1, 12, 256, 448).body[0] * [256, 448]
    errors = []
    for f in frames[::6]:
        seen, _ = detect_image(f.astype(np.uint8))
        got = seen.body[0] * [seen.width, seen.height]
        ok = np.isfinite(got).all(1) & np.isfinite(target).all(1) & (seen.body_conf[0] > 0.5)
        assert ok.sum() >= 8
        errors.append(np.median(np.hypot(*(got - target)[ok].T)))
    torso = float(np.hypot(*(target[1] - (target[8] + target[11]) / 2)))
    # the person breathes and sways about the photo's pose (the median keypoint moves a few
    # percent of the torso), never leaves it
    assert 4.0 < max(errors) < 0.15 * torso, (errors, torso)


def test_live_photo_needs_no_video_and_refuses_one(tmp_path: Path) -> None:
    from studio.cli import render as cli_render

    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", "--image", str(PHOTO), "--video", str(PHOTO), "--live-photo",
                              "-o", str(tmp_path / "x.mp4")])
    with pytest.raises(StudioError, match="needs no video"):
        args.func(args)


def test_project_file_keeps_the_live_photo(tmp_path: Path) -> None:
    p = Project(reference_image=PHOTO, live_seconds=3.5, fps=12)
    saved = p.save(tmp_path / "live.studio.json")
    back = Project.load(saved)
    assert back.is_live_photo and back.live_seconds == 3.5 and back.driving_video is None
    data = json.loads(saved.read_text())
    data["live_photo"] = {"seconds": -1}
    saved.write_text(json.dumps(data))
    with pytest.raises(StudioError, match="live_photo"):
        Project.load(saved)


# -- X-Dyna -----------------------------------------------------------------------------------------
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def xdyna_backend():
    from studio.backends.xdyna.backend import XDynaBackend

    w = json.loads((CASE / "case.json").read_text())["weights"]
    motion = next((v.get("motion_module_kwargs") for k, v in w.items() if k.startswith("unet_additional_kwargs")),
                  None)
    return XDynaBackend(WEIGHTS, resampler_kwargs=w["resampler_kwargs"], motion_module_kwargs=motion, decode_chunk=4)


def live_job(n_seconds: float = 1.0, fps: float = 8.0, **settings) -> RenderJob:
    from PIL import Image

    photo = np.asarray(Image.open(CASE / "inputs" / "reference.png").convert("RGB"))
    ref, face = synthetic_reference(photo.shape[1], photo.shape[0])
    s = RenderSettings(**{"backend": "xdyna", "width": 64, "height": 64, "steps": 2, "cfg": 2.0, "device": "cpu",
                          "dtype": "float32", "face_controlnet": True, "retarget": True, **settings})
    pose, held_f = live_tracks(ref, face, n_seconds, fps, s.width, s.height)
    return RenderJob(reference=photo, pose=pose, frames=tuple(range(len(pose))), settings=s, face=held_f,
                     reference_pose=ref, weights_dir=WEIGHTS)


def test_xdyna_live_photo_conditions_every_frame_on_the_photo(xdyna_backend) -> None:
    from studio.backends.xdyna import conditioning
    from studio.backends.xdyna.backend import XDynaBackend
    from studio.core.render import run_job
    from studio.core.events import Finished
    from studio.core.windows import WindowPlan
    from studio.extract.model_view import model_pose_for_job
    from studio.extract.pose_map import draw_track_frame
    from studio.extract.sface import sface_for_frame

    job = live_job(0.5, 8.0, steps=1)  # 4 frames, one step: the conditioning is what is checked
    n = job.n_frames
    # what the model sees is the photo's skeleton where the photo sits on the canvas, every frame
    seen = model_pose_for_job(job)
    photo_on_canvas = CanvasFit.create(job.reference.shape[1], job.reference.shape[0], 64, 64, "center")
    expected = photo_on_canvas.to_canvas_norm(job.reference_pose.body[0])
    assert np.allclose(seen.body, expected[None], atol=0.5 / 64)
    call = XDynaBackend.pipeline_call(job, WindowPlan(n), use_face=True)
    photo_map = draw_track_frame(seen, 0, head=False)
    assert call.pose.shape == (n, 64, 64, 3) and all(np.array_equal(m, photo_map) for m in call.pose)
    local0, glob0 = sface_for_frame(conditioning.reference_image(job), job.face, 0)
    assert all(np.array_equal(m, local0) for m in call.face_local)
    assert all(np.array_equal(m, glob0) for m in call.face_global)
    assert local0.max() > 0 and glob0.max() > 0  # the photo's face is drawn, not blank

    # the tensors that reach the ControlNets during a render
    pipe = xdyna_backend.pipeline(WEIGHTS, "cpu", "float32")
    seen_cond: dict[str, list[torch.Tensor]] = {"pose": [], "face": []}

    def hook(name):
        def grab(module, args, kwargs):
            seen_cond[name].append(kwargs["controlnet_cond"].detach().clone())
        return grab

    handles = [pipe.controlnet.register_forward_pre_hook(hook("pose"), with_kwargs=True),
               pipe.controlnet_face.register_forward_pre_hook(hook("face"), with_kwargs=True)]
    try:
        events = list(run_job(job, xdyna_backend, None))
    finally:
        for h in handles:
            h.remove()
    assert isinstance(events[-1], Finished) and events[-1].n_frames == n
    for name in ("pose", "face"):
        conds = torch.cat(seen_cond[name])
        assert conds.shape[0] >= n and conds.abs().sum() > 0
        assert torch.allclose(conds, conds[:1].expand_as(conds)), f"{name} conditioning differs between frames"


def test_hair_and_loose_clothes_stir_but_the_body_core_does_not() -> None:
    """Secondary motion: the rig's loose vertices (hair beyond the skull, a skirt beyond the
    legs) move on top of the pose, the core does not, and nothing moves on the first frame."""
    from studio.backends.draft.flutter import flutter_offsets
    from studio.backends.draft.idle import SWAY_PERIOD_S
    from studio.backends.draft.prepare import prepare_rig
    from studio.backends.draft.rig import body_scale
    from studio.extract.image import detect_image
    from studio.media.image import read_image

    photo = REPO / "tests" / "fixtures" / "real_dance" / "reference_1.png"  # long hair, a wide dress
    rgb = read_image(photo)
    pose, _ = detect_image(rgb)
    rig = prepare_rig(rgb, pose, 256, 448)
    scale = body_scale(rig.ref_pose)
    assert (rig.loose > 0.9).mean() > 0.05 and (rig.loose < 0.05).mean() > 0.3
    assert not flutter_offsets(rig.vertices, rig.loose, scale, 0.0, 1.0, SWAY_PERIOD_S).any()
    moved = np.hypot(*np.stack([flutter_offsets(rig.vertices, rig.loose, scale, t, 1.0, SWAY_PERIOD_S)
                                for t in np.arange(0, 4, 0.2)]).transpose(2, 0, 1)).max(axis=0)
    assert moved[rig.loose == 0].max() == 0.0
    assert moved[rig.loose > 0.9].min() > 0.01 * scale
