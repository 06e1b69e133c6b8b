"""The entry point and long-running background work (extraction cancel)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.core.errors import RenderCancelled
from studio.core.tracks import PoseTrack


def test_run_gui_shows_the_window_and_returns_when_it_closes(monkeypatch, tmp_path, qapp, errors):
    import studio.gui.main_window as mw
    from studio.gui.app import run_gui

    monkeypatch.setattr(mw, "app_settings", lambda: QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    monkeypatch.setattr(mw, "_data_dir", lambda: tmp_path / "data")
    monkeypatch.setenv("STUDIO_LOG_DIR", str(tmp_path / "logs"))
    seen = []
    hook_before = sys.excepthook

    def close_windows():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, mw.MainWindow) and w.isVisible():
                seen.append((w.windowTitle(), sys.excepthook is not hook_before))
                w.close()

    QTimer.singleShot(300, close_windows)
    try:
        assert run_gui() == 0
    finally:
        from studio.gui.logfile import teardown_logging

        teardown_logging()
    assert seen and seen[0][0].startswith("Untitled") and seen[0][1]  # hooks installed while running
    assert sys.excepthook is hook_before  # and restored afterwards


def test_extraction_shows_progress_and_can_be_cancelled(make_window, qtbot, tmp_path, errors):
    def slow_extractor(path, progress, cancel):
        for i in range(1000):
            progress(i, 1000, "Finding the pose")
            if cancel.wait(0.01):
                raise RenderCancelled()
        raise AssertionError("not cancelled")

    w = make_window(extractor=slow_extractor)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"")
    panel = w.driving_panel
    task = panel.open_path(video)
    qtbot.waitUntil(lambda: panel.progress.value() >= 3, timeout=10_000)
    assert panel._prog_row.isVisible()  # noqa: SLF001
    assert "Finding the pose" in panel.progress.format()
    with qtbot.waitSignals([task.cancelled, task.finished], order="strict", timeout=5000):
        panel.cancel_btn.click()
    assert not panel._prog_row.isVisible()  # noqa: SLF001
    assert errors == [] and w.doc.timeline.frame_count == 0


def test_extraction_result_becomes_the_driving_track(make_window, qtbot, tmp_path):
    pose = PoseTrack.empty(12, 64, 64, 12.0)
    w = make_window(extractor=lambda path, progress, cancel: (path, pose, None))
    task = w.driving_panel.open_path(tmp_path / "clip.mp4")
    with qtbot.waitSignal(task.finished, timeout=5000):
        pass
    assert w.doc.timeline.frame_count == 12 and w.doc.timeline.fps == 12.0
    assert w.doc.project.driving_video == tmp_path / "clip.mp4"
