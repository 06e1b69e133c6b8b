"""The window's render choices (issue 14): the weights folder rule with a remembered preference
(item 2), rendering from scratch (item 3) and the centre hint saying what to do next (item 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from studio.core.files import read_png
from studio.core.frame_cache import FrameState
from studio.core.weights_folder import WEIGHTS_ENV

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny" / "a_pose_16f" / "weights" / "pretrained_weights"


@pytest.fixture
def no_weights_env(monkeypatch, tmp_path):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


def test_render_panel_uses_the_environment_weights_folder(make_window, sample_project, monkeypatch, no_weights_env):
    monkeypatch.setenv(WEIGHTS_ENV, str(TINY))
    w = make_window(show=False)
    w.open_project(sample_project)
    w.doc.update_settings(backend="xdyna")
    assert w.doc.project.weights_dir is None
    assert w.doc.make_job().weights_dir == TINY
    panel = w.render_panel
    assert "Weights found" in panel.weights_status.text()
    assert WEIGHTS_ENV in panel.weights.placeholderText() and str(TINY) in panel.weights.placeholderText()


def test_chosen_weights_folder_is_remembered_for_other_projects(make_window, sample_project, settings_file,
                                                                tmp_path, no_weights_env):
    w = make_window(show=False)
    w.open_project(sample_project)
    w.doc.update_settings(backend="xdyna")
    panel = w.render_panel
    panel.weights.setText(str(TINY))
    panel.weights.editingFinished.emit()
    assert w.doc.project.weights_dir == TINY
    stored = QSettings(str(settings_file), QSettings.Format.IniFormat).value("render/weights_dir")
    assert Path(stored) == TINY

    # a new window, a project that names no weights folder: the remembered one is used
    w2 = make_window(show=False)
    w2.open_project(sample_project)
    w2.doc.set_weights_dir(None)
    w2.doc.update_settings(backend="xdyna")
    assert w2.doc.weights_folder().origin == "preference"
    assert w2.doc.make_job().weights_dir == TINY
    assert "remembered" in w2.render_panel.weights.placeholderText()


def test_render_from_scratch_replaces_only_the_range(make_window, sample_project, qtbot, idle, errors,
                                                     fake_backend_cls):
    """Render reuses finished frames; From scratch renders the in/out range again and leaves the
    frames outside it on disk."""
    backend = fake_backend_cls(delay=0.0)
    w = make_window(show=False, backend_factory=lambda name: backend)
    w.open_project(sample_project)
    doc = w.doc
    doc.timeline.set_in(0)
    doc.timeline.set_out(11)
    w.render_panel.render_btn.click()
    idle(w)
    doc.timeline.set_in(4)
    doc.timeline.set_out(7)
    w.render_panel.render_btn.click()
    idle(w)
    assert backend.calls == 1  # the range was finished: nothing rendered again
    w.render_panel.scratch_btn.click()
    idle(w)
    assert backend.calls == 2 and errors == []
    folder = doc.project.default_render_dir()
    assert sorted(int(p.stem[6:]) for p in folder.glob("frame_*.png")) == list(range(12))
    assert (w.timeline.states()[:12] == FrameState.FINAL).all()
    np.testing.assert_array_equal(read_png(folder / "frame_000002.png")[0, 0], [10, 10, 10])
    # the menu action does the same
    w.a_render_scratch.trigger()
    idle(w)
    assert backend.calls == 3


def test_centre_hint_says_what_to_do_next(make_window, sample_project, qtbot, idle, fake_backend_cls):
    from studio.gui.widgets.viewer import next_step_hint

    w = make_window(show=False, backend_factory=lambda name: fake_backend_cls(delay=0.0))
    view = w.viewer.result
    assert view.placeholder == "Open a photo and a driving video, then press Render"
    w.open_project(sample_project)  # photo and pose both open, nothing rendered
    assert not view.has_image()
    assert view.placeholder == "Press Render to animate with Draft (instant, no weights)"
    w.doc.update_settings(backend="xdyna")
    assert "X-Dyna" in view.placeholder and view.placeholder == next_step_hint(w.doc)
