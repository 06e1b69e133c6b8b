"""Gap filling, cut handling and smoothing of raw tracks (no detector involved)."""

from __future__ import annotations

import numpy as np

from studio.core.tracks import FLAG_CUT, FLAG_INTERPOLATED, FLAG_NO_PERSON, FaceTrack, PoseTrack
from studio.extract.assemble import tracks_from_detections
from studio.extract.detector import FrameDetection
from studio.extract.extractor import ExtractOptions, postprocess
from studio.extract.postprocess import (
    fill_face_gaps, fill_pose_gaps, frame_thumbnail, is_cut, smooth_pose,
)


def _linear_track(n: int = 20) -> PoseTrack:
    t = np.arange(n, dtype=np.float32)
    pose = PoseTrack.empty(n, 100, 100, 25.0)
    pose.body[:] = (0.2 + 0.01 * t)[:, None, None]
    pose.body_conf[:] = 0.9
    pose.flags[:] = 0
    return pose


def test_short_gap_is_interpolated_and_flagged() -> None:
    pose = _linear_track()
    truth = pose.body.copy()
    pose.body[5:8] = np.nan
    pose.body_conf[5:8] = 0
    pose.flags[5:8] = FLAG_NO_PERSON
    filled = fill_pose_gaps(pose, max_gap=3)
    np.testing.assert_allclose(filled.body, truth, atol=1e-6)
    assert (filled.flags[5:8] & FLAG_INTERPOLATED).all()
    assert not (filled.flags[5:8] & FLAG_NO_PERSON).any()
    assert filled.has_person().all()
    np.testing.assert_allclose(filled.body_conf[5:8], 0.9)
    assert np.isnan(pose.body[5:8]).all()  # the input (raw) track is untouched


def test_long_gaps_ends_and_cuts_stay_missing() -> None:
    pose = _linear_track()
    pose.body[5:15] = np.nan
    pose.body_conf[5:15] = 0
    pose.flags[5:15] = FLAG_NO_PERSON
    pose.body[:2] = np.nan
    pose.body_conf[:2] = 0
    out = fill_pose_gaps(pose, max_gap=4)
    assert np.isnan(out.body[5:15]).all() and np.isnan(out.body[:2]).all()
    # a 2-frame gap across a cut is not bridged
    pose = _linear_track()
    pose.body[9:11] = np.nan
    pose.body_conf[9:11] = 0
    pose.flags[10] |= FLAG_CUT
    assert np.isnan(fill_pose_gaps(pose, max_gap=4).body[9:11]).all()


def test_face_gaps() -> None:
    n = 6
    face = FaceTrack.empty(n, 100, 100, 25.0)
    for i in (0, 1, 4, 5):
        face.box[i] = (0.4, 0.1, 0.6, 0.3)
        face.left_eye[i] = face.right_eye[i] = face.mouth[i] = (0.5, 0.2 + 0.01 * i)
        face.conf[i] = 1.0
        face.flags[i] = 0
    out = fill_face_gaps(face, max_gap=2)
    assert out.has_face().all()
    np.testing.assert_allclose(out.mouth[2], (0.5, 0.22), atol=1e-6)
    assert (out.flags[2:4] & FLAG_INTERPOLATED).all()


def test_smoothing_reduces_jitter_at_rest() -> None:
    rng = np.random.default_rng(0)
    pose = _linear_track(100)
    pose.body[:] = 0.5
    noisy = pose.copy()
    noisy.body += rng.normal(0, 0.003, noisy.body.shape).astype(np.float32)
    smooth = smooth_pose(noisy)
    err_raw = np.abs(noisy.body[10:] - 0.5).mean()
    err_smooth = np.abs(smooth.body[10:] - 0.5).mean()
    assert err_smooth < 0.7 * err_raw


def test_smoothing_follows_motion_with_little_lag() -> None:
    pose = _linear_track(100)
    truth = 0.2 + 0.004 * np.arange(100)  # 0.1 frame widths per second at 25 fps
    pose.body[:] = truth[:, None, None]
    smooth = smooth_pose(pose)
    assert np.abs(smooth.body[-1] - truth[-1]).max() < 0.01
    # gaps restart the filter instead of smearing across them
    pose.body[50] = np.nan
    pose.body_conf[50] = 0
    smooth = smooth_pose(pose)
    assert np.isnan(smooth.body[50]).all()
    np.testing.assert_allclose(smooth.body[51], pose.body[51])


def test_postprocess_keeps_raw_and_honours_options() -> None:
    pose = _linear_track()
    face = FaceTrack.empty(len(pose), 100, 100, 25.0)
    p1, _ = postprocess(pose, face, ExtractOptions(smoothing=False))
    np.testing.assert_array_equal(p1.body, pose.body)
    p2, _ = postprocess(pose, face, ExtractOptions(smoothing=True))
    assert p2.body.shape == pose.body.shape


def test_assemble_flags_no_person_and_multiple() -> None:
    empty = FrameDetection()
    two = FrameDetection(n_people=2)
    two.body[:] = 0.5
    two.body_conf[:] = 1.0
    pose, face = tracks_from_detections([empty, two], 64, 48, 30.0)
    assert pose.flags[0] & FLAG_NO_PERSON and not pose.has_person()[0]
    assert pose.has_person()[1] and pose.flags[1] & 2
    assert not face.has_face().any()
    assert (pose.width, pose.height, pose.fps) == (64, 48, 30.0)


def test_cut_detection() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    b = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    moved = a.copy()
    moved[30:50, 40:60] = 255  # a small moving object
    ta, tb, tm = frame_thumbnail(a), frame_thumbnail(b), frame_thumbnail(moved)
    assert not is_cut(None, ta)
    assert not is_cut(ta, tm)
    assert not is_cut(ta, np.clip(ta + 30, 0, 255))  # a brightness change is not a cut
    gradient = np.tile(np.linspace(0, 255, 160, dtype=np.float32), (90, 1))
    flipped = gradient[:, ::-1]
    g1 = frame_thumbnail(np.repeat(gradient[..., None], 3, 2).astype(np.uint8))
    g2 = frame_thumbnail(np.repeat(flipped[..., None], 3, 2).astype(np.uint8))
    assert is_cut(g1, g2)
    assert tb.shape == ta.shape
