import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from studio.core import StudioError, WindowPlan, reference_windows, static_windows, window_weights

GOLDEN = Path(__file__).parents[1] / "fixtures" / "xdyna_tiny" / "b_sface_28f" / "expected" / "windows.json"


def test_short_clip_is_one_window_without_offset():
    assert reference_windows(10, offset=7) == [list(range(10))]
    assert reference_windows(16, offset=3) == [list(range(16))]


def test_reference_schedule_wraps_and_shifts():
    wins = reference_windows(28, offset=3)
    assert wins[0] == list(range(3, 19))
    assert wins[1] == list(range(15, 28)) + [0, 1, 2]
    assert wins[2] == [27] + list(range(0, 15))


@pytest.mark.skipif(not GOLDEN.exists(), reason="golden windows not copied yet")
def test_reference_schedule_matches_official_golden():
    golden = json.loads(GOLDEN.read_text())
    for step in golden["steps"]:
        off = step["uniform_args"]["offset"]
        assert reference_windows(28, off) == step["windows"]


def test_static_windows_end_on_last_frame():
    wins = static_windows(40)
    assert wins[0][0] == 0 and wins[-1][-1] == 39
    assert all(len(w) == 16 for w in wins)
    assert all(w == list(range(w[0], w[0] + 16)) for w in wins)
    assert [w[0] for w in static_windows(41)] == [0, 12, 24, 25]


@settings(deadline=None)  # a busy CI machine must not turn slow examples into failures
@given(
    n=st.integers(1, 200),
    context=st.integers(2, 24),
    data=st.data(),
)
def test_every_frame_covered_and_weights_normalised(n, context, data):
    overlap = data.draw(st.integers(0, context - 1))
    schedule = data.draw(st.sampled_from(["reference", "static", "stream"]))
    weighting = data.draw(st.sampled_from(["flat", "pyramid"]))
    offset = data.draw(st.integers(0, 50))
    plan = WindowPlan(n, context, overlap, schedule, weighting)
    wins = plan.windows(offset)
    assert all(len(w) == min(n, context) for w in wins)
    assert all(len(set(w)) == len(w) for w in wins)
    assert plan.coverage(offset).min() >= 1
    total = np.zeros(n)
    for w, wt in zip(wins, plan.frame_weights(offset)):
        assert np.all(wt > 0)
        np.add.at(total, w, wt)
    np.testing.assert_allclose(total, 1.0)


def test_pyramid_weights_peak_in_middle():
    w = window_weights(16, "pyramid")
    assert w[0] == w[-1] == 1 and w.max() == 8 and np.all(w == w[::-1])
    assert np.all(window_weights(5, "flat") == 1)


def test_bad_settings_raise_studio_error():
    with pytest.raises(StudioError):
        WindowPlan(10, 16, 16)
    with pytest.raises(StudioError):
        WindowPlan(0)
    with pytest.raises(StudioError):
        WindowPlan(20, schedule="zigzag")  # type: ignore[arg-type]
    with pytest.raises(StudioError):
        WindowPlan(20, weighting="cosine")  # type: ignore[arg-type]


def test_offset_only_used_by_long_reference_clips():
    assert WindowPlan(40).uses_offset
    assert not WindowPlan(16).uses_offset
    assert not WindowPlan(40, schedule="static").uses_offset
