"""Retargeting on synthetic skeletons: limb lengths, anchors, hands, switch."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.tracks import PoseTrack
from studio.extract.fit import CanvasFit
from studio.extract.retarget import (
    TREE, RetargetOptions, limb_lengths, limb_scales, retarget_body, retarget_track,
)

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_tracks import STANDING, synthetic_pose  # noqa: E402


def _rotate_limbs(body: np.ndarray, angle: float) -> np.ndarray:
    """Swing the arms by ``angle`` around the shoulders (limb lengths unchanged)."""
    out = body.copy()
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    for sh, chain in ((2, (3, 4)), (5, (6, 7))):
        for j in chain:
            out[j] = body[sh] + rot @ (body[j] - body[sh])
    return out


def _tall_dancer(n: int = 6) -> np.ndarray:
    """A dancer 1.4x taller than STANDING, with 1.6x longer legs, moving over the frames."""
    base = STANDING * 1.4 * 3
    base[[9, 10, 12, 13]] = base[[8, 8, 11, 11]] + (base[[9, 10, 12, 13]] - base[[8, 8, 11, 11]]) * (1.6 / 1.4)
    return np.stack([_rotate_limbs(base, 0.2 * i) + [10 * i, 5 * i] for i in range(n)])


def test_limb_lengths_match_the_reference_after_retargeting() -> None:
    ref = STANDING * 2.0  # a short subject in pixels
    drv = _tall_dancer()
    out, _ = retarget_body(drv, np.ones(drv.shape[:2]), ref, np.ones(18), RetargetOptions(anchor="hips"))
    ref_len = limb_lengths(ref, np.ones(18))
    for i in range(len(drv)):
        got = limb_lengths(out[i], np.ones(18))
        for _, c in TREE:
            assert got[c] == pytest.approx(ref_len[c], rel=1e-6), (i, c)


def test_joint_angles_are_kept() -> None:
    ref = STANDING * 2.0
    drv = _tall_dancer()
    out, _ = retarget_body(drv, np.ones(drv.shape[:2]), ref, np.ones(18))
    for i in range(len(drv)):
        for p, c in TREE:
            a = drv[i, c] - drv[i, p]
            b = out[i, c] - out[i, p]
            cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
            assert cos == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("anchor", ["hips", "neck"])
def test_anchor_stays_where_the_dancer_is(anchor: str) -> None:
    ref = STANDING * 2.0
    drv = _tall_dancer()
    out, _ = retarget_body(drv, np.ones(drv.shape[:2]), ref, np.ones(18), RetargetOptions(anchor=anchor))
    for i in range(len(drv)):
        if anchor == "hips":
            np.testing.assert_allclose((out[i, 8] + out[i, 11]) / 2, (drv[i, 8] + drv[i, 11]) / 2, atol=1e-9)
        else:
            np.testing.assert_allclose(out[i, 1], drv[i, 1], atol=1e-9)


def test_place_reference_starts_at_the_reference_and_scales_motion() -> None:
    ref = STANDING * 2.0 + [300, 40]
    drv = _tall_dancer()
    out, _ = retarget_body(drv, np.ones(drv.shape[:2]), ref, np.ones(18),
                           RetargetOptions(anchor="neck", place="reference"))
    np.testing.assert_allclose(out[0, 1], ref[1], atol=1e-9)
    moved = out[-1, 1] - out[0, 1]
    dancer_moved = drv[-1, 1] - drv[0, 1]
    ratio = np.linalg.norm(moved) / np.linalg.norm(dancer_moved)
    assert 0.2 < ratio < 0.8  # the short subject travels less than the tall dancer


def test_missing_reference_legs_borrow_the_median_scale() -> None:
    ref = STANDING * 2.0
    conf = np.ones(18)
    conf[[9, 10, 12, 13]] = 0.0  # a portrait: no legs
    drv = STANDING[None] * 3.0
    out, _ = retarget_body(drv, np.ones((1, 18)), ref, conf)
    leg = np.linalg.norm(out[0, 9] - out[0, 8])
    assert leg == pytest.approx(np.linalg.norm(STANDING[9] - STANDING[8]) * 2.0, rel=1e-6)


def test_missing_driving_points_stay_missing_and_hands_follow_wrists() -> None:
    pose = synthetic_pose()
    ref = synthetic_pose()
    ref.body[:] = ref.body[0] * 0.5 + 0.25  # a half-size subject in the middle
    ref_one = ref.slice(0, 1)
    out = retarget_track(pose, ref_one, RetargetOptions(anchor="neck"))
    assert np.isnan(out.body[2, [10, 13]]).all() and (out.body_conf[2, [10, 13]] == 0).all()
    w = np.array([pose.width, pose.height])
    scale = limb_scales(pose.body * w, pose.body_conf, ref_one.body[0] * w, ref_one.body_conf[0])[7]
    assert 0.3 < scale < 1.0  # a smaller subject
    for i in range(2):
        # the left hand keeps its offset from the left wrist, scaled by the forearm's factor
        before = (pose.hands[i, 0] - pose.body[i, 7]) * w
        after = (out.hands[i, 0] - out.body[i, 7]) * w
        np.testing.assert_allclose(after, before * scale, atol=1e-4)


def test_retarget_through_fits_and_switch_off() -> None:
    pose = synthetic_pose()
    ref = synthetic_pose().slice(0, 1)
    off = retarget_track(pose, ref, RetargetOptions(enabled=False))
    np.testing.assert_array_equal(off.body, pose.body)
    one = pose.slice(0, 1)
    # the same person photographed at another resolution and framing: a 300x300 photo whose
    # centre crop (150x300) shows the body at 1.5x the driving frame's scale
    ref_photo = PoseTrack(body=((one.body * [100, 200] * 1.5 + [75, 0]) / 300).astype(np.float32),
                          body_conf=one.body_conf, hands=one.hands, hands_conf=one.hands_conf,
                          flags=one.flags, width=300, height=300, fps=1.0)
    fit_d = CanvasFit.create(one.width, one.height, 256, 512, "stretch")
    fit_r = CanvasFit.create(300, 300, 256, 512, "center")
    same = retarget_track(one, ref_photo, driving_fit=fit_d, reference_fit=fit_r)
    np.testing.assert_allclose(same.body[0], one.body[0], atol=1e-5)
    np.testing.assert_allclose(same.hands[0], one.hands[0], atol=1e-5)


def test_reference_without_body_raises() -> None:
    drv = _tall_dancer()
    with pytest.raises(StudioError):
        retarget_body(drv, np.ones(drv.shape[:2]), np.full((18, 2), np.nan), np.zeros(18))
    with pytest.raises(StudioError):
        retarget_body(drv, np.ones(drv.shape[:2]), STANDING, np.ones(18), RetargetOptions(anchor="feet"))
    with pytest.raises(StudioError):
        retarget_track(PoseTrack.empty(2, 10, 10, 25.0), PoseTrack.empty(0, 10, 10, 25.0))
