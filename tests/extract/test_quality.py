"""Per-frame pose quality: states, problem frames, counts and the S-Face note."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from studio.core.tracks import FLAG_NO_PERSON
from studio.extract.postprocess import fill_face_gaps, fill_pose_gaps
from studio.extract.quality import FILLED, FOUND, MISSING, pose_quality, sface_note

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_tracks import synthetic_face  # noqa: E402
from test_hands_sides import walking  # noqa: E402


def _clip():
    pose = walking(12)
    face = synthetic_face(12)
    face.conf[:] = 1.0
    face.flags[:] = 0
    face.box[:] = [0.4, 0.06, 0.6, 0.14]
    pose.hands[3:5, 0] = np.nan  # left hand lost for 2 frames (filled)
    pose.hands_conf[3:5, 0] = 0.0
    pose.hands[10:, 1] = np.nan  # right hand lost at the end (stays missing)
    pose.hands_conf[10:, 1] = 0.0
    pose.body[7] = np.nan  # nobody on frame 7
    pose.body_conf[7] = 0.0
    pose.hands_conf[7] = 0.0
    pose.hands[7] = np.nan
    pose.flags[7] = FLAG_NO_PERSON
    pose.body_conf[9, [1, 2, 5, 8, 11]] = 0.2  # a doubtful body on frame 9
    pose.hands_conf[2, 1] = 0.4  # a right hand kept with a low presence on frame 2
    face.conf[5] = 0.0  # no face on frame 5 (filled), none on 11 (missing)
    face.box[5] = np.nan
    face.conf[11] = 0.0
    face.box[11] = np.nan
    return fill_pose_gaps(pose, max_gap=1), fill_face_gaps(face, max_gap=1)


def test_states_per_frame() -> None:
    q = pose_quality(*_clip())
    assert q.hands[3, 0] == MISSING  # 2-frame gap > max_gap 1: stays missing
    assert q.hands[10, 1] == MISSING and q.hands[11, 1] == MISSING
    assert q.person[7] == FILLED  # one frame without a person, filled from its neighbours
    assert q.face[5] == FILLED and q.face[11] == MISSING and q.face[0] == FOUND
    assert q.low_body[9] and not q.low_body[8]
    assert q.low_hands[2] and not q.low_hands[1]
    assert q.hands[0, 0] == FOUND


def test_problem_frames_and_jumps() -> None:
    q = pose_quality(*_clip())
    problems = list(np.flatnonzero(q.problems))
    assert problems == [3, 4, 9, 10, 11]
    assert q.next_problem(0) == 3 and q.next_problem(4) == 9 and q.next_problem(11) is None
    assert q.previous_problem(9) == 4 and q.previous_problem(3) is None


def test_counts_and_summary_match_the_strip() -> None:
    q = pose_quality(*_clip())
    c = q.counts()
    assert c["frames"] == 12
    assert c["left hand missing"] == 2 and c["right hand missing"] == 2
    assert c["face filled"] == 1 and c["face missing"] == 1
    assert c["problem frames"] == 5
    assert "5 problem frames" in q.summary() and "face 10/12 (+1 filled)" in q.summary()


def test_sface_note_says_what_the_face_controlnet_gets() -> None:
    q = pose_quality(*_clip())
    assert sface_note(q, 0) == ""
    assert "black images" in sface_note(q, 11) and "frame 11" in sface_note(q, 11)
    assert "interpolated" in sface_note(q, 5)
    assert "off" in sface_note(q, 11, face_controlnet=False)


def test_sface_coverage_says_what_the_controlnet_gets() -> None:
    from studio.extract.quality import sface_coverage

    pose, face = _clip()  # face found on 10 frames, filled on 1 (frame 5), missing on 1 (frame 11)
    q = pose_quality(pose, face)
    text = sface_coverage(q)
    assert text.startswith("S-Face: a usable face on 11/12 frames (92%, 1 of them filled in")
    assert "on the other 1 the S-Face ControlNet gets black images" in text
    assert "ControlNet is off" in sface_coverage(q, face_controlnet=False)
    assert "not used" in sface_coverage(q, face_track=False)
    # a masked face: 7 of 120 frames, as reported
    masked = synthetic_face(120)
    masked.conf[:] = 0.0
    masked.box[:] = np.nan
    masked.conf[:7] = 1.0
    masked.box[:7] = [0.4, 0.06, 0.6, 0.14]
    masked.flags[:] = 0
    q = pose_quality(walking(120), masked)
    text = sface_coverage(q)
    assert "7/120 frames (6%)" in text and "on the other 113 the S-Face ControlNet gets black images" in text
    none = synthetic_face(12)
    none.conf[:] = 0.0
    none.box[:] = np.nan
    assert "guides no frame" in sface_coverage(pose_quality(walking(12), none))
