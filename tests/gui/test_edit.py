"""Pose editing: dragging a keypoint on the driving overlay, undo/redo, cache invalidation."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from studio.core.frame_cache import FrameState
from studio.core.tracks import FLAG_EDITED


def _drag(qtbot, canvas, start, end):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)


def test_keypoint_drag_is_undoable_and_invalidates_only_that_frame(make_window, sample_project, qtbot, idle):
    w = make_window()
    w.open_project(sample_project)
    doc = w.doc
    doc.timeline.set_out(5)
    w.controller.start()
    idle(w)
    assert (doc.frame_states()[:6] == FrameState.FINAL).all()

    doc.timeline.set_current(2)
    canvas = w.driving_panel.canvas
    pose = doc.pose
    before = pose.body.copy()
    x, y = pose.body[2, 4]  # right wrist
    start = canvas.to_widget(float(x), float(y)).toPoint()
    end = start + QPoint(25, -15)
    edits = doc.undo_stack.count()  # the out point set above is an edit too
    with qtbot.waitSignal(doc.pose_edited, check_params_cb=lambda a, b: (a, b) == (2, 3)):
        _drag(qtbot, canvas, start, end)
    assert doc.undo_stack.count() == edits + 1
    moved = pose.body[2, 4]
    exp = canvas.to_image(end)
    assert np.allclose(moved, exp, atol=2e-3)
    assert pose.flags[2] & FLAG_EDITED
    changed = np.flatnonzero(np.any(np.nan_to_num(pose.body) != np.nan_to_num(before), axis=(1, 2)))
    assert changed.tolist() == [2]
    st = w.timeline.states()
    assert st[2] == FrameState.STALE
    assert (st[[0, 1, 3, 4, 5]] == FrameState.FINAL).all()
    assert doc.dirty

    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(np.nan_to_num(pose.body), np.nan_to_num(before))
    assert not pose.flags[2] & FLAG_EDITED
    assert w.timeline.states()[2] == FrameState.FINAL

    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.allclose(pose.body[2, 4], exp, atol=2e-3)


def test_drag_spreads_to_neighbours_with_falloff(make_window, sample_project, qtbot):
    from studio.gui.undo import MoveKeypointCommand

    w = make_window()
    w.open_project(sample_project)
    doc = w.doc
    before = doc.pose.body[:, 7].copy()
    target = before[10] + np.array([0.1, 0.0], np.float32)
    doc.undo_stack.push(MoveKeypointCommand(doc, 10, "body", 7, float(target[0]), float(target[1]), spread=2))
    d = doc.pose.body[:, 7, 0] - before[:, 0]
    assert np.allclose(d[10], 0.1, atol=1e-6)
    assert np.allclose(d[[9, 11]], 0.1 * 2 / 3, atol=1e-5)
    assert np.allclose(d[[8, 12]], 0.1 * 1 / 3, atol=1e-5)
    assert np.allclose(d[:8], 0) and np.allclose(d[13:], 0)
    doc.undo_stack.undo()
    assert np.allclose(doc.pose.body[:, 7], before, equal_nan=True)


def test_hand_points_can_be_dragged(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    doc = w.doc
    pose = doc.pose
    frames = np.flatnonzero(pose.hands_conf[:, 0, 0] > 0)
    if len(frames) == 0:  # the sample has no hands: give frame 0 one
        pose.hands[0, 0] = pose.body[0, 7] + np.linspace(0, 0.05, 21)[:, None].astype(np.float32)
        pose.hands_conf[0, 0] = 1.0
        frames = [0]
    f = int(frames[0])
    doc.timeline.set_current(f)
    canvas = w.driving_panel.canvas
    canvas.set_layers(body=False)
    x, y = pose.hands[f, 0, 8]
    start = canvas.to_widget(float(x), float(y)).toPoint()
    _drag(qtbot, canvas, start, start + QPoint(10, 10))
    assert doc.undo_stack.count() == 1
    assert "hand" in doc.undo_stack.text(0)
