"""Errors: the dialog, broken inputs, the uncaught-exception handler."""

from __future__ import annotations

import sys
import threading

import imageio.v2 as imageio
import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel

from studio.core.errors import StudioError
from studio.gui.dialogs.error_dialog import ErrorDialog
from studio.gui.errors import ErrorHub, dialog_presenter, install_excepthooks


def test_error_dialog_has_title_description_and_details_fold_out(qtbot):
    err = StudioError("Cannot read the driving video", "clip.mp4 is not a video. Open another file.", "ffmpeg: moov atom not found")
    dlg = ErrorDialog(err)
    qtbot.addWidget(dlg)
    dlg.show()
    texts = [lbl.text() for lbl in dlg.findChildren(QLabel)]
    assert any("Cannot read the driving video" in t for t in texts)
    assert any("Open another file" in t for t in texts)
    assert dlg.windowTitle() == err.title
    assert not dlg.details.isVisible() and dlg.toggle.isVisible()
    dlg.toggle.click()
    assert dlg.details.isVisible() and "moov atom" in dlg.details.toPlainText()
    dlg.toggle.click()
    assert not dlg.details.isVisible()
    dlg.close()


def test_error_dialog_without_details_hides_the_fold_out(qtbot):
    dlg = ErrorDialog(StudioError("Title", "Description"))
    qtbot.addWidget(dlg)
    dlg.show()
    assert not dlg.toggle.isVisible()
    dlg.close()


def test_default_presenter_shows_a_modal_dialog(qtbot):
    seen = []

    def close_it():
        w = QApplication.activeModalWidget()
        seen.append(w)
        w.accept()

    QTimer.singleShot(200, close_it)
    dialog_presenter(StudioError("T", "D", "x"), None)
    assert isinstance(seen[0], ErrorDialog)


def test_hub_queues_errors_from_worker_threads(qtbot):
    hub = ErrorHub()
    got = []
    hub.presenter = lambda err, parent: got.append((err, threading.current_thread()))
    t = threading.Thread(target=lambda: hub.report(ValueError("bad")))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: bool(got), timeout=2000)
    err, thread = got[0]
    assert thread is threading.main_thread()
    assert err.title == "Something went wrong" and "ValueError" in err.details


def test_uncaught_exceptions_are_logged_and_shown_and_the_app_keeps_running(qtbot, errors, caplog):
    restore = install_excepthooks()
    try:
        t = threading.Thread(target=lambda: 1 / 0)
        t.start()
        t.join()
        try:
            raise KeyError("missing")
        except KeyError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: len(errors) == 2, timeout=2000)
    finally:
        restore()
    by_kind = {("ZeroDivisionError" if "ZeroDivisionError" in e.description else "KeyError"): e for e in errors}
    assert set(by_kind) == {"ZeroDivisionError", "KeyError"}
    assert "Traceback" in by_kind["KeyError"].details
    assert any("uncaught exception" in r.message for r in caplog.records)
    assert QApplication.instance() is not None


def test_broken_video_shows_an_error_and_keeps_the_project(make_window, sample_project, tmp_path, qtbot, errors, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    w = make_window()
    w.open_project(sample_project)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    task = w.driving_panel.open_path(bad)
    with qtbot.waitSignal(task.finished, timeout=30_000):
        pass
    assert errors, "no error shown"
    assert "broken.mp4" in errors[-1].title + errors[-1].description
    assert w.doc.timeline.frame_count == 48  # the project's driving data is untouched
    assert not w.driving_panel._prog_row.isVisible()  # noqa: SLF001


def test_video_without_person_is_extracted_off_thread_and_flagged(make_window, tmp_path, qtbot, errors, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "empty.mp4"
    with imageio.get_writer(path, fps=10, codec="libx264", macro_block_size=16) as wr:
        for i in range(8):
            wr.append_data(np.full((96, 96, 3), 40 + 10 * i, np.uint8))
    w = make_window()
    progress = []
    task = w.driving_panel.open_path(path)
    task.progress.connect(lambda d, n, m: progress.append((d, n)))
    with qtbot.waitSignal(task.finished, timeout=60_000):
        pass
    assert errors == []
    assert w.doc.timeline.frame_count == 8
    assert "no person on 8 frames" in w.driving_panel.info.text()
    assert progress and progress[-1][0] == 8
    assert w.driving_panel.canvas.has_overlay()
