"""A photo whose detected pose is broken: the Reference panel says what is wrong, retargeting is
off for it (one undo step with opening the photo), "Retarget anyway" turns it back on, and
dragging the wrong points (undoable) clears the warning and brings retargeting back."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from studio.core.tracks import FLAG_EDITED
from studio.extract.pose_check import L_ANKLE, L_ELBOW, L_KNEE, L_WRIST, R_ANKLE, R_ELBOW, R_KNEE, R_WRIST

MOVED = ((L_ELBOW, R_ELBOW), (L_WRIST, R_WRIST), (L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE))


def open_broken_photo(w, sample_project):
    """Open the sample, then its photo again with a pose broken the way a detector breaks it
    (both arms on the right arm, both legs on the right leg); returns the good pose."""
    w.open_project(sample_project)
    doc = w.doc
    good = doc.project.reference_pose
    broken = good.copy()
    for left, right in MOVED:
        broken.body[0, left] = broken.body[0, right] + 0.004
    doc.set_reference(doc.project.reference_image, doc.reference_rgb, broken, doc.project.reference_face)
    return good


def _drag(qtbot, canvas, start, end):
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, QPoint((start.x() + end.x()) // 2, (start.y() + end.y()) // 2))
    qtbot.mouseMove(canvas, end)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=end)


def test_broken_pose_is_flagged_and_retargeting_is_off(make_window, sample_project, qtbot):
    w = make_window()
    panel = w.reference_panel
    good = open_broken_photo(w, sample_project)
    doc = w.doc
    assert not doc.settings.retarget and not w.render_panel.retarget.isChecked()
    assert panel.warning.isVisible() and panel.retarget_btn.isVisible()
    text = panel.warning.text()
    assert "both arms on one side" in text and "legs on one line" in text and "Retargeting is off" in text
    assert "drag one knee and ankle onto the other leg" in panel.warning.toolTip()
    assert doc.model_view().retargets is False  # what every renderer reads

    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one step: photo and setting
    assert doc.project.reference_pose is good and doc.settings.retarget
    assert not panel.warning.isVisible()

    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not doc.settings.retarget and panel.warning.isVisible()
    qtbot.mouseClick(panel.retarget_btn, Qt.MouseButton.LeftButton)
    assert doc.settings.retarget and w.render_panel.retarget.isChecked()
    assert "on anyway" in panel.warning.text() and not panel.retarget_btn.isVisible()


def test_dragging_the_points_back_clears_the_warning(make_window, sample_project, qtbot):
    w = make_window()
    panel = w.reference_panel
    good = open_broken_photo(w, sample_project)
    doc = w.doc
    steps = doc.undo_stack.count()
    canvas = panel.canvas
    # drag the left elbow with the mouse (it sits just off the right elbow: pick it by index)
    broken = doc.project.reference_pose
    start = canvas.to_widget(*map(float, broken.body[0, L_ELBOW])).toPoint()
    end = canvas.to_widget(*map(float, good.body[0, L_ELBOW])).toPoint()
    assert canvas.pick(start.toPointF()) is not None
    _drag(qtbot, canvas, start, end)
    assert doc.undo_stack.count() == steps + 1
    assert "Move the photo's" in doc.undo_stack.text(steps)
    moved = doc.project.reference_pose
    assert moved is not broken and moved.flags[0] & FLAG_EDITED
    assert np.array_equal(broken.body[0, L_KNEE], moved.body[0, L_KNEE])
    assert panel.warning.isVisible() and not doc.settings.retarget  # legs still wrong

    for j, _ in MOVED[1:]:  # the other points, as the canvas's drag signal carries them
        canvas.keypoint_dragged.emit(0, "body", j, *map(float, good.body[0, j]))
    assert not panel.warning.isVisible()
    assert doc.settings.retarget  # switched off by the check, so back on once the pose passes

    doc.undo_stack.undo()
    doc.undo_stack.undo()  # the last two moves back: the legs are on one line again
    assert panel.warning.isVisible() and not doc.settings.retarget
    assert np.allclose(doc.project.reference_pose.body[0, L_ANKLE], broken.body[0, L_ANKLE])


def test_shipped_photo_gives_no_warning(make_window, sample_project, qtbot, errors):
    from pathlib import Path

    w = make_window()
    photo = Path(__file__).resolve().parents[2] / "resources" / "sample_real" / "reference.jpg"
    with qtbot.waitSignal(w.reference_panel.loaded, timeout=60_000):
        w.reference_panel.open_path(photo)
    assert errors == []
    assert w.doc.project.reference_pose is not None
    assert w.reference_panel.warning.text() == "" and not w.reference_panel.warning.isVisible()
    assert w.doc.settings.retarget
