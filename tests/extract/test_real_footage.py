"""Real footage: the first 3 s of a real dance clip (example 2 of the official X-Dyna repository,
Apache-2.0) against the official pose maps of the same frames, measured the way
``bench/pose_vs_official.py`` measures whole clips. The dancer's hands are 20-30 px; the previous
palm-detector extraction drew them on 0-1% of these frames."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real_dance"
BENCH = Path(__file__).resolve().parents[2] / "bench" / "pose_vs_official.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_pose_vs_official", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def measured():
    bench = _bench()
    stats = bench.measure(str(FIXTURES / "driving_2_24f.mp4"), str(FIXTURES / "official_pose_2_24f.mp4"))
    return bench, stats


def test_hands_are_drawn_where_the_official_maps_have_them(measured) -> None:
    _, s = measured
    official = s.hands_official
    assert official.sum() >= 24  # the official maps draw hands on these frames
    share = (s.hands_ours & official).sum() / official.sum()
    assert share >= 0.95, share
    assert np.median(s.hand_chamfer) <= 4.0  # and they lie where the official hands are


def test_body_matches_the_official_maps(measured) -> None:
    _, s = measured
    assert s.frames == 24
    assert np.median(s.chamfer) <= 2.0
    assert s.hits_official / s.total_official >= 0.9  # recall within 8 px
    assert s.hits_ours / s.total_ours >= 0.9  # precision within 8 px


def test_the_official_map_analysis_finds_and_sides_hands(measured) -> None:
    """Hand dots are told from the left-knee dot by size and given a side by the forearm colour."""
    bench, _ = measured
    from studio.extract.pose_map import draw_pose
    from test_hands_sides import walking

    pose = walking(1)
    img = draw_pose(pose.body[0], pose.body_conf[0], pose.hands[0], pose.hands_conf[0], 200, 400)
    left, right = bench.hand_masks(img)
    wrists = pose.body[0, [7, 4]] * [200, 400]
    for mask, wrist in ((left, wrists[0]), (right, wrists[1])):
        ys, xs = np.nonzero(mask)
        assert len(xs) > 0
        assert np.hypot(xs.mean() - wrist[0], ys.mean() - wrist[1]) < 25
    no_hands = draw_pose(pose.body[0], pose.body_conf[0], None, None, 200, 400)
    assert not any(m.any() for m in bench.hand_masks(no_hands))  # the knee dot is not a hand


def test_the_real_sample_project_is_complete() -> None:
    """``studio render --sample real``: the project, its photo, its video and the photo's pose."""
    import argparse

    from studio.cli import render as cli_render
    from studio.core.project import Project

    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", "--sample", "real", "-o", "out.mp4"])
    assert args.sample == "real"
    assert parser.parse_args(["render", "--sample", "-o", "out.mp4"]).sample == "drawn"
    project = Project.load(cli_render.sample_project_path("real"))
    assert project.reference_image is not None and project.reference_image.is_file()
    assert project.driving_video is not None and project.driving_video.is_file()
    assert project.driving_video.stat().st_size < 3 << 20  # small enough to ship
    assert project.pose is None  # extracted on first use, then cached
    ref = project.reference_pose
    assert ref is not None and (ref.body_conf[0, [1, 2, 5]] > 0.3).all()  # retargeting needs these
