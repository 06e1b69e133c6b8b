"""The export dialog: formats, range, size, side by side; worker with progress and cancel."""

from __future__ import annotations

import os

import pytest

from studio.gui.export_frames import describe_ranges
from studio.media.panels import even


@pytest.fixture
def rendered(make_window, sample_project, fake_backend_cls, idle):
    """A window whose frames 4..11 are rendered by the fake backend (32x32 frames)."""
    w = make_window(backend_factory=lambda name: fake_backend_cls(delay=0.0))
    w.open_project(sample_project)
    w.doc.timeline.set_in(4)
    w.doc.timeline.set_out(11)
    w.controller.start()
    idle(w)
    return w


def _run(qtbot, dlg, fmt: str, path: str):
    dlg.format.setCurrentText(fmt)
    dlg.path.setText(path)
    with qtbot.waitSignal(dlg.exported, timeout=60_000) as blocker:
        task = dlg.start()
        assert task is not None
    qtbot.waitUntil(lambda: dlg.export_btn.isEnabled(), timeout=5000)
    return blocker.args[0]


def test_export_mp4_and_png_round_trip(rendered, qtbot, tmp_path, errors):
    from studio.media.video import VideoReader

    w = rendered
    dlg = w.export_dialog()
    try:
        out = _run(qtbot, dlg, "MP4 (H.264)", str(tmp_path / "clip.mp4"))
        assert out == tmp_path / "clip.mp4" and out.stat().st_size > 0
        with VideoReader(out) as r:
            assert r.frame_count == 8
            assert r.size == (32, 32)
            assert abs(r.fps - 16) < 1e-3
            # frame k of the export is timeline frame 4 + k (fake frames encode their index)
            assert abs(float(r.read(3).mean()) - (7 * 5 % 256)) < 6
        dlg.side.setChecked(True)
        dlg.all_frames.setChecked(False)
        out = _run(qtbot, dlg, "PNG sequence", str(tmp_path / "frames") + os.sep)
        pngs = sorted(out.glob("*.png"))
        assert len(pngs) == 8
        from studio.media.image import load_image

        img = load_image(pngs[0], min_side=1).pixels
        s = w.doc.settings
        pose_w = even(s.width * 32 / s.height)  # the pose map at the render aspect, fitted to 32 px
        assert img.shape == (32, pose_w + 32, 3)  # pose | result (no driving video)
        assert abs(float(img[:, pose_w:].mean()) - 4 * 5) < 6  # the fake result of frame 4 on the right
        assert (img[:, :pose_w].max(axis=2) < 30).mean() > 0.5  # the skeleton on black on the left
        assert errors == []
        assert "Saved" in dlg.status.text()
    finally:
        dlg.close()


def test_export_refuses_unrendered_frames(rendered, qtbot, tmp_path, errors):
    dlg = rendered.export_dialog()
    try:
        dlg.all_frames.setChecked(True)
        dlg.path.setText(str(tmp_path / "clip.gif"))
        assert dlg.start() is None
        assert errors and errors[-1].title == "Render first"
        assert "0-3, 12-47" in errors[-1].description
        assert not (tmp_path / "clip.gif").exists()
    finally:
        dlg.close()


def test_export_scale_and_cancel(rendered, qtbot, tmp_path, monkeypatch):
    import studio.gui.export_frames as ef

    w = rendered
    dlg = w.export_dialog()
    try:
        dlg.scale.setCurrentIndex(dlg.scale.findData(0.5))
        out = _run(qtbot, dlg, "GIF", str(tmp_path / "half.gif"))
        from studio.media.video import VideoReader

        with VideoReader(out) as r:
            assert r.size == (16, 16)

        real = ef.export_frames

        def slow(*a, **k):
            for f in real(*a, **k):
                import time

                time.sleep(0.2)
                yield f

        monkeypatch.setattr("studio.gui.dialogs.export_dialog.export_frames", slow)
        dlg.format.setCurrentText("WebM (VP9)")
        dlg.path.setText(str(tmp_path / "c.webm"))
        task = dlg.start()
        with qtbot.waitSignal(task.cancelled, timeout=10_000):
            qtbot.waitUntil(lambda: dlg.progress.value() >= 1, timeout=10_000)
            dlg.cancel_btn.click()
        assert not (tmp_path / "c.webm").exists()
        assert "cancelled" in dlg.status.text()
    finally:
        dlg.close()


def test_describe_ranges():
    assert describe_ranges([0, 1, 2, 5, 7, 8]) == "0-2, 5, 7-8"
    assert describe_ranges([]) == ""


def test_export_with_sound_rate_scale_and_panel_order(make_window, sample_project, fake_backend_cls, idle,
                                                      qtbot, tmp_path, errors):
    """MP4 with the driving video's sound, converted to 30 fps by blending, at 200 %; then a PNG
    side by side with the result left of the pose."""
    import subprocess

    from PySide6.QtCore import Qt

    from studio.media.audio import audio_codec, decode_mono
    from studio.media.ffmpeg import ffmpeg_exe
    from studio.media.image import load_image
    from studio.media.video import VideoReader

    video = tmp_path / "drive.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=64x112:rate=16:duration=3", "-f", "lavfi", "-i", "sine=f=440:d=3",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(video)], check=True)
    w = make_window(backend_factory=lambda name: fake_backend_cls(delay=0.0))
    w.open_project(sample_project)
    w.doc.project.driving_video = video
    w.doc.timeline.set_in(4)
    w.doc.timeline.set_out(11)
    w.controller.start()
    idle(w)
    dlg = w.export_dialog()
    try:
        assert dlg.sound.isEnabled() and dlg.sound.isChecked()
        dlg.scale.setCurrentIndex(dlg.scale.findData(2.0))
        dlg.rate.setCurrentIndex(dlg.rate.findData(30.0))
        dlg.rate_mode.setCurrentIndex(dlg.rate_mode.findData("blend"))
        out = _run(qtbot, dlg, "MP4 (H.264)", str(tmp_path / "clip.mp4"))
        with VideoReader(out) as r:
            assert r.size == (64, 64) and abs(r.fps - 30) < 1e-3 and r.frame_count == 15  # 8 frames at 16 fps
        assert audio_codec(out) == "aac"
        assert abs(len(decode_mono(out)) / 8000 - 0.5) <= 1 / 30

        dlg.format.setCurrentText("GIF")
        assert not dlg.sound.isEnabled()
        dlg.side.setChecked(True)
        dlg.scale.setCurrentIndex(dlg.scale.findData(1.0))
        dlg.rate.setCurrentIndex(0)
        pose_item = dlg.panels.takeItem(1)  # driving, pose, result -> driving, result, pose
        dlg.panels.addItem(pose_item)
        dlg.panels.item(0).setCheckState(Qt.CheckState.Unchecked)  # no driving panel
        assert dlg.panel_order() == ("result", "pose")
        out = _run(qtbot, dlg, "PNG sequence", str(tmp_path / "frames") + os.sep)
        img = load_image(sorted(out.glob("*.png"))[0], min_side=1).pixels
        s = w.doc.settings
        assert img.shape == (32, 32 + even(s.width * 32 / s.height), 3)  # result | pose
        assert abs(float(img[:, :32].mean()) - 4 * 5) < 6  # the fake result (frame 4) comes first
        assert errors == []
    finally:
        dlg.close()
