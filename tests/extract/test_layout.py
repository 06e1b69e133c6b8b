"""Keypoint layout conversions."""

from __future__ import annotations

import numpy as np

from studio.extract.layout import (
    FM_LEFT_EYE, FM_LIPS, FM_RIGHT_EYE, OPENPOSE_FROM_BLAZEPOSE, face_anchors_from_facemesh,
    face_anchors_from_ibug68, openpose18_from_blazepose,
)


def test_openpose_from_blazepose() -> None:
    rng = np.random.default_rng(1)
    pts = rng.random((33, 2)).astype(np.float32)
    conf = rng.random(33).astype(np.float32)
    body, bconf = openpose18_from_blazepose(pts, conf)
    np.testing.assert_allclose(body[1], (pts[11] + pts[12]) / 2, rtol=1e-6)
    assert bconf[1] == min(conf[11], conf[12])
    np.testing.assert_array_equal(body[2], pts[12])  # right shoulder
    np.testing.assert_array_equal(body[5], pts[11])  # left shoulder
    np.testing.assert_array_equal(body[0], pts[0])
    np.testing.assert_array_equal(body[13], pts[27])  # left ankle
    assert len(OPENPOSE_FROM_BLAZEPOSE) == 18


def test_facemesh_anchors() -> None:
    pts = np.zeros((468, 2), np.float32)
    pts[:] = (50, 50)
    pts[list(FM_LEFT_EYE)] = (60, 40)
    pts[list(FM_RIGHT_EYE)] = (40, 40)
    pts[list(FM_LIPS)] = (50, 70)
    pts[10] = (50, 10)  # forehead (face oval) is above the brows: not in the box
    pts[152] = (50, 90)  # chin
    pts[234], pts[454] = (20, 50), (80, 50)
    box, le, re, mouth = face_anchors_from_facemesh(pts)
    np.testing.assert_allclose(le, (60, 40))
    np.testing.assert_allclose(re, (40, 40))
    np.testing.assert_allclose(mouth, (50, 70))
    assert box[0] == 20 and box[2] == 80 and box[3] == 90 and box[1] > 10


def test_ibug68_official_slices() -> None:
    lm = np.arange(136, dtype=np.float32).reshape(68, 2)
    box, le, re, mouth = face_anchors_from_ibug68(lm)
    np.testing.assert_allclose(le, lm[43:48].mean(0))
    np.testing.assert_allclose(re, lm[37:42].mean(0))
    np.testing.assert_allclose(mouth, lm[49:68].mean(0))
    assert le.dtype == np.float32 and tuple(box) == (0, 1, 134, 135)


def test_crops_map_back_to_frame_pixels() -> None:
    from studio.extract.mp_detector import crop_square, crop_to_frame

    frame = np.zeros((300, 400, 3), np.uint8)
    frame[118:122, 298:302] = 255  # a dot centred at (300, 120)
    for cx, cy, size in ((310.0, 130.0, 80.0), (340.0, 90.0, 120.0), (300.0, 120.0, 33.0)):
        crop = crop_square(frame, cx, cy, size, 160)
        assert crop.shape == (160, 160, 3)
        ys, xs = np.nonzero(crop[..., 0] > 100)
        local = np.array([(xs.mean() + 0.5) / 160, (ys.mean() + 0.5) / 160])
        np.testing.assert_allclose(crop_to_frame(local, cx, cy, size), (300, 120), atol=size / 160 + 0.5)
