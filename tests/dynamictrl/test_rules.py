"""DynamiCtrl's frame/size rules and segment plans (no torch, no weights)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from studio.backends.dynamictrl import rules
from studio.core.errors import StudioError


def test_valid_counts_are_8k_plus_5():
    assert [n for n in range(0, 40) if rules.is_valid_count(n)] == [5, 13, 21, 29, 37]


@pytest.mark.parametrize("n, near", [(12, (5, 13)), (13, (13,)), (14, (13, 21)), (1, (5,)), (36, (29, 37)), (9, (5, 13))])
def test_nearest_counts(n, near):
    assert rules.nearest_counts(n) == near


def test_bad_count_names_13():
    with pytest.raises(StudioError) as err:
        rules.check_frames(12)
    assert "12 frames" in err.value.description and "13" in err.value.description
    assert "--frames 0:13" in err.value.description


@pytest.mark.parametrize("w, h, names", [(64, 56, ["height 56 (use 48 or 64)"]), (8, 64, ["width 8 (use 16)"]),
                                         (70, 70, ["width 70 (use 64 or 80)", "height 70 (use 64 or 80)"])])
def test_bad_size_names_nearest(w, h, names):
    with pytest.raises(StudioError) as err:
        rules.check_size(w, h)
    for name in names:
        assert name in err.value.description


def test_good_size_passes():
    rules.check_size(64, 64)
    rules.check_size(1360, 768)


def test_overlap_must_be_8j_plus_5():
    with pytest.raises(StudioError, match="overlap"):
        rules.plan_segments(45, segment=37, overlap=4)
    with pytest.raises(StudioError, match="overlap"):
        rules.plan_segments(45, segment=13, overlap=13)


def test_one_segment_when_it_fits():
    assert rules.plan_segments(13, segment=37, overlap=5) == [rules.Segment(0, 0, 13, 0)]


def test_example_plan():
    plan = rules.plan_segments(29, segment=13, overlap=5)
    assert [(s.start, s.stop, s.overlap) for s in plan] == [(0, 13, 0), (8, 21, 5), (16, 29, 5)]


@given(k=st.integers(0, 40), seg_k=st.integers(1, 6), ov_j=st.integers(0, 3))
def test_plans_tile_every_valid_clip(k, seg_k, ov_j):
    n, segment, overlap = 8 * k + 5, 8 * seg_k + 5, 8 * ov_j + 5
    if overlap > segment - 8:
        return
    plan = rules.plan_segments(n, segment, overlap)
    assert plan[0].start == 0 and plan[-1].stop == n
    for a, b in zip(plan, plan[1:]):
        assert b.start == a.stop - overlap and b.overlap == overlap
    for s in plan:
        assert rules.is_valid_count(s.length) and s.length <= segment
