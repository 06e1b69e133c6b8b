"""Errors the window shows as dialogs leave their traceback in the log file, not the terminal."""

from __future__ import annotations

import io
import logging

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from studio.gui.logfile import LOG_NAME, setup_logging, teardown_logging

pytestmark = pytest.mark.gui


@pytest.fixture
def logged(tmp_path):
    console = io.StringIO()
    path = setup_logging(tmp_path / "logs", console=console)
    yield path, console
    teardown_logging()


def _broken(progress, cancel):
    return {}["no such key"]


def test_a_failed_task_is_a_dialog_and_a_log_entry_not_a_terminal_traceback(logged, qtbot, errors):
    from studio.gui.errors import hub
    from studio.gui.tasks import Task

    path, console = logged
    task = Task(_broken, "extract")
    task.failed.connect(hub().report)
    with qtbot.waitSignal(task.finished, timeout=5000):
        task.start()
    qtbot.waitUntil(lambda: bool(errors), timeout=2000)
    assert errors[-1].title == "Something went wrong" and "KeyError" in errors[-1].description
    for h in logging.getLogger().handlers:
        h.flush()
    shown = console.getvalue()
    assert "Traceback" not in shown and "_broken" not in shown
    assert shown.count("\n") == 1 and "task 'extract' failed" in shown and str(path) in shown
    text = path.read_text()
    assert "Traceback (most recent call last)" in text and "in _broken" in text and "KeyError" in text


def test_info_lines_stay_in_the_file(logged):
    path, console = logged
    logging.getLogger("studio.gui").info("preloaded the draft renderer")
    for h in logging.getLogger().handlers:
        h.flush()
    assert console.getvalue() == ""
    assert "preloaded the draft renderer" in path.read_text()


def test_run_gui_logs_to_the_log_folder(monkeypatch, tmp_path, qapp, errors):
    import studio.gui.main_window as mw
    from studio.gui.app import run_gui

    monkeypatch.setattr(mw, "app_settings", lambda: QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    monkeypatch.setattr(mw, "_data_dir", lambda: tmp_path / "data")
    monkeypatch.setenv("STUDIO_LOG_DIR", str(tmp_path / "logs"))

    def close_windows():
        for w in QApplication.topLevelWidgets():
            if isinstance(w, mw.MainWindow) and w.isVisible():
                w.close()

    QTimer.singleShot(300, close_windows)
    try:
        assert run_gui() == 0
        for h in logging.getLogger().handlers:
            h.flush()
        assert "log file" in (tmp_path / "logs" / LOG_NAME).read_text()
    finally:
        teardown_logging()
