"""ffmpeg helpers: rate snapping, showinfo parsing, timeouts."""

from __future__ import annotations

from fractions import Fraction

import pytest

from studio.core.errors import StudioError
from studio.media.ffmpeg import fps_fraction, parse_pts_time, run_ffmpeg


def test_fps_fraction_snaps_ntsc_rates() -> None:
    assert fps_fraction(29.97) == Fraction(30000, 1001)
    assert fps_fraction(23.976) == Fraction(24000, 1001)
    assert fps_fraction(25) == 25
    assert fps_fraction(12.5) == Fraction(25, 2)
    with pytest.raises(ValueError):
        fps_fraction(0)


def test_parse_pts_time() -> None:
    line = "[Parsed_showinfo_0 @ 0x1] n:  12 pts: 6144 pts_time:0.48    duration: 512 duration_time:0.04"
    assert parse_pts_time(line) == pytest.approx(0.48)
    assert parse_pts_time("[Parsed_showinfo_0 @ 0x1] config in time_base: 1/12800") is None


def test_hung_ffmpeg_becomes_a_studio_error() -> None:
    with pytest.raises(StudioError, match="more than 0.5 seconds"):
        run_ffmpeg(["-f", "lavfi", "-i", "color", "-f", "null", "-"], None, timeout=0.5)
