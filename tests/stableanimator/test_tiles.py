"""The official tile layout: frame 0 leads every tile, the last tile ends on the last frame."""

from __future__ import annotations

import numpy as np
import pytest

from studio.backends.stableanimator.tiles import tile_indices
from studio.core.errors import StudioError


@pytest.mark.parametrize("name", ["a_tiles_20f", "b_odd_14f"])
def test_tiles_are_the_official_ones(golden, name):
    call = golden.spec(name)["call"]
    tiles = tile_indices(call["frames"], call["tile_size"], call["tile_overlap"])
    np.testing.assert_array_equal(np.array(tiles), golden.expected(name)["tiles"])


def test_release_defaults_cover_a_long_clip():
    tiles = tile_indices(40, 16, 4)
    assert tiles[0] == list(range(16))
    assert tiles[1] == [0, *range(13, 28)]
    assert tiles[-1] == [0, *range(25, 40)]
    assert all(len(t) == 16 and t[0] == 0 for t in tiles)
    assert set().union(*tiles) == set(range(40))


def test_exactly_one_tile():
    assert tile_indices(16, 16, 4) == [list(range(16))]


@pytest.mark.parametrize("frames,size,overlap", [(10, 16, 4), (20, 1, 0), (20, 8, 8), (20, 8, -1)])
def test_bad_tiles_are_clear_errors(frames, size, overlap):
    with pytest.raises(StudioError):
        tile_indices(frames, size, overlap)
