"""PngSequence and open_frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.media.sequence import PngSequence
from studio.media.source import open_frames
from studio.media.video import VideoReader


def _write(folder: Path, numbers: list[int], size: tuple[int, int] = (40, 30)) -> None:
    folder.mkdir(exist_ok=True)
    for n in numbers:
        Image.fromarray(np.full((size[1], size[0], 3), n, np.uint8)).save(folder / f"frame_{n:05d}.png")


def test_reads_in_numeric_order(tmp_path: Path) -> None:
    _write(tmp_path / "s", list(range(12)))
    (tmp_path / "s" / "notes.txt").write_text("ignored")
    seq = open_frames(tmp_path / "s", fps=12)
    assert isinstance(seq, PngSequence)
    assert seq.frame_count == 12 and seq.size == (40, 30) and seq.fps == 12
    assert [int(f[0, 0, 0]) for f in seq] == list(range(12))
    assert seq.read(10)[0, 0, 0] == 10


def test_gap_is_reported(tmp_path: Path) -> None:
    _write(tmp_path / "s", [0, 1, 2, 4, 5])
    with pytest.raises(StudioError, match="no frame 3"):
        PngSequence(tmp_path / "s")


def test_empty_and_missing_folders(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(StudioError, match="holds no files named frame_00000.png"):
        PngSequence(tmp_path / "empty")
    with pytest.raises(StudioError, match="is not a folder"):
        PngSequence(tmp_path / "nope")


def test_mixed_sizes_are_reported(tmp_path: Path) -> None:
    _write(tmp_path / "s", [0, 1])
    _write(tmp_path / "s", [2], size=(20, 20))
    seq = PngSequence(tmp_path / "s")
    with pytest.raises(StudioError, match="same size"):
        seq.read(2)


def test_open_frames_picks_the_video_reader(index_video: Path) -> None:
    with open_frames(index_video) as reader:
        assert isinstance(reader, VideoReader) and reader.frame_count == 120
