"""File > Make a Live Photo: length and frame rate chosen by the artist; draft preview renders."""

from __future__ import annotations

from studio.extract.live_photo import is_held


def test_live_photo_from_the_menu_renders_a_draft(make_window, sample_project, monkeypatch, idle, errors):
    from studio.gui.dialogs.live_photo_dialog import LivePhotoDialog

    def accept(self):
        self.seconds.setValue(1.5)
        self.fps.setValue(12)
        return LivePhotoDialog.DialogCode.Accepted

    monkeypatch.setattr(LivePhotoDialog, "exec", accept)
    w = make_window()
    w.open_project(sample_project)
    w.doc.update_settings(width=128, height=224)
    w.a_live.trigger()
    doc = w.doc
    assert doc.project.is_live_photo and is_held(doc.pose)
    assert doc.timeline.frame_count == 18 and doc.project.fps == 12
    assert doc.project.driving_video is None and "live photo" in w.driving_panel.info.text()
    w.controller.start()
    idle(w)
    first, _ = doc.frame_at(0)
    later, _ = doc.frame_at(12)
    assert first is not None and later is not None and abs(first.astype(int) - later).mean() > 0.05  # it breathes
    assert errors == []


def test_cancelled_dialog_changes_nothing(make_window, sample_project, monkeypatch):
    from studio.gui.dialogs.live_photo_dialog import LivePhotoDialog

    monkeypatch.setattr(LivePhotoDialog, "exec", lambda self: LivePhotoDialog.DialogCode.Rejected)
    w = make_window()
    w.open_project(sample_project)
    steps = w.doc.undo_stack.count()
    assert not w.make_live_photo()
    assert not w.doc.project.is_live_photo and w.doc.undo_stack.count() == steps


def test_live_motion_control_sets_the_amount(make_window, sample_project, monkeypatch, idle, errors):
    """The Render panel's Live motion control: enabled for a live photo (draft), one undoable
    setting, and a larger amount moves the person more."""
    from studio.gui.dialogs.live_photo_dialog import LivePhotoDialog

    def accept(self):
        self.seconds.setValue(1.0)
        self.fps.setValue(12)
        return LivePhotoDialog.DialogCode.Accepted

    monkeypatch.setattr(LivePhotoDialog, "exec", accept)
    w = make_window()
    w.open_project(sample_project)
    rp, doc = w.render_panel, w.doc
    assert not rp.options.widgets["live_motion"].isEnabled()  # a clip driven by a video: nothing to tune
    doc.update_settings(width=128, height=224)
    w.a_live.trigger()
    assert rp.options.widgets["live_motion"].isEnabled() and rp.options.widgets["live_motion"].value() == 1.0

    def moved() -> float:
        w.controller.start()
        idle(w)
        first, _ = doc.frame_at(0)
        later, _ = doc.frame_at(9)
        return float(abs(first.astype(int) - later).mean())

    default = moved()
    rp.options.widgets["live_motion"].setValue(2.5)
    assert doc.settings.options.live_motion == 2.5
    assert "live-photo motion" in doc.undo_stack.text(doc.undo_stack.index() - 1)
    assert moved() > 1.5 * default
    doc.undo_stack.undo()
    assert doc.settings.options.live_motion == 1.0 and rp.options.widgets["live_motion"].value() == 1.0
    assert errors == []
