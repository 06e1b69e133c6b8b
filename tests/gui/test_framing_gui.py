"""Framing in the window: presets in the render panel, drag and scroll on the Pose pane, the
skeleton following live, one undo step per drag."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt


def test_drag_and_scroll_frame_the_photo(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    doc, rp, pane = w.doc, w.render_panel, w.viewer.pose_view
    assert rp.framing.currentData() == "official"
    rp.frame_btn.setChecked(True)
    assert w.framing.active and w.viewer.side_by_side()
    qtbot.waitUntil(lambda: pane.isVisible() and pane.width() > 50, timeout=5000)
    before = doc.model_pose().body.copy()
    steps = doc.undo_stack.count()

    r = pane.image_rect()
    start = QPoint(int(r.center().x()), int(r.center().y()))
    end = QPoint(int(r.center().x() + 0.2 * r.width()), int(r.center().y()))
    qtbot.mousePress(pane, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 5):
        qtbot.mouseMove(pane, QPoint(start.x() + (end.x() - start.x()) * k // 4, start.y()))
    qtbot.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=end)
    ox, oy = doc.settings.photo_offset
    assert abs(ox - 0.2) < 0.02 and abs(oy) < 0.01
    assert doc.undo_stack.count() == steps + 1  # one drag, one undo step
    assert doc.undo_stack.undoText().startswith("Set photo position to (0.")
    assert rp.framing.currentData() == "custom"

    w.framing.scale_by(0.8)  # what a few wheel notches do
    assert doc.settings.photo_scale == 0.8
    after = doc.model_pose().body
    size = lambda b: np.nanmax(b[..., 1]) - np.nanmin(b[..., 1])  # noqa: E731
    assert size(after) < 0.9 * size(before)  # retargeted to the smaller person: the skeleton shrinks

    # the pane shows the placed photo under the skeleton while framing
    img = pane.grab().toImage()
    centre = img.pixelColor(int(r.center().x() + 0.2 * r.width()), int(r.center().y() + 0.3 * r.height()))
    assert max(centre.red(), centre.green(), centre.blue()) > 20

    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.settings.photo_offset == (0.0, 0.0) and doc.settings.photo_scale == 1.0
    assert rp.framing.currentData() == "official"


def test_presets_from_the_panel(make_window, sample_project):
    w = make_window()
    w.open_project(sample_project)
    doc, rp = w.doc, w.render_panel
    rp.framing.setCurrentIndex(rp.framing.findData("fit"))
    rp.framing.activated.emit(rp.framing.currentIndex())
    assert doc.settings.video_fit == "fit" and doc.undo_stack.undoText() == "Frame with the fit preset"
    rp.framing.setCurrentIndex(rp.framing.findData("center"))
    rp.framing.activated.emit(rp.framing.currentIndex())
    assert (doc.settings.video_fit, doc.settings.photo_scale) == ("center", 1.0)
    doc.undo_stack.undo()
    assert doc.settings.video_fit == "fit" and rp.framing.currentData() == "fit"


def test_wheel_scales_while_framing(make_window, sample_project, qtbot):
    from PySide6.QtCore import QPoint as P
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    w = make_window()
    w.open_project(sample_project)
    w.framing.set_active(True)
    pane = w.viewer.pose_view
    pos = QPointF(pane.width() / 2, pane.height() / 2)
    ev = QWheelEvent(pos, pane.mapToGlobal(pos), P(0, 0), P(0, 120), Qt.MouseButton.NoButton,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(pane, ev)
    assert w.doc.settings.photo_scale == 1.05


def test_shift_drag_moves_the_video_and_the_skeleton(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    doc, pane = w.doc, w.viewer.pose_view
    w.framing.set_active(True)
    qtbot.waitUntil(lambda: pane.isVisible() and pane.width() > 50, timeout=5000)
    before = doc.model_pose().body.copy()
    r = pane.image_rect()
    start = QPoint(int(r.center().x()), int(r.center().y()))
    end = QPoint(start.x(), int(r.center().y() + 0.1 * r.height()))
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(pane, Qt.MouseButton.LeftButton, shift, pos=start)
    qtbot.mouseMove(pane, end)
    qtbot.mouseRelease(pane, Qt.MouseButton.LeftButton, shift, pos=end)
    assert doc.settings.photo_offset == (0.0, 0.0)
    dy = doc.settings.video_offset[1]
    assert abs(dy - 0.1) < 0.02
    assert np.nanmedian(doc.model_pose().body[..., 1] - before[..., 1]) == pytest.approx(dy, abs=0.01)
    assert doc.undo_stack.undoText().startswith("Set video position")
    w.framing.scale_by(1.1, "video")
    assert doc.settings.video_scale == 1.1
