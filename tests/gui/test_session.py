"""Projects: new / save / save as / open / recent files; autosave and crash recovery."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from studio.core.project import Project
from studio.gui.session import autosave_path


def test_save_and_reopen_keeps_settings_range_and_edits(make_window, sample_project, tmp_path, qtbot):
    w = make_window()
    w.open_project(sample_project)
    w.doc.update_settings(seed=1234, width=256)
    w.doc.timeline.set_in(3)
    w.doc.timeline.set_out(9)
    w.doc.pose.body[5, 4] = (0.25, 0.5)
    w.doc.notify_pose_edited(5, 6)
    w.doc.mark_dirty()
    assert w.windowTitle().startswith("sample.studio.json *")
    target = tmp_path / "copy.studio.json"
    assert w._save_to(target)  # noqa: SLF001 - Save As without its file dialog
    assert not w.doc.dirty and "*" not in w.windowTitle()
    w2 = make_window()
    assert w2.open_project(target)
    assert w2.doc.settings.seed == 1234 and w2.doc.settings.width == 256
    assert (w2.doc.timeline.in_point, w2.doc.timeline.out_point) == (3, 9)
    assert tuple(w2.doc.pose.body[5, 4]) == (0.25, 0.5)
    assert w2.recent.paths()[0] == target.resolve()


def test_new_project_asks_before_dropping_changes(make_window, sample_project):
    answers = ["cancel", "discard"]
    w = make_window(ask_save=lambda parent: answers.pop(0))
    w.open_project(sample_project)
    w.doc.update_settings(seed=7)
    w.new_project()
    assert w.doc.timeline.frame_count == 48  # cancelled
    w.new_project()
    assert w.doc.timeline.frame_count == 0 and w.doc.project.path is None


def test_autosave_and_recovery_after_a_crash(make_window, sample_project, settings_file, tmp_path):
    w = make_window()
    w.open_project(sample_project)
    assert w.autosaver.autosave() is None  # nothing unsaved yet
    w.doc.update_settings(seed=999)
    side = w.autosaver.autosave()
    assert side == autosave_path(sample_project, tmp_path / "data") and side.exists()
    assert Project.load(side).settings.seed == 999
    # "crash": the first window never closes cleanly; a new session starts with the same settings
    asked = []
    w2 = make_window(settings=QSettings(str(settings_file), QSettings.Format.IniFormat),
                     ask_recover=lambda parent, path: asked.append(path) or True)
    assert w2.offer_recovery()
    assert asked == [side]
    assert w2.doc.settings.seed == 999
    assert w2.doc.project.path == sample_project
    assert w2.doc.dirty
    # a real save removes the side file and the recovery offer
    assert w2._save_to(sample_project)  # noqa: SLF001
    assert not side.exists()
    assert w2.autosaver.pending_recovery() is None


def test_declined_recovery_discards_the_autosave(make_window, sample_project, settings_file):
    w = make_window()
    w.open_project(sample_project)
    w.doc.update_settings(seed=5)
    side = w.autosaver.autosave()
    w2 = make_window(settings=QSettings(str(settings_file), QSettings.Format.IniFormat))
    assert not w2.offer_recovery()
    assert not side.exists()


def test_untitled_autosave_goes_to_the_data_folder(make_window, tmp_path):
    w = make_window()
    w.doc.update_settings(seed=3)
    side = w.autosaver.autosave()
    assert side == tmp_path / "data" / "autosave" / "untitled.autosave.json"
    assert Project.load(side).settings.seed == 3
    assert w.doc.project.path is None


def test_clean_close_leaves_no_recovery(make_window, sample_project, settings_file):
    w = make_window()
    w.open_project(sample_project)
    w.doc.update_settings(seed=11)
    side = w.autosaver.autosave()
    w.close()
    assert not side.exists()
    s = QSettings(str(settings_file), QSettings.Format.IniFormat)
    assert not s.value("autosave/file", "")
