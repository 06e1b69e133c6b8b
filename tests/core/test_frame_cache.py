import numpy as np
import pytest

from studio.core.frame_cache import FrameCache, FrameState, ranges_of


def frame(v, h=8, w=10):
    return np.full((h, w, 3), v, np.uint8)


def test_put_get_and_ranges():
    c = FrameCache()
    for i in [0, 1, 2, 5, 6]:
        c.put("a", i, frame(i))
    assert c.valid_ranges("a") == [(0, 3), (5, 7)]
    assert c.get("a", 5)[0, 0, 0] == 5
    assert c.get("a", 3) is None and c.get("b", 0) is None


def test_preview_never_replaces_final():
    c = FrameCache()
    c.put("a", 0, frame(1), final=True)
    c.put("a", 0, frame(2), final=False)
    assert c.get("a", 0)[0, 0, 0] == 1
    c.put("a", 1, frame(3), final=False)
    assert c.state("a", 1) == FrameState.PREVIEW
    assert c.valid_ranges("a") == [(0, 1)]
    assert c.valid_ranges("a", final_only=False) == [(0, 2)]


def test_states_show_stale_frames_under_new_fingerprint():
    c = FrameCache()
    c.put("old", 0, frame(1))
    c.put("old", 1, frame(1))
    c.put("new", 1, frame(2))
    states = c.states("new", 3)
    assert list(states) == [FrameState.STALE, FrameState.FINAL, FrameState.EMPTY]
    per_frame = c.states(["old", "new", "x"], 3)
    assert list(per_frame) == [FrameState.FINAL, FrameState.FINAL, FrameState.EMPTY]


def test_budget_spills_to_png_and_reads_back(tmp_path):
    one = frame(0).nbytes
    c = FrameCache(budget_bytes=2 * one, spill_dir=tmp_path)
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (8, 10, 3), dtype=np.uint8) for _ in range(5)]
    for i, f in enumerate(frames):
        c.put("k", i, f)
    assert c.memory_bytes <= 2 * one
    assert len(list(tmp_path.rglob("*.png"))) == 3
    for i, f in enumerate(frames):
        np.testing.assert_array_equal(c.get("k", i), f)  # PNG is lossless
    assert c.valid_ranges("k") == [(0, 5)]


def test_invalidate_range_emits_and_removes_spilled_files(tmp_path):
    c = FrameCache(budget_bytes=frame(0).nbytes, spill_dir=tmp_path)
    for i in range(6):
        c.put("k", i, frame(i))
    events = []
    c.changed.connect(lambda a, b: events.append((a, b)))
    c.invalidate(1, 4)
    assert events == [(1, 4)]
    assert c.valid_ranges("k") == [(0, 1), (4, 6)]
    assert c.get("k", 2) is None
    c.clear()
    assert len(c) == 0 and not list(tmp_path.rglob("*.png"))


def test_rejects_non_uint8_frames():
    with pytest.raises(ValueError):
        FrameCache().put("k", 0, np.zeros((2, 2, 3), np.float32))


def test_ranges_of():
    assert ranges_of([3, 1, 2, 7, 7, 8]) == [(1, 4), (7, 9)]
    assert ranges_of([]) == []
