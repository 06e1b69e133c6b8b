"""The reference-pose sanity check: each broken pose a detector can return is flagged with a
sentence saying what to fix, and no real photo or real dance frame is flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.project import Project
from studio.extract.pose_check import (
    L_ANKLE, L_ELBOW, L_HIP, L_KNEE, L_SHOULDER, L_WRIST, NECK, R_ANKLE, R_ELBOW, R_HIP, R_KNEE,
    R_SHOULDER, R_WRIST, check_body, check_reference_pose,
)

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path("/work/shared/fixtures/real_dance")
#: Every photo of a person shipped with the studio or its tests.
PHOTOS = [
    ROOT / "resources" / "sample" / "reference.png",
    ROOT / "resources" / "sample_real" / "reference.jpg",
    ROOT / "tests" / "fixtures" / "real_dance" / "reference_1.png",
    ROOT / "tests" / "fixtures" / "xdyna_tiny" / "a_pose_16f" / "inputs" / "reference.png",
]


def real_body() -> tuple[np.ndarray, np.ndarray, int, int]:
    """The detected pose of the real sample's photo (a man standing, facing the camera), in
    pixels, from the shipped project (no detector needed)."""
    pose = Project.load(ROOT / "resources" / "sample_real" / "real.studio.json").reference_pose
    assert pose is not None
    px = pose.body[0].astype(np.float64) * [pose.width, pose.height]
    return px, pose.body_conf[0].astype(np.float64).copy(), pose.width, pose.height


def test_the_real_sample_pose_passes() -> None:
    px, conf, w, h = real_body()
    check = check_body(px, conf, w, h)
    assert check.ok, check.summary()
    assert check.summary() == ""


def _broken(edit) -> tuple[str, ...]:
    px, conf, w, h = real_body()
    edit(px, conf)
    check = check_body(px, conf, w, h)
    assert not check.ok
    assert check.summary().startswith("The photo's pose looks wrong: ")
    for p in check.problems:
        assert p.message.endswith(".") and "drag" in p.message.lower() or p.kind in ("confidence", "missing")
    return check.kinds


def test_both_arms_on_one_side() -> None:
    def edit(px, conf):  # the left arm mirrored onto the far side of the right arm
        for j, r in ((L_ELBOW, R_ELBOW), (L_WRIST, R_WRIST)):
            px[j] = px[r] + [-25.0, 5.0]
    assert _broken(edit) == ("arms_one_side",)


def test_both_arms_on_the_same_points() -> None:
    def edit(px, conf):
        px[L_ELBOW], px[L_WRIST] = px[R_ELBOW] + 2.0, px[R_WRIST] - 2.0
    assert "arms_one_side" in _broken(edit)


def test_legs_collapsed_onto_one_line() -> None:
    def edit(px, conf):
        px[L_KNEE], px[L_ANKLE] = px[R_KNEE] + [3.0, 0.0], px[R_ANKLE] + [2.0, 1.0]
    assert _broken(edit) == ("collapsed",)


def test_hips_on_one_point() -> None:
    def edit(px, conf):
        px[L_HIP] = px[R_HIP] + [2.0, 0.0]
    assert "collapsed" in _broken(edit)


def test_shoulders_and_hips_ordered_opposite_ways() -> None:
    def edit(px, conf):
        px[[R_HIP, L_HIP]] = px[[L_HIP, R_HIP]]
    assert "left_right" in _broken(edit)


def test_zero_length_segment_and_limb() -> None:
    def segment(px, conf):
        px[L_WRIST] = px[L_ELBOW]  # (the right elbow is unsure on this photo: not measured)
    assert _broken(segment) == ("zero_length",)

    def whole_arm(px, conf):  # the elbow and wrist on the shoulder
        px[L_ELBOW] = px[L_SHOULDER] + [3.0, 4.0]
        px[L_WRIST] = px[L_SHOULDER] + [-2.0, 6.0]
    assert _broken(whole_arm) == ("zero_length",)


def test_limb_far_longer_than_a_person_s() -> None:
    def edit(px, conf):
        px[L_ANKLE] = px[L_KNEE] + [0.0, 600.0]
    assert _broken(edit) == ("proportions",)

    def torso(px, conf):  # hips at shoulder height
        px[R_HIP], px[L_HIP] = px[R_SHOULDER] + [5.0, 10.0], px[L_SHOULDER] + [-5.0, 10.0]
    assert "proportions" in _broken(torso)


def test_unsure_key_joint() -> None:
    def edit(px, conf):
        conf[L_HIP] = 0.2
    assert _broken(edit) == ("confidence",)


def test_body_outside_the_photo() -> None:
    def edit(px, conf):
        px[:] += [700.0, 0.0]
    assert "outside" in _broken(edit)


def test_no_person() -> None:
    px, conf, w, h = real_body()
    conf[[R_SHOULDER, L_SHOULDER]] = 0.0
    assert check_body(px, conf, w, h).kinds == ("missing",)
    assert check_reference_pose(None).kinds == ("missing",)


def test_normal_stances_pass() -> None:
    """Stances that look odd to a rule but are a person's: facing away (left/right labels
    mirrored), a profile (arms and legs overlap), crossed ankles, a half-length portrait (hips
    at the edge with a low score), a forearm pointing at the camera, a long arm foreshortened."""
    px0, conf0, w, h = real_body()
    centre = px0[NECK, 0]

    def mirrored(px, conf):
        px[:, 0] = 2 * centre - px[:, 0]

    def profile(px, conf):
        px[:, 0] = centre + 0.08 * (px[:, 0] - centre)

    def crossed_ankles(px, conf):
        px[[R_ANKLE, L_ANKLE], 0] = px[[L_ANKLE, R_ANKLE], 0]

    def portrait(px, conf):
        conf[[R_HIP, L_HIP, R_KNEE, L_KNEE, R_ANKLE, L_ANKLE]] = [0.26, 0.22, 0.02, 0.06, 0.01, 0.01]

    def foreshortened(px, conf):
        px[L_WRIST] = px[L_ELBOW] + [3.0, -3.0]

    for stance in (mirrored, profile, crossed_ankles, portrait, foreshortened):
        px, conf = px0.copy(), conf0.copy()
        stance(px, conf)
        check = check_body(px, conf, w, h)
        assert check.ok, (stance.__name__, check.summary())


@pytest.mark.parametrize("path", PHOTOS + sorted(SHARED.glob("reference_*")) if SHARED.is_dir() else PHOTOS,
                         ids=lambda p: p.name)
def test_no_false_alarm_on_shipped_photos(path: Path) -> None:
    from studio.extract.image import detect_image
    from studio.media.image import read_image

    pose, _ = detect_image(read_image(path))
    check = check_reference_pose(pose)
    assert check.ok, f"{path}: {check.summary()}"


def test_no_false_alarm_on_real_dance_frames() -> None:
    """Every frame of a real dance clip (24 frames, fast moves, foreshortened arms) passes, and
    so does every frame of the drawn sample's dance."""
    from studio.extract.extractor import extract_video

    pose = extract_video(ROOT / "tests" / "fixtures" / "real_dance" / "driving_2_24f.mp4").pose
    flagged = {i: check_reference_pose(pose, i).summary() for i in range(len(pose)) if not check_reference_pose(pose, i).ok}
    assert not flagged
    sample = Project.load(ROOT / "resources" / "sample" / "sample.studio.json").pose
    assert all(check_reference_pose(sample, i).ok for i in range(len(sample)))
