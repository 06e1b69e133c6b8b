"""Fitting frames to the render size, and mapping track coordinates with them."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.extract.fit import CanvasFit, fit_image


def test_center_crop_matches_the_official_formula() -> None:
    # wider than 512x896: crop width int(512/896 * h), centred
    f = CanvasFit.create(1920, 1080, 512, 896, "center")
    cw = int(512 / 896 * 1080)
    assert f.crop == ((1920 - cw) // 2, 0, cw, 1080)
    # taller: crop height int(w / (512/896)), centred
    f = CanvasFit.create(500, 1200, 512, 896, "center")
    ch = int(500 / (512 / 896))
    assert f.crop == (0, (1200 - ch) // 2, 500, ch)


def test_top_crop_is_biased_upwards() -> None:
    f = CanvasFit.create(512, 1200, 512, 512, "top")
    assert f.crop == (0, (1200 - 512) // 4, 512, 512)
    f = CanvasFit.create(1920, 1080, 512, 896, "top")
    cw = int(1080 / 896 * 512)
    assert f.crop == ((1920 - cw) // 2, 0, cw, 1080)


def test_stretch_keeps_the_whole_frame() -> None:
    assert CanvasFit.create(640, 480, 512, 896, "stretch").crop == (0, 0, 640, 480)


@pytest.mark.parametrize("mode", ["center", "top", "stretch"])
def test_points_line_up_with_fitted_pixels(mode: str) -> None:
    """A bright dot in the source lands where the mapped track coordinate says."""
    src = np.zeros((720, 1280, 3), np.uint8)
    x, y = 700, 300
    src[y - 6:y + 6, x - 6:x + 6] = 255
    fit = CanvasFit.create(1280, 720, 512, 896, mode)
    out = fit.apply(src)
    assert out.shape == (896, 512, 3)
    ys, xs = np.nonzero(out[..., 0] > 128)
    centre = np.array([xs.mean() + 0.5, ys.mean() + 0.5])
    mapped = fit.to_canvas_px(np.array([x / 1280, y / 720]))
    assert np.abs(centre - mapped).max() < 1.0


def test_round_trip_and_nan() -> None:
    fit = CanvasFit.create(1280, 720, 512, 896, "top")
    pts = np.array([[0.3, 0.4], [np.nan, np.nan]], np.float32)
    back = fit.from_canvas_norm(fit.to_canvas_norm(pts))
    np.testing.assert_allclose(back[0], pts[0], atol=1e-6)
    assert np.isnan(back[1]).all()


def test_bad_sizes_and_modes_raise() -> None:
    with pytest.raises(StudioError):
        CanvasFit.create(0, 10, 10, 10)
    with pytest.raises(StudioError):
        CanvasFit.create(10, 10, 10, 10, "zoom")
    with pytest.raises(StudioError):
        CanvasFit.create(10, 10, 10, 10).apply(np.zeros((5, 5, 3), np.uint8))
    assert fit_image(np.zeros((30, 40, 3), np.uint8), 16, 16).shape == (16, 16, 3)
