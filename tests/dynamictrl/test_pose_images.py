"""DynamiCtrl pose frames against the official DWPose drawer's output (bit for bit)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from studio.backends.dynamictrl.pose_images import canvas_scale, draw_frame
from tests.dynamictrl.conftest import FIXTURES

POSES = FIXTURES / "pose_images"
CASES = json.loads((POSES / "poses.json").read_text())


@pytest.mark.parametrize("k", range(len(CASES)))
def test_official_pose_frames(k):
    c = CASES[k]
    got = draw_frame(np.array(c["body"]), np.array(c["body_score"]), np.array(c["hands"]),
                     np.array(c["hands_score"]), c["width"], c["height"])
    np.testing.assert_array_equal(got, np.asarray(Image.open(POSES / f"{k:02d}.png")))


def test_first_limb_is_blue_after_the_bgr_swap():
    body = np.full((18, 2), np.nan)
    body[1], body[2] = (0.3, 0.5), (0.7, 0.5)          # neck -> right shoulder: limb 0, listed red
    conf = np.zeros(18)
    conf[1] = conf[2] = 1.0
    img = draw_frame(body, conf, None, None, 512, 512).astype(int)
    band = img[250:262, 200:312]                        # the limb (drawn at 2160, about 2 px here)
    assert band[..., 2].max() > 20 and band[..., 0].max() == 0 and band[..., 1].max() == 0


def test_canvas_scale():
    assert canvas_scale(768, 1360) == pytest.approx(2160 / 768)
    assert canvas_scale(2160, 3840) == 1.0
