"""Export frame-rate conversion and scaling / side-by-side helpers."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.media.panels import check_scale, parse_panels, scale_frame, side_by_side
from studio.media.retime import retime, retimed_count


def frames(n: int) -> list[np.ndarray]:
    return [np.full((4, 6, 3), 10 * i, np.uint8) for i in range(n)]


def values(seq) -> list[int]:
    return [int(f[0, 0, 0]) for f in seq]


def test_repeat_doubles_and_drops_by_time() -> None:
    assert values(retime(frames(4), 4, 12, 24)) == [0, 0, 10, 10, 20, 20, 30, 30]
    assert values(retime(frames(6), 6, 24, 8)) == [0, 30]
    assert retimed_count(48, 25, 30) == 58 and retimed_count(48, 25, 25) == 48


def test_blend_mixes_neighbours_by_distance() -> None:
    assert values(retime(frames(3), 3, 8, 16, "blend")) == [0, 5, 10, 15, 20, 20]
    assert values(retime(frames(5), 5, 10, 10, "blend")) == [0, 10, 20, 30, 40]  # same rate: untouched


def test_retime_errors_name_the_problem() -> None:
    with pytest.raises(StudioError, match="must be 'repeat' or 'blend'"):
        list(retime(frames(2), 2, 10, 20, "smear"))
    with pytest.raises(StudioError, match="ended after 2 of 5"):
        list(retime(frames(2), 5, 10, 20))
    with pytest.raises(StudioError, match="output frame rate 0"):
        retimed_count(3, 10, 0)


def test_scale_and_panels() -> None:
    img = np.random.default_rng(0).integers(0, 255, (30, 20, 3), np.uint8)
    assert scale_frame(img, 2.0).shape == (60, 40, 3)
    assert scale_frame(img, 0.5).shape == (16, 10, 3)  # rounded to even sizes
    with pytest.raises(StudioError, match="between 0.25 and 2"):
        check_scale(3)
    assert parse_panels("result, Pose") == ("result", "pose")
    for bad in ("pose,pose", "", "sound"):
        with pytest.raises(StudioError, match="driving, pose, result"):
            parse_panels(bad)
    out = side_by_side([img, np.zeros((15, 10, 3), np.uint8)], 30)
    assert out.shape == (30, 40, 3) and np.array_equal(out[:, :20], img)
