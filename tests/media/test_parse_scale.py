"""One export-scale parser for ``studio render --scale`` and ``studio export --scale``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.media.panels import parse_scale


@pytest.mark.parametrize("text, value", [("150%", 1.5), ("0.5", 0.5), (" 25% ", 0.25), ("2", 2.0), (1.0, 1.0)])
def test_fractions_and_percentages(text, value) -> None:
    assert parse_scale(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["10%", "3", "big", "%"])
def test_bad_scales_are_studio_errors(text) -> None:
    with pytest.raises(StudioError):
        parse_scale(text)


def test_studio_export_takes_a_percentage(tmp_path: Path) -> None:
    import cv2

    from studio.cli import export as cli_export
    from studio.media.video import VideoReader

    src = tmp_path / "frames"
    src.mkdir()
    for i in range(3):
        cv2.imwrite(str(src / f"frame_{i:05d}.png"), np.full((40, 64, 3), 60 * i, np.uint8))
    parser = argparse.ArgumentParser(prog="studio")
    cli_export.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export", str(src), "-o", str(tmp_path / "out.mp4"), "--scale", "50%", "--no-progress"])
    assert args.func(args) == 0
    with VideoReader(tmp_path / "out.mp4") as r:
        assert r.size == (32, 20) and r.frame_count == 3
