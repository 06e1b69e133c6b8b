"""S-Face images: exact parity with the official golden case, and edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.core.tracks import FaceTrack
from studio.extract.fit import CanvasFit
from studio.extract.layout import face_anchors_from_ibug68
from studio.extract.sface import expanded_box, sface_for_frame, sface_from_ibug68, sface_images

CASE = Path(__file__).parents[1] / "fixtures" / "extract" / "sface_28f"


def _png(kind: str, i: int) -> np.ndarray:
    return np.asarray(Image.open(CASE / kind / f"{i:03d}.png").convert("RGB"))


def _landmarks() -> list:
    return json.loads((CASE / "face_landmarks.json").read_text())["landmarks"]


def test_golden_face_case_reproduced_exactly() -> None:
    lmks = _landmarks()
    assert len(lmks) == 28
    for i, lm in enumerate(lmks):
        frame = _png("driving", i)
        local, glob = sface_from_ibug68(frame, None if lm is None else np.asarray(lm, np.float32))
        np.testing.assert_array_equal(local, _png("sface_local", i), err_msg=f"local frame {i}")
        np.testing.assert_array_equal(glob, _png("sface_global", i), err_msg=f"global frame {i}")


def test_golden_face_boxes_match_the_official_extractor() -> None:
    boxes = json.loads((CASE / "face_landmarks.json").read_text())["face_box_ltrb_from_official_extractor"]
    for lm, want in zip(_landmarks(), boxes):
        box, *_ = face_anchors_from_ibug68(np.asarray(lm, np.float32))
        assert list(expanded_box(box, 64, 64)) == want


def test_face_track_path_matches_direct_call() -> None:
    """Through a FaceTrack (normalised coords + fit) the images equal the direct pixel call."""
    frame = _png("driving", 3)
    lm = np.asarray(_landmarks()[3], np.float32)
    box, le, re, mouth = face_anchors_from_ibug68(lm)
    face = FaceTrack(box=(box / 64.0)[None].astype(np.float32), left_eye=(le / 64.0)[None].astype(np.float32),
                     right_eye=(re / 64.0)[None].astype(np.float32), mouth=(mouth / 64.0)[None].astype(np.float32),
                     conf=np.ones(1, np.float32), flags=np.zeros(1, np.uint8), width=64, height=64, fps=25.0)
    fit = CanvasFit.create(64, 64, 64, 64, "top")
    local, glob = sface_for_frame(frame, face, 0, fit)
    np.testing.assert_array_equal(local, _png("sface_local", 3))
    np.testing.assert_array_equal(glob, _png("sface_global", 3))


def test_no_face_gives_black_images() -> None:
    frame = _png("driving", 0)
    local, glob = sface_from_ibug68(frame, None)
    assert local.shape == frame.shape and not local.any() and not glob.any()
    empty = FaceTrack.empty(1, 64, 64, 25.0)
    local, glob = sface_for_frame(frame, empty, 0)
    assert not local.any() and not glob.any()


def test_box_expansion_and_clipping() -> None:
    # 40x20 box centred at (100, 100): L = 40 -> 1.35*40 = 54, 1.25*40 = 50, 1.45*40 = 58
    assert expanded_box((80, 90, 120, 110), 1000, 1000) == (46, 50, 154, 158)
    assert expanded_box((80, 90, 120, 110), 120, 130) == (46, 50, 120, 130)
    assert expanded_box((0, 0, 40, 40), 1000, 1000) == (0, 0, 74, 78)


def test_local_rectangles_and_global_region() -> None:
    rng = np.random.default_rng(0)
    frame = rng.integers(1, 255, (512, 512, 3), dtype=np.uint8)
    box = (200, 200, 300, 300)  # L = 100 -> expanded (115, 125, 385, 395)
    local, glob = sface_images(frame, (270, 240), (230, 240), (250, 280), box)
    x0, y0, x1, y1 = 115, 125, 385, 395
    assert glob[y0:y1, x0:x1].all() and not glob[:y0].any() and not glob[:, x1:].any()
    hx, hy = int(270 / 512 * 64), int(270 / 512 * 64)  # 33, 33
    mask = np.zeros((512, 512), bool)
    for cx, cy in ((270, 240), (230, 240), (250, 280)):
        mask[cy - hy:cy + hy, cx - hx:cx + hx] = True
    np.testing.assert_array_equal(local.any(axis=2), mask)
    np.testing.assert_array_equal(local[mask], frame[mask])


def test_centres_are_rounded_half_to_even() -> None:
    frame = np.full((256, 256, 3), 200, np.uint8)
    box = (100, 100, 156, 156)
    a, _ = sface_images(frame, (128.5, 120.5), (128.5, 120.5), (128.5, 120.5), box)
    b, _ = sface_images(frame, (128, 120), (128, 120), (128, 120), box)
    np.testing.assert_array_equal(a, b)


def test_invalid_landmarks_raise() -> None:
    with pytest.raises(StudioError):
        sface_images(np.zeros((64, 64, 3), np.uint8), (np.nan, 3), (1, 2), (3, 4), (0, 0, 10, 10))
