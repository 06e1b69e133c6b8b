"""Widget-level behaviour: image caching, onion skin, timeline geometry, driving-frame loader."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest

from studio.gui.frame_loader import DrivingFrames
from studio.gui.widgets.image_view import ImageView
from studio.gui.widgets.timeline import _runs
from studio.gui.widgets.viewer import onion


def test_image_view_reuses_converted_pixmaps_by_key(qtbot, monkeypatch):
    import studio.gui.widgets.image_view as iv

    calls = []
    real = iv.to_pixmap
    monkeypatch.setattr(iv, "to_pixmap", lambda a: calls.append(1) or real(a))
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(200, 200)
    v.show()
    a, b = np.zeros((20, 10, 3), np.uint8), np.full((20, 10, 3), 255, np.uint8)
    v.set_image(a, "a")
    v.repaint()
    v.set_image(b, "b")
    v.repaint()
    v.set_image(a, "a")  # kept: no new conversion
    v.repaint()
    assert len(calls) == 2
    v.set_image(a)  # no key: always converted
    assert len(calls) == 3
    v.forget()
    v.set_image(b, "b")
    assert len(calls) == 4
    r = v.image_rect()
    assert abs(r.width() / r.height() - 0.5) < 0.02  # aspect kept
    x, y = v.to_image(v.to_widget(0.25, 0.75))
    assert (round(x, 6), round(y, 6)) == (0.25, 0.75)


def test_onion_tints_neighbours():
    cur = np.full((4, 4, 3), 100, np.uint8)
    before = np.full((4, 4, 3), 200, np.uint8)
    out = onion(cur, before, None, amount=0.5)
    assert out[0, 0, 0] > out[0, 0, 1]  # red ghost of the previous frame
    out = onion(cur, None, before, amount=0.5)
    assert out[0, 0, 1] > out[0, 0, 0]  # green ghost of the next frame
    assert np.array_equal(onion(cur, None, None), cur)


def test_runs():
    assert _runs(np.array([0, 0, 3, 3, 3, 1], np.uint8)) == [(0, 2, 0), (2, 5, 3), (5, 6, 1)]
    assert _runs(np.array([], np.uint8)) == []


def test_timeline_geometry(make_window, sample_project):
    w = make_window()
    w.open_project(sample_project)
    tl = w.timeline
    for i in (0, 7, 47):
        assert tl.frame_at(tl.x_of(i)) == i
    assert tl.frame_at(-100) == 0 and tl.frame_at(10_000) == 47


@pytest.fixture
def small_video(tmp_path):
    path = tmp_path / "v.mp4"
    with imageio.get_writer(path, fps=10, codec="libx264", macro_block_size=16, quality=10) as wr:
        for i in range(12):
            wr.append_data(np.full((32, 48, 3), i * 20, np.uint8))
    return path


def test_driving_frames_decode_off_thread(qtbot, small_video):
    frames = DrivingFrames()
    try:
        assert frames.request(3) is None  # no video yet
        frames.set_video(small_video)
        with qtbot.waitSignal(frames.frame_ready, timeout=10_000) as blocker:
            assert frames.request(5) is None  # decoding in the background
        i, img = blocker.args
        assert i == 5 and img.shape == (32, 48, 3)
        assert abs(float(img.mean()) - 100) < 8
        assert frames.request(5) is img  # now cached
    finally:
        frames.close()


def test_driving_frames_report_a_broken_video(qtbot, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"nope")
    frames = DrivingFrames()
    try:
        frames.set_video(bad)
        with qtbot.waitSignal(frames.failed, timeout=10_000) as blocker:
            frames.request(0)
        assert "bad.mp4" in str(blocker.args[0])
    finally:
        frames.close()


def test_a_long_note_strip_holds_all_its_wrapped_lines(qtbot):
    """The S-Face note on a narrow pane wraps to many lines; the strip is as tall as they are."""
    from PySide6.QtCore import QRect, Qt

    from studio.core.tracks import PoseTrack
    from studio.gui.widgets.pose_overlay import PoseCanvas

    canvas = PoseCanvas("x")
    qtbot.addWidget(canvas)
    canvas.resize(118, 400)  # an image 110 px wide: the text wraps to more lines than its length suggests
    pose = PoseTrack.empty(1, 64, 128, 10)
    pose.flags[:] = 0
    canvas.set_pose(pose, None, 0)
    canvas.note = ("No face on frame 0: the S-Face ControlNet gets black images here, so this frame is "
                   "rendered without face guidance")
    img = canvas.grab().toImage()
    r = canvas.image_rect()
    x = int(r.left()) + 2
    rows = [y for y in range(img.height()) if img.pixelColor(x, y).red() in range(125, 141)
            and img.pixelColor(x, y).green() in range(82, 98) and img.pixelColor(x, y).blue() < 35]
    painted = len(rows)
    fm = canvas.fontMetrics()
    wrapped = fm.boundingRect(QRect(0, 0, int(r.width()) - 8, 10_000),
                              int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), canvas.note).height()
    assert painted >= wrapped, (painted, wrapped)


def test_image_view_shows_pixels_that_come_after_an_empty_call_with_the_same_key(qtbot):
    """A key first given without pixels (the pose map not ready yet) must not swallow the
    pixels given later under that key: the pane stayed blank (issue 23)."""
    v = ImageView()
    qtbot.addWidget(v)
    v.resize(120, 120)
    v.show()
    qtbot.waitExposed(v)
    red = np.zeros((40, 40, 3), np.uint8)
    red[..., 0] = 255
    v.set_image(None, ("pose", 3, 0))
    assert not v.has_image()
    v.set_image(red, ("pose", 3, 0))
    assert v.has_image()
    c = v.grab().toImage().pixelColor(60, 60)
    assert (c.red(), c.green(), c.blue()) == (255, 0, 0)
    v.set_image(red, ("pose", 3, 0))  # shown with pixels: the same key costs nothing
    assert v.has_image()
