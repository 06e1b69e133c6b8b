"""Conditioning maps built from a RenderJob (numpy only): reference fit, pose maps, retargeting,
S-Face images from the driving video."""

from dataclasses import replace

import numpy as np
import pytest
from fakes import make_job

from studio.backends.xdyna import conditioning as C
from studio.core.errors import StudioError
from studio.core.tracks import FaceTrack, PoseTrack


def face_track(n: int, w: int, h: int) -> FaceTrack:
    f = FaceTrack.empty(n, w, h, 25.0)
    f.box[:] = [0.42, 0.25, 0.58, 0.45]
    f.left_eye[:] = [0.54, 0.3]
    f.right_eye[:] = [0.46, 0.3]
    f.mouth[:] = [0.5, 0.4]
    f.conf[:] = 1.0
    f.flags[:] = 0
    f.conf[2] = 0.0  # no face on frame 2
    return f


def test_reference_and_pose_maps_have_the_render_size():
    job = make_job(5, size=64, width=64, height=96)
    assert C.reference_image(job).shape == (96, 64, 3)
    maps = C.pose_maps(C.canvas_pose(job), job.frames)
    assert maps.shape == (5, 96, 64, 3) and maps.dtype == np.uint8
    assert (maps.max(axis=3) > 100).sum(axis=(1, 2)).min() > 20  # a skeleton on every frame
    assert not np.array_equal(maps[0], maps[4])  # it moves


def test_frames_outside_the_track_are_refused():
    job = replace(make_job(5), frames=(3, 9))
    with pytest.raises(StudioError, match="frame 9"):
        C.pose_maps(C.canvas_pose(job), job.frames)


def test_retargeting_uses_the_reference_pose():
    job = make_job(4, retarget=True)
    ref = PoseTrack.empty(1, 64, 64, 1.0)
    ref.body[0] = job.pose.body[0] * 0.5 + 0.25  # a smaller person
    ref.body_conf[:] = 1.0
    ref.flags[:] = 0
    plain = C.canvas_pose(replace(job, reference_pose=None))
    moved = C.canvas_pose(replace(job, reference_pose=ref))
    assert not np.allclose(plain.body, moved.body, equal_nan=True)
    off = C.canvas_pose(replace(job, reference_pose=ref, settings=job.settings.model_copy(update={"retarget": False})))
    np.testing.assert_allclose(off.body, plain.body)


def test_sface_maps_from_the_driving_video(tmp_path):
    from studio.media.exporters import export_frames

    rng = np.random.default_rng(0)
    frames = [rng.integers(60, 255, (80, 64, 3), dtype=np.uint8) for _ in range(4)]
    export_frames(frames, 25, tmp_path / "drive.mp4")
    job = make_job(4, size=64, backend="xdyna")
    pose = PoseTrack(job.pose.body, job.pose.body_conf, job.pose.hands, job.pose.hands_conf, job.pose.flags,
                     width=64, height=80, fps=25.0)
    job = replace(job, pose=pose, face=face_track(4, 64, 80), driving_video=tmp_path / "drive.mp4")
    assert C.uses_sface(job)
    local, glob = C.sface_maps(job)
    assert local.shape == glob.shape == (4, 64, 64, 3)
    assert 0.05 < (glob[0] > 0).mean() < 0.6  # the expanded head box only
    assert 0 < (local[0] > 0).mean() < (glob[0] > 0).mean()  # eyes and mouth patches
    assert not local[2].any() and not glob[2].any()  # no face: blank


def test_driving_video_must_match_its_track(tmp_path):
    from studio.media.exporters import export_frames

    export_frames([np.zeros((48, 64, 3), np.uint8)] * 3, 25, tmp_path / "d.mp4")
    job = replace(make_job(3), driving_video=tmp_path / "d.mp4")  # track is 64x64
    with pytest.raises(StudioError, match="extracted at 64x64"):
        list(C.driving_frames(job))
    with pytest.raises(StudioError, match="driving video"):
        list(C.driving_frames(replace(job, driving_video=None)))
