"""Contact sheet: index choice, grid geometry, labels, saving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.media.contact_sheet import BACKGROUND, contact_sheet, save_image, sheet_indices


class Frames:
    """A fake clip: frame i is filled with grey level 10 * i."""

    def __init__(self, n: int, size: tuple[int, int] = (80, 60)) -> None:
        self.frame_count, self.fps, self._size = n, 10.0, size

    def read(self, index: int) -> np.ndarray:
        assert 0 <= index < self.frame_count
        return np.full((self._size[1], self._size[0], 3), 10 * index, np.uint8)


def test_indices_span_first_to_last() -> None:
    assert sheet_indices(100, 8) == [0, 14, 28, 42, 57, 71, 85, 99]
    assert sheet_indices(5, 8) == [0, 1, 2, 3, 4]
    assert sheet_indices(100, 1) == [0]
    with pytest.raises(StudioError):
        sheet_indices(0, 4)


def test_grid_geometry_and_order() -> None:
    sheet = contact_sheet(Frames(24), count=6, cols=4, thumb_width=40, gap=8)
    thumb_h = 30
    label_h = int(max(10, 40 // 20) * 1.6)
    assert sheet.shape == (8 + 2 * (thumb_h + label_h + 8), 8 + 4 * (40 + 8), 3)
    # thumbnails carry their frame's grey level, row by row
    levels = [int(sheet[8 + r * (thumb_h + label_h + 8) + 5, 8 + c * 48 + 5, 0]) for r, c in
              [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]]
    assert levels == [10 * i for i in sheet_indices(24, 6)]
    # empty cells of the last row stay background; labels draw light text below each thumbnail
    assert tuple(sheet[8 + thumb_h + label_h + 8 + 5, 8 + 3 * 48 + 5]) == BACKGROUND
    label_band = sheet[8 + thumb_h: 8 + thumb_h + label_h, 8:48]
    assert label_band.max() > 200


def test_save_image_atomic_and_checked(tmp_path: Path) -> None:
    sheet = contact_sheet(Frames(3), count=3, cols=3, thumb_width=32)
    out = save_image(sheet, tmp_path / "s.png")
    assert np.array_equal(np.asarray(Image.open(out)), sheet)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.png"]
    with pytest.raises(StudioError, match="'.bmp'"):
        save_image(sheet, tmp_path / "s.bmp")
