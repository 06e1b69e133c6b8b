"""A spare helper: started (and warmed up) before its work is known, it runs the next call as a
fresh helper would, and a clip's first frames extracted in it are the fresh helper's tracks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.phases import PHASE_LOG, read_marks
from studio.gui.helper_task import Spare, run_in_helper

pytestmark = pytest.mark.helper_process
CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "real_dance" / "driving_2_24f.mp4"
WARMED: list[int] = []


def warm_marker() -> None:  # runs in the spare before its call
    WARMED.append(os.getpid())


def report(progress, cancel, value):  # the call
    progress(1, 2, "half")
    return os.getpid(), list(WARMED), value


def fail(progress, cancel):
    raise StudioError("Bad clip", "the clip is bad")


def test_the_call_runs_in_the_warm_spare():
    spare = Spare(warm_marker)
    seen = []
    pid, warmed, value = run_in_helper(report, ("x",), lambda d, n, m: seen.append((d, n, m)), CancelToken(),
                                       spare=spare)
    assert pid == spare.proc.pid != os.getpid() and warmed == [pid] and value == "x"
    assert seen == [(1, 2, "half")]
    assert not spare.usable()  # one call per spare
    # a used spare is not used again: the next call gets a fresh helper
    pid2, warmed2, _ = run_in_helper(report, ("y",), lambda *a: None, CancelToken(), spare=spare)
    assert pid2 != pid and warmed2 == []


def test_errors_in_a_spare_are_raised_here_and_an_idle_spare_closes():
    with pytest.raises(StudioError, match="the clip is bad"):
        run_in_helper(fail, (), lambda *a: None, CancelToken(), spare=Spare(warm_marker))
    idle = Spare(warm_marker)
    idle.close()
    assert not idle.proc.is_alive() and not idle.usable()


def test_first_frames_from_a_warm_spare_equal_a_fresh_helpers(tmp_path, monkeypatch):
    """The spare's detector, built before the clip was known, gives the tracks a detector built
    for the clip gives (cache off between the two: each extracts)."""
    from studio.gui.extraction import extract_first_in_helper, warm_extraction

    monkeypatch.setenv(PHASE_LOG, str(tmp_path / "phases.jsonl"))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "warm"))
    spare = Spare(warm_extraction)
    warm = run_in_helper(extract_first_in_helper, (CLIP, None, 0), lambda *a: None, CancelToken(), spare=spare)
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cold"))
    cold = run_in_helper(extract_first_in_helper, (CLIP, None, 0), lambda *a: None, CancelToken())
    for a, b in ((warm[1], cold[1]), (warm[2], cold[2])):
        for k in a._arrays:  # noqa: SLF001 - every per-frame array of the track
            assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True), k
    marks = [m for m in read_marks(tmp_path / "phases.jsonl") if m.pid == spare.proc.pid]
    names = [m.name for m in marks]
    # the spare built its graphs before it was taken, and not again for the clip
    assert names.index("pose graphs built") < names.index("spare helper warm") < names.index("range detected")
    assert names.count("pose graphs built") == 1


def test_a_photo_without_a_clip_warms_the_extraction_helper_the_clip_then_uses(make_window, qtbot, tmp_path,
                                                                                 monkeypatch, errors):
    monkeypatch.setenv(PHASE_LOG, str(tmp_path / "phases.jsonl"))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    w = make_window()
    panel = w.driving_panel
    assert panel.spare is None
    w.reference_panel.open_path(CLIP.parent / "reference_1.png")
    qtbot.waitUntil(lambda: panel.spare is not None, timeout=60_000)
    spare = panel.spare
    task = panel.open_path(CLIP)
    assert panel.spare is None  # one clip per spare
    qtbot.waitUntil(lambda: w.doc.timeline.frame_count == 24, timeout=120_000)
    qtbot.waitUntil(lambda: not panel.is_extracting(), timeout=120_000)
    detected_in = {m.pid for m in read_marks(tmp_path / "phases.jsonl") if m.name == "range detected"}
    assert spare.proc.pid in detected_in and task is not None and errors == []
    monkeypatch.setenv("STUDIO_SPARE_HELPER", "0")
    panel.warm_up()
    assert panel.spare is None
