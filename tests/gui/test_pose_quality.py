"""Pose quality in the window (strip under the timeline, problem-frame keys, driving-panel summary,
S-Face note) and the Pose pane: what the model sees, edited in that space."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from studio.core.tracks import FLAG_NO_PERSON
from studio.extract.model_view import EDIT_TOLERANCE_PX, model_pose


def _break_frames(doc) -> None:
    """Nobody on frame 5, no left hand on 9-10, no face on 20 (in place, like an edit)."""
    pose, face = doc.project.pose, doc.project.face
    for side, wrist in ((0, 7), (1, 4)):  # the drawn sample has no hands: give it some
        pose.hands[:, side] = pose.body[:, wrist, None] + np.linspace(0, 0.03, 21)[None, :, None]
        pose.hands_conf[:, side] = 1.0
    pose.body[5] = np.nan
    pose.body_conf[5] = 0.0
    pose.hands[5] = np.nan
    pose.hands_conf[5] = 0.0
    pose.flags[5] |= FLAG_NO_PERSON
    pose.hands[9:11, 0] = np.nan
    pose.hands_conf[9:11, 0] = 0.0
    if face is not None:
        face.conf[20] = 0.0
        face.box[20] = np.nan
    doc.notify_pose_edited(0, len(pose))


def test_quality_strip_keys_and_summary(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    doc = w.doc
    assert w.quality_strip.isVisible()
    _break_frames(doc)
    q = doc.pose_quality()
    problems = list(np.flatnonzero(q.problems))
    assert 5 in problems and 9 in problems and 10 in problems and 8 not in problems
    masks = w.quality_strip.row_masks()
    assert masks[0][1][5]  # person row: missing on frame 5
    assert masks[1][1][9] and not masks[1][1][8]  # left-hand row
    doc.timeline.set_current(0)
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert doc.timeline.current == problems[0]
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert doc.timeline.current == problems[1]
    qtbot.keyClick(w, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert doc.timeline.current == problems[0]
    w.driving_panel.refresh()
    text = w.driving_panel.quality.text()
    c = q.counts()
    assert f"person on {c['frames'] - c['no person']}/{c['frames']}" in text
    assert f"{c['problem frames']} problem frame" in text
    if doc.project.face is not None:
        doc.timeline.set_current(20)
        assert "S-Face" in w.driving_panel.canvas.note and "frame 20" in w.driving_panel.canvas.note
        doc.timeline.set_current(0)
        assert w.driving_panel.canvas.note == ""
    w.quality_strip.grab()  # paints without errors


def test_pose_pane_shows_and_edits_what_the_model_sees(make_window, sample_project, qtbot, errors):
    w = make_window()
    w.open_project(sample_project)
    doc = w.doc
    w.viewer.set_side_by_side(True)
    doc.timeline.set_current(3)
    pane = w.viewer.pose_view
    shown = pane.pose
    expected = model_pose(doc.pose, doc.model_view())
    assert shown is not None and (shown.width, shown.height) == (doc.settings.width, doc.settings.height)
    np.testing.assert_array_equal(shown.body, expected.body)
    assert pane.has_image() and pane.handles_only and pane.editable
    qtbot.waitUntil(lambda: pane.image_rect().width() > 20, timeout=3000)
    x, y = shown.body[3, 7]  # left wrist, in output-canvas coordinates
    start = pane.to_widget(float(x), float(y)).toPoint()
    end = start + QPoint(12, -9)
    before = doc.pose.body.copy()
    qtbot.mousePress(pane, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(pane, end)
    qtbot.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=end)
    assert errors == []
    target = np.array(pane.to_image(end))
    after = model_pose(doc.pose, doc.model_view())
    size = np.array([doc.settings.width, doc.settings.height])
    assert np.hypot(*((after.body[3, 7] - target) * size)) <= EDIT_TOLERANCE_PX
    assert not np.allclose(doc.pose.body[3, 7], before[3, 7])  # the driving track moved
    np.testing.assert_array_equal(np.delete(doc.pose.body, 3, axis=0), np.delete(before, 3, axis=0))
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    np.testing.assert_array_equal(np.nan_to_num(doc.pose.body), np.nan_to_num(before))


def test_the_window_and_a_render_job_see_the_same_pose(make_window, sample_project):
    """The Pose pane and the GUI export use the document's view; a render uses the job's: equal."""
    from studio.extract.model_view import ModelView, model_pose_for_job

    w = make_window(show=False)
    w.open_project(sample_project)
    doc = w.doc
    job = doc.make_job()
    view, job_view = doc.model_view(), ModelView.for_job(job)
    assert (view.width, view.height, view.retarget) == (job_view.width, job_view.height, job_view.retarget)
    np.testing.assert_array_equal(doc.model_pose().body, model_pose_for_job(job).body)
    np.testing.assert_array_equal(doc.model_pose().hands, model_pose_for_job(job).hands)
