"""Opening projects, scrubbing, keyboard transport, layout and recent files."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSettings, Qt

from studio.core.frame_cache import FrameState


def test_open_sample_project(make_window, sample_project, errors):
    w = make_window()
    assert w.open_project(sample_project)
    doc = w.doc
    assert doc.timeline.frame_count == 48
    assert doc.timeline.fps == 16
    assert doc.reference_rgb is not None and doc.reference_rgb.shape[2] == 3
    assert w.reference_panel.canvas.has_image()
    assert "sample" in w.windowTitle()
    assert (doc.frame_states() == FrameState.EMPTY).all()
    assert errors == []
    assert w.recent.paths()[0] == sample_project.resolve()


def test_open_broken_project_reports_error(make_window, tmp_path, errors):
    bad = tmp_path / "bad.studio.json"
    bad.write_text("{ not json")
    w = make_window()
    assert not w.open_project(bad)
    assert errors and errors[-1].title == "Broken project file"


def test_scrub_by_dragging_timeline(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    tl_widget, tl = w.timeline, w.doc.timeline
    x_mid = int(tl_widget.x_of(24))
    y = tl_widget.height() // 2
    with qtbot.waitSignal(tl.current_changed, check_params_cb=lambda i: i == 24):
        qtbot.mousePress(tl_widget, Qt.MouseButton.LeftButton, pos=QPoint(x_mid, y))
    qtbot.mouseMove(tl_widget, QPoint(int(tl_widget.x_of(40)), y))
    # a move with the button held scrubs (QTest's mouseMove carries no buttons: send one)
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent

    ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(tl_widget.x_of(40), y), QPointF(tl_widget.x_of(40), y),
                     Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    tl_widget.mouseMoveEvent(ev)
    assert tl.current == 40
    qtbot.mouseRelease(tl_widget, Qt.MouseButton.LeftButton, pos=QPoint(int(tl_widget.x_of(40)), y))
    assert w.viewer.status.text().startswith("frame 40 ")


def test_keyboard_transport(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    tl = w.doc.timeline
    key = lambda k, mod=Qt.KeyboardModifier.NoModifier: qtbot.keyClick(w, k, mod)  # noqa: E731
    key(Qt.Key.Key_Right)
    assert tl.current == 1
    key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert tl.current == 11
    key(Qt.Key.Key_Left)
    assert tl.current == 10
    key(Qt.Key.Key_I)
    assert tl.in_point == 10
    key(Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    key(Qt.Key.Key_O)
    assert (tl.in_point, tl.out_point) == (10, 20)
    assert w.doc.project.frame_range == (10, 21)
    key(Qt.Key.Key_Home)
    assert tl.current == 10
    key(Qt.Key.Key_End)
    assert tl.current == 20
    key(Qt.Key.Key_End)
    assert tl.current == 47
    key(Qt.Key.Key_Home)
    key(Qt.Key.Key_Home)
    assert tl.current == 0
    # Space plays (inside in/out, looping), Space again stops
    tl.set_current(10)
    with qtbot.waitSignals([w.playback.playing_changed, tl.current_changed, tl.current_changed], order="strict"):
        key(Qt.Key.Key_Space)
    key(Qt.Key.Key_Space)
    assert not w.playback.playing
    assert 10 < tl.current <= 20
    # L plays forward, L again doubles the speed, K stops, J plays backwards
    key(Qt.Key.Key_L)
    assert w.playback.playing and w.playback.direction == 1 and w.playback.speed == 1
    key(Qt.Key.Key_L)
    assert w.playback.speed == 2
    key(Qt.Key.Key_K)
    assert not w.playback.playing
    start = tl.current
    with qtbot.waitSignal(tl.current_changed, check_params_cb=lambda i: i == (start - 1 if start > 10 else 20)):
        key(Qt.Key.Key_J)
    key(Qt.Key.Key_K)
    # loop toggle
    assert tl.loop
    key(Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not tl.loop and not w.a_loop.isChecked()


def test_playback_without_loop_stops_at_out_point(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    tl = w.doc.timeline
    tl.set_loop(False)
    tl.set_current(44)
    w.playback.play()
    qtbot.waitUntil(lambda: not w.playback.playing, timeout=3000)
    assert tl.current == 47


def test_layout_and_preferences_persist(make_window, sample_project, settings_file):
    w = make_window()
    w.viewer.set_side_by_side(True)
    w.doc.timeline.set_loop(False)
    w.docks["render"].setVisible(False)
    w.close()
    s = QSettings(str(settings_file), QSettings.Format.IniFormat)
    assert s.value("view/side_by_side", type=bool) is True
    w2 = make_window(settings=s)
    assert w2.viewer.side_by_side()
    assert not w2.doc.timeline.loop
    assert not w2.docks["render"].isVisible()


def test_transport_keys_leave_text_fields_alone(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    seed = w.render_panel.seed
    seed.setFocus()
    qtbot.keyClick(seed, Qt.Key.Key_Right)
    assert w.doc.timeline.current == 0  # the cursor moved inside the field instead
    w.render_panel.dice.setFocus()
    qtbot.keyClick(w.render_panel.dice, Qt.Key.Key_Space)
    assert w.playback.playing and w.doc.settings.seed == 42  # Space plays; it does not press the button
    w.playback.stop()
