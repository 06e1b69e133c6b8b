"""A new clip's first seconds render while the rest of the clip is still being extracted: Render is
enabled as soon as they have their pose, the render finishes before the extraction does, and when
the rest arrives the rendered frames stay final (retargeting off) or turn stale (retargeting on:
the limb medians are taken over the whole clip)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.core.frame_cache import FrameState
from studio.core.tracks import FLAG_PENDING
from studio.extract.partial import pending_tracks
from studio.extract.range_first import pending_frames

FIRST = 24  # frames the fake range-first extraction gives at once


@pytest.fixture
def clip(tmp_path):
    from studio.media.exporters import export_frames

    frames = [np.full((64, 64, 3), 40 + 3 * i, np.uint8) for i in range(48)]  # the sample's 48 frames
    return export_frames(frames, 12, tmp_path / "clip.mp4")


@pytest.mark.parametrize("retarget, after", [(False, FrameState.FINAL), (True, FrameState.STALE)])
def test_render_starts_before_the_extraction_ends(make_window, sample_project, qtbot, clip, errors, retarget,
                                                  after):
    w = make_window()
    w.open_project(sample_project)
    doc, panel, ctl = w.doc, w.render_panel, w.controller
    full_pose, full_face = doc.pose.copy(), doc.project.face
    doc.update_settings(width=64, height=112, retarget=retarget)
    gate = threading.Event()

    def first(path, frame_range, playhead, progress, cancel):  # the first seconds, the rest pending
        pose, _ = pending_tracks(len(full_pose), full_pose.width, full_pose.height, full_pose.fps)
        pose.body[:FIRST], pose.body_conf[:FIRST] = full_pose.body[:FIRST], full_pose.body_conf[:FIRST]
        pose.hands[:FIRST], pose.hands_conf[:FIRST] = full_pose.hands[:FIRST], full_pose.hands_conf[:FIRST]
        pose.flags[:FIRST] = full_pose.flags[:FIRST]
        return path, pose, None, False

    def rest(path, progress, cancel):  # the whole clip, held back until the render is done
        assert gate.wait(60)
        return path, full_pose.copy(), full_face

    w.driving_panel.first_extractor, w.driving_panel.extractor = first, rest
    w.driving_panel.open_path(clip)
    qtbot.waitUntil(lambda: pending_frames(doc.pose).size == 48 - FIRST, timeout=30_000)
    assert w.driving_panel.is_extracting()
    assert doc.render_range() == tuple(range(FIRST))  # no in/out range: the frames with a pose
    assert panel.render_btn.isEnabled()
    assert f"0–{FIRST - 1}" in panel.summary.text() and "still being extracted" in panel.summary.text()

    with qtbot.waitSignal(ctl.finished, timeout=60_000):
        panel.render_btn.click()
    assert w.driving_panel.is_extracting()  # the render finished while the extraction went on
    qtbot.waitUntil(lambda: not ctl.busy, timeout=10_000)  # (finished comes before the worker ends)
    states = doc.frame_states()
    assert (states[:FIRST] == FrameState.FINAL).all() and (states[FIRST:] == FrameState.EMPTY).all()

    doc.timeline.set_in(10)  # a range reaching frames with no pose yet cannot render
    doc.timeline.set_out(30)
    qtbot.waitUntil(lambda: not panel.render_btn.isEnabled(), timeout=3000)
    assert "no pose yet" in panel.render_btn.toolTip()
    doc.timeline.clear_range()
    assert panel.render_btn.isEnabled()

    gate.set()
    qtbot.waitUntil(lambda: pending_frames(doc.pose).size == 0, timeout=30_000)
    assert not (doc.pose.flags & FLAG_PENDING).any() and doc.render_range() == tuple(range(48))
    states = doc.frame_states()
    assert (states[:FIRST] == after).all() and (states[FIRST:] == FrameState.EMPTY).all()
    assert errors == []


def test_the_photo_rig_is_prepared_before_a_clip_is_open(make_window, qtbot, errors):
    """The draft renderer builds the photo's rig (person segmentation, part layers) while the artist
    picks the clip, so the first render of a new clip does not start with it."""
    from pathlib import Path

    photo = Path(__file__).resolve().parents[2] / "resources" / "sample" / "reference.png"
    w = make_window()
    with qtbot.waitSignal(w.controller.prepared, timeout=60_000,
                          check_params_cb=lambda name, problem: name == "draft" and problem == ""):
        w.reference_panel.open_path(photo)
    assert w.doc.timeline.frame_count == 0  # no driving clip yet
    backend = w.controller._worker.backends["draft"]  # noqa: SLF001 - the worker's renderer
    assert backend._cached is not None  # noqa: SLF001 - the rig it keeps between renders
    assert errors == []
