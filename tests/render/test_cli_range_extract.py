"""``studio render --image --video --frames A:B`` extracts the pose of frames A..B-1 only (the rest of
the clip is never looked at), caches that as a partial extraction, and a later render extends it."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from studio.cli import render as cli_render
from studio.extract.cache import ExtractionCache
from studio.extract.detector import FrameDetection
from studio.extract.extractor import ExtractOptions, cache_key

N = 40
PHOTO = Path(__file__).resolve().parents[2] / "resources" / "sample" / "reference.png"
#: A standing OpenPose-18 body, normalised to the frame.
BODY = np.array([(0.5, 0.2), (0.5, 0.3), (0.4, 0.3), (0.35, 0.45), (0.33, 0.58), (0.6, 0.3), (0.65, 0.45),
                 (0.67, 0.58), (0.45, 0.6), (0.45, 0.75), (0.45, 0.9), (0.55, 0.6), (0.55, 0.75), (0.55, 0.9),
                 (0.48, 0.18), (0.52, 0.18), (0.46, 0.19), (0.54, 0.19)], np.float32)


class CountingDetector:
    """Reads the frame index from the frame's brightness (see ``clip``); records every call."""

    def __init__(self, seen: list[int]) -> None:
        self.seen = seen

    def detect(self, frame_rgb: np.ndarray, timestamp: float) -> FrameDetection:
        i = int(round((float(frame_rgb.mean()) - 20.0) / 5.0))
        self.seen.append(i)
        d = FrameDetection()
        d.n_people = 1
        d.body[:] = BODY + np.float32([0.002 * i, 0.0])
        d.body_conf[:] = 0.9
        return d

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def seen(monkeypatch, tmp_path) -> list[int]:
    """The frames the extraction's detector was called on (the default detector is replaced)."""
    calls: list[int] = []
    monkeypatch.setattr("studio.extract.extractor._default_detector", lambda options: CountingDetector(calls))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return calls


@pytest.fixture
def clip(tmp_path) -> Path:
    from studio.media.exporters import export_frames

    frames = [np.full((96, 64, 3), 20 + 5 * i, np.uint8) for i in range(N)]
    return export_frames(frames, 8.0, tmp_path / "clip.mp4")


def render(*argv) -> int:
    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", *map(str, argv)])
    return args.func(args)


def test_a_range_render_extracts_only_its_frames_and_later_renders_extend_them(seen, clip, tmp_path) -> None:
    base = ("--image", PHOTO, "--video", clip, "--size", "64x96", "--no-progress")
    assert render(*base, "--frames", "0:8", "-o", tmp_path / "a") == 0
    assert seen == list(range(8))  # not the 40 frames of the clip
    assert len(list((tmp_path / "a").glob("frame_*.png"))) == 8
    key = cache_key(clip, ExtractOptions())
    assert ExtractionCache().load(key) is None  # a partial extraction is not the whole clip's

    seen.clear()
    assert render(*base, "--frames", "4:12", "-o", tmp_path / "b") == 0
    assert seen == list(range(8, 12))  # frames 4-7 come from the partial extraction

    seen.clear()
    assert render(*base, "-o", tmp_path / "c") == 0  # the whole clip: the missing frames only
    assert seen == list(range(12, N))
    assert len(list((tmp_path / "c").glob("frame_*.png"))) == N
    assert ExtractionCache().load(key) is not None
    seen.clear()
    assert render(*base, "--frames", "30:", "-o", tmp_path / "d") == 0
    assert seen == []  # all cached now
