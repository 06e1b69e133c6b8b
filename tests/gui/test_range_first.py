"""Range-first extraction: the first seconds of a new driving video get their pose at once, the
rest of the clip follows in the background; the timeline marks frames with no pose yet."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.tracks import FLAG_EDITED, FLAG_PENDING, PoseTrack
from studio.extract.range_first import first_range, merge_complete, pending_frames


def test_first_range_prefers_the_in_out_range_then_the_playhead() -> None:
    assert first_range(2000, 25, (300, 450), playhead=10) == (300, 450)
    assert first_range(2000, 8, None, playhead=0) == (0, 48)  # 6 s from the start
    assert first_range(2000, 8, None, playhead=1000) == (992, 1040)  # a second before the playhead
    assert first_range(2000, 8, None, playhead=1990) == (1952, 2000)
    assert first_range(40, 25, None, playhead=5) == (0, 40)
    # at a phone clip's frame rate at most FIRST_FRAMES (48) frames come first, the playhead inside
    assert first_range(2000, 25, None, playhead=0) == (0, 48)
    assert first_range(2000, 25, None, playhead=1000) == (976, 1024)  # half of them before the playhead
    assert first_range(2000, 25, None, playhead=0, seconds=6, max_frames=1000) == (0, 150)


def test_merge_keeps_edits_and_fills_the_rest() -> None:
    partial = PoseTrack.empty(10, 64, 64, 25)
    partial.flags[:] = FLAG_PENDING
    partial.body[2] = 0.3
    partial.flags[2] = FLAG_EDITED
    full = PoseTrack.empty(10, 64, 64, 25)
    full.body[:] = 0.5
    full.flags[:] = 0
    assert merge_complete(partial, None, full, None)
    assert np.allclose(partial.body[2], 0.3) and np.allclose(partial.body[5], 0.5)
    assert pending_frames(partial).size == 0
    assert not merge_complete(partial, None, PoseTrack.empty(9, 64, 64, 25), None)


@pytest.fixture
def clip(make_video_file):
    return make_video_file(40, fps=4)  # 10 s: the first 6 s (24 frames) come first


@pytest.fixture
def make_video_file(tmp_path):
    from studio.media.exporters import export_frames

    def make(n: int, fps: float):
        rng = np.random.default_rng(0)
        frames = [np.clip(rng.normal(120, 30, (64, 64, 3)), 0, 255).astype(np.uint8) for _ in range(n)]
        return export_frames(frames, fps, tmp_path / "clip.mp4")

    return make


def test_open_shows_the_first_seconds_then_fills_the_clip(make_window, sample_project, qtbot, clip, errors,
                                                          monkeypatch, tmp_path):
    from studio.gui.panels.driving import extract_first_tracks, extract_tracks
    from studio.gui.widgets.timeline import PENDING_COLOR

    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))  # a fresh clip: nothing cached

    w = make_window()
    w.open_project(sample_project)
    gate = threading.Event()

    def gated(path, progress, cancel):  # the whole clip, held back until the test has looked
        gate.wait(30)
        return extract_tracks(path, progress, cancel)

    panel = w.driving_panel
    panel.extractor, panel.first_extractor = gated, extract_first_tracks
    panel.open_path(clip)
    qtbot.waitUntil(lambda: w.doc.timeline.frame_count == 40, timeout=60_000)
    pose = w.doc.pose
    assert pending_frames(pose).tolist() == list(range(24, 40))
    assert panel.is_extracting()
    # the timeline marks the frames with no pose yet
    img = w.timeline.grab().toImage()
    y = w.timeline.RULER_H + 2 + w.timeline.BAR_H + 2 + 1
    assert img.pixelColor(int(w.timeline.x_of(30)), y) == PENDING_COLOR
    assert img.pixelColor(int(w.timeline.x_of(10)), y) != PENDING_COLOR
    # rendering a pending frame is refused with a reason; the first frames render
    w.doc.timeline.set_out(35)
    with pytest.raises(StudioError, match="still being extracted"):
        w.doc.make_job()
    w.doc.timeline.set_out(20)
    assert w.doc.make_job().n_frames == 21
    steps = w.doc.undo_stack.count()
    gate.set()
    qtbot.waitUntil(lambda: pending_frames(w.doc.pose).size == 0, timeout=60_000)
    assert w.doc.pose is pose  # filled in place: undo snapshots still name this track
    assert w.doc.undo_stack.count() == steps  # filling in is not an edit
    qtbot.waitUntil(lambda: not panel.is_extracting(), timeout=10_000)
    assert errors == []


def test_a_project_saved_mid_extraction_finishes_it_on_open(make_window, sample_project, qtbot, clip, monkeypatch,
                                                            tmp_path, errors):
    from studio.core.project import Project
    from studio.extract.range_first import extract_first

    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    first = extract_first(clip)
    assert not first.complete
    p = Project.load(sample_project)
    p.driving_video, p.pose, p.face, p.fps, p.frame_range = clip, first.pose, first.face, 4.0, None
    saved = p.save(tmp_path / "half.studio.json")
    w = make_window()
    w.open_project(saved)
    assert w.driving_panel.is_extracting()
    qtbot.waitUntil(lambda: pending_frames(w.doc.pose).size == 0, timeout=60_000)
    assert w.doc.timeline.frame_count == 40 and errors == []
