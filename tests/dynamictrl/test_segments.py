"""Clips longer than one pass: overlapping segments on the tiny release (CPU, 32x32)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.dynamictrl import rules  # noqa: E402
from studio.backends.dynamictrl.segments import SegmentFrames, SegmentStep, blend, render_segments  # noqa: E402

ARGS = dict(prompt="A dancer on a stage.", negative_prompt="", steps=2, guidance=3.0, seed=5)


def _clip(cases, n=21, size=32):
    case = cases["b_21f_32x48_nocfg"]
    poses = case.poses()[:n, :size, :size]
    return case.reference(), np.ascontiguousarray(poses)


def _run(pipe, ref, poses, plan, **kw):
    events = list(render_segments(pipe, ref, poses, plan, **ARGS, **kw))
    return [e for e in events if isinstance(e, SegmentFrames)], [e for e in events if isinstance(e, SegmentStep)]


@pytest.fixture(scope="module")
def two_segments(cases, tiny_pipeline):
    ref, poses = _clip(cases)
    plan = rules.plan_segments(21, segment=13, overlap=5)
    frames, steps = _run(tiny_pipeline, ref, poses, plan)
    return ref, poses, plan, frames, steps


def test_segments_stream_the_whole_clip_in_order(two_segments):
    _, _, plan, frames, steps = two_segments
    assert [(s.start, s.stop) for s in plan] == [(0, 13), (8, 21)]
    assert [(f.start, len(f.frames)) for f in frames] == [(0, 8), (8, 13)]
    assert len(steps) == 2 * len(plan)
    assert frames[0].tail.shape == (5, 32, 32, 3) and frames[-1].tail is None


def test_resume_from_the_saved_tail_is_identical(two_segments, tiny_pipeline):
    ref, poses, plan, frames, _ = two_segments
    resumed, _ = _run(tiny_pipeline, ref, poses, plan, first=1, tail=frames[0].tail)
    assert len(resumed) == 1
    np.testing.assert_array_equal(resumed[0].frames, frames[1].frames)


def test_the_second_segment_continues_from_the_first(two_segments, tiny_pipeline):
    """Holding the overlap changes the second segment (versus rendering its frames alone)."""
    ref, poses, plan, frames, _ = two_segments
    alone, _ = _run(tiny_pipeline, ref, poses[8:21], rules.plan_segments(13), )
    assert np.abs(alone[0].frames[5:].astype(int) - frames[1].frames[5:].astype(int)).mean() > 1.0


def test_blend_crossfades_linearly():
    a = np.zeros((3, 1, 1, 3), np.uint8)
    b = np.full((3, 1, 1, 3), 200, np.uint8)
    np.testing.assert_array_equal(blend(a, b)[:, 0, 0, 0], [50, 100, 150])


def test_resume_needs_the_tail(cases, tiny_pipeline):
    ref, poses = _clip(cases)
    with pytest.raises(ValueError, match="tail"):
        list(render_segments(tiny_pipeline, ref, poses, rules.plan_segments(21, 13, 5), first=1, **ARGS))
