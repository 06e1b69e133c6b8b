"""Pose images drawn from the studio's tracks equal the official DWPose script's, pixel for pixel.

The goldens (tests/fixtures/stableanimator_tiny/pose_draw) are the official
``skeleton_extraction.draw_pose`` output saved and re-read as the official scripts do
(tools/stableanimator_reference/run_official_pose.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from studio.backends.stableanimator.pose_images import draw_pose_image, draw_track_pose_images
from studio.core.errors import StudioError
from studio.core.tracks import PoseTrack


@pytest.fixture(scope="module")
def drawn(golden):
    return json.loads((golden.root / "pose_draw" / "poses.json").read_text())


def test_every_golden_pose_image_is_identical(golden, drawn):
    checked = 0
    for i, p in enumerate(drawn["poses"]):
        for w, h in drawn["sizes"]:
            expected = np.array(Image.open(golden.root / "pose_draw" / f"pose_{i}_{w}x{h}.png").convert("RGB"))
            ours = draw_pose_image(np.array(p["body"]), np.array(p["body_conf"]), np.array(p["hands"]),
                                   np.array(p["hands_conf"]), w, h)
            assert ours.shape == expected.shape and ours.dtype == np.uint8
            assert expected.any()
            np.testing.assert_array_equal(ours, expected, err_msg=f"pose {i} at {w}x{h}")
            checked += 1
    assert checked == 12


def test_track_frames_draw_with_missing_points_left_out(drawn):
    p = drawn["poses"][0]
    body = np.array(p["body"], np.float32)[None].repeat(2, 0)
    conf = np.array(p["body_conf"], np.float32)[None].repeat(2, 0)
    lost = int(np.argmax(conf[0]))  # a confidently seen point, lost in frame 1
    body[1, lost] = np.nan
    conf[1, lost] = 0.0
    hands = np.full((2, 2, 21, 2), np.nan, np.float32)
    track = PoseTrack(body=body, body_conf=conf, hands=hands, hands_conf=np.zeros((2, 2, 21), np.float32),
                      flags=np.zeros(2, np.uint16), width=128, height=128)
    images = draw_track_pose_images(track, 128, 128)
    assert images.shape == (2, 128, 128, 3)
    assert images[0].any() and images[1].any() and not np.array_equal(images[0], images[1])


def test_bad_sizes_are_clear_errors():
    with pytest.raises(StudioError):
        draw_pose_image(np.zeros((18, 2)), np.ones(18), None, None, 0, 64)
    with pytest.raises(StudioError):
        draw_pose_image(np.zeros((17, 2)), np.ones(17), None, None, 64, 64)
