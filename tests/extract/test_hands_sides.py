"""Hands on real footage, without a detector: gap filling marked per hand, left/right swap repair,
hands kept on their wrists, and the wrist-anchored crop geometry."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from studio.core.tracks import (
    FLAG_CUT, FLAG_INTERPOLATED, FLAG_LEFT_HAND_FILLED, FLAG_RIGHT_HAND_FILLED, PoseTrack,
)
from studio.extract.extractor import ExtractOptions, postprocess
from studio.extract.hand_crop import HandRoi, plausible, roi_from_body, roi_from_hand
from studio.extract.postprocess import fill_pose_gaps
from studio.extract.sides import match_hands_to_wrists, repair_swaps

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_tracks import STANDING, hand_at, synthetic_face  # noqa: E402


def walking(n: int = 12) -> PoseTrack:
    """A dancer stepping right and swinging the arms, both hands on their wrists, on 200x400 px."""
    body = np.zeros((n, 18, 2))
    hands = np.zeros((n, 2, 21, 2))
    for i in range(n):
        b = STANDING * 2.0 + [4.0 * i, 0.0]
        swing = 6.0 * math.sin(i / 2)
        b[[4, 3], 0] += swing
        b[[7, 6], 0] -= swing
        body[i] = b / [200.0, 400.0]
        hands[i, 0] = hand_at(b[7], math.pi / 2, 20.0) / [200.0, 400.0]
        hands[i, 1] = hand_at(b[4], math.pi / 2, 20.0) / [200.0, 400.0]
    return PoseTrack(body=body.astype(np.float32), body_conf=np.ones((n, 18), np.float32),
                     hands=hands.astype(np.float32), hands_conf=np.ones((n, 2, 21), np.float32),
                     flags=np.zeros(n, np.uint8), width=200, height=400, fps=8.0)


def _swap_body(pose: PoseTrack, frames, pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)),
               hands: bool = True) -> PoseTrack:
    out = pose.copy()
    for i in frames:
        for r, l in pairs:
            out.body[i, [r, l]] = out.body[i, [l, r]]
        if hands:
            out.hands[i] = out.hands[i, ::-1]
    return out


# -- gap filling, marked per hand ---------------------------------------------------------------------
def test_a_short_hand_gap_is_filled_and_marked_for_that_hand_only() -> None:
    pose = walking()
    truth = pose.hands.copy()
    gap = pose.copy()
    gap.hands[4:7, 1] = np.nan  # the right hand is lost for 3 frames
    gap.hands_conf[4:7, 1] = 0.0
    out = fill_pose_gaps(gap, max_gap=8)
    assert np.isfinite(out.hands[4:7, 1]).all() and (out.hands_conf[4:7, 1] > 0).all()
    # linear in time between frames 3 and 7: the filled wrist lies on the segment between them
    t = (np.arange(4, 7) - 3) / 4.0
    want = (1 - t)[:, None] * truth[3, 1, 0] + t[:, None] * truth[7, 1, 0]
    np.testing.assert_allclose(out.hands[4:7, 1, 0], want, atol=1e-6)
    assert ((out.flags[4:7] & FLAG_RIGHT_HAND_FILLED) != 0).all()
    assert ((out.flags[4:7] & FLAG_INTERPOLATED) != 0).all()
    assert not (out.flags & FLAG_LEFT_HAND_FILLED).any()
    assert not (out.flags[[3, 7]] & FLAG_RIGHT_HAND_FILLED).any()  # detected frames are not marked


def test_a_long_hand_gap_or_one_across_a_cut_stays_missing() -> None:
    gap = walking()
    gap.hands[2:11, 0] = np.nan  # 9 frames > max_gap 8
    gap.hands_conf[2:11, 0] = 0.0
    out = fill_pose_gaps(gap, max_gap=8)
    assert not (out.hands_conf[2:11, 0] > 0).any()
    assert not (out.flags & FLAG_LEFT_HAND_FILLED).any()
    cut = walking()
    cut.hands[5, 0] = np.nan
    cut.hands_conf[5, 0] = 0.0
    cut.flags[6] |= FLAG_CUT
    assert not (fill_pose_gaps(cut).hands_conf[5, 0] > 0).any()


# -- left/right swap repair ---------------------------------------------------------------------------
def test_a_whole_body_swap_is_repaired_with_its_hands() -> None:
    pose = walking()
    broken = _swap_body(pose, range(5, 8))  # seen from behind for 3 frames: labels flipped
    fixed, repaired = repair_swaps(broken)
    assert repaired == [5, 6, 7]
    np.testing.assert_array_equal(fixed.body, pose.body)
    np.testing.assert_array_equal(fixed.hands, pose.hands)


def test_a_legs_only_swap_is_repaired() -> None:
    pose = walking()
    pose.body[:, [9, 10], 0] -= 0.12  # legs apart, so a label swap is a visible jump
    pose.body[:, [12, 13], 0] += 0.12
    broken = _swap_body(pose, [4], pairs=((9, 12), (10, 13)), hands=False)
    fixed, repaired = repair_swaps(broken)
    assert repaired == [4]
    np.testing.assert_array_equal(fixed.body, pose.body)


def test_a_real_turn_is_not_undone() -> None:
    """Turning around moves left and right across each other gradually: nothing is swapped."""
    n = 24
    pose = walking(n)
    centre = pose.body[:, 1:2, 0].copy()
    for i in range(n):  # the body turns about its vertical axis over the clip
        pose.body[i, :, 0] = centre[i] + (pose.body[i, :, 0] - centre[i]) * math.cos(math.pi * i / (n - 1))
    _, repaired = repair_swaps(pose)
    assert repaired == []


def test_postprocess_repairs_swaps_before_filling() -> None:
    pose = walking()
    broken = _swap_body(pose, [6])
    swapped: list[int] = []
    out, _ = postprocess(broken, synthetic_face(len(pose)), ExtractOptions(smoothing=False), swapped)
    assert swapped == [6]
    np.testing.assert_allclose(out.body, pose.body, atol=1e-6)


def test_hands_are_moved_to_their_own_wrists() -> None:
    pose = walking()
    broken = pose.copy()
    broken.hands[3] = broken.hands[3, ::-1]  # the two hands' labels crossed on frame 3
    fixed, changed = match_hands_to_wrists(broken)
    assert changed == [3]
    np.testing.assert_array_equal(fixed.hands, pose.hands)


# -- wrist-anchored crops -----------------------------------------------------------------------------
def test_the_crop_follows_the_forearm() -> None:
    wrist, elbow = np.array([100.0, 200.0]), np.array([100.0, 140.0])  # forearm pointing down
    roi = roi_from_body(wrist, wrist + [0.0, 1.0], elbow, 896)  # hand points useless: forearm decides
    assert roi is not None
    assert roi.size == pytest.approx(0.9 * 60.0)
    assert roi.cy > wrist[1] and roi.cx == pytest.approx(100.0)  # past the wrist, along the arm
    assert abs(abs(roi.rotation) - math.pi) < 1e-6  # a hand pointing down is turned upright
    right = roi_from_body(wrist, wrist + [15.0, 0.0], None, 896)  # hand pointing right
    assert right is not None and right.rotation == pytest.approx(math.pi / 2)
    assert right.size == pytest.approx(max(3.6 * 15.0, 0.03 * 896))
    assert roi_from_body(wrist, wrist, None, 896) is None  # no direction known
    big = roi_from_body(wrist, wrist + [0.0, 5.0], elbow, 896, torso=300.0)
    assert big is not None and big.size == pytest.approx(90.0)  # at least a third of the torso


def test_tracking_crop_and_plausibility() -> None:
    hand = hand_at(np.array([50.0, 80.0]), -math.pi / 2, 30.0)  # pointing up
    roi = roi_from_hand(hand)
    assert roi is not None and roi.rotation == pytest.approx(0.0, abs=0.2)
    extent = max(np.ptp(hand[:, 0]), np.ptp(hand[:, 1]))
    assert roi.size == pytest.approx(2.2 * extent)
    assert plausible(hand, roi, np.array([52.0, 82.0]))
    assert not plausible(hand, roi, np.array([50.0, 80.0 + roi.size]))  # another arm's hand
    assert not plausible(hand * 0.01, HandRoi(0.5, 0.8, 60.0, 0.0), np.array([0.5, 0.8]))  # a dot


def test_track_flags_are_distinct_bits_that_fit_their_arrays() -> None:
    """Every FLAG_* is its own bit (a hand fill must never read as another flag, e.g. pending)."""
    import studio.core.tracks as tracks

    flags = {name: v for name, v in vars(tracks).items() if name.startswith("FLAG_") and isinstance(v, int)}
    values = list(flags.values())
    assert all(v > 0 and v & (v - 1) == 0 for v in values), flags
    assert len(set(values)) == len(values), flags
    pose_bits = np.iinfo(tracks.PoseTrack._arrays["flags"][1]).bits
    face_bits = np.iinfo(tracks.FaceTrack._arrays["flags"][1]).bits
    assert max(values) < 1 << pose_bits
    assert max(set(values) - set(tracks.FLAG_HAND_FILLED)) < 1 << face_bits  # hand bits are pose-only
    filled = fill_pose_gaps(_gap_in_left_hand())
    assert (filled.flags & tracks.FLAG_LEFT_HAND_FILLED).any()
    assert not (filled.flags & getattr(tracks, "FLAG_PENDING", 0)).any()


def _gap_in_left_hand() -> PoseTrack:
    pose = walking()
    pose.hands[5, 0] = np.nan
    pose.hands_conf[5, 0] = 0.0
    return pose
