"""The dock panels: reference photo loading, render settings and the weights status line."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from studio.core.tracks import FLAG_NO_PERSON

TINY_WEIGHTS = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny" / "a_pose_16f" / "weights" / "pretrained_weights"


def test_dropping_a_photo_loads_it_and_detects_the_person(make_window, sample_project, qtbot, errors):
    w = make_window()
    panel = w.reference_panel
    photo = sample_project.parent / "reference.png"
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(photo))])
    ev = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(panel.loaded, timeout=60_000):
        panel.dropEvent(ev)
    assert errors == []
    doc = w.doc
    assert doc.project.reference_image == photo
    assert doc.reference_rgb.shape == (896, 512, 3)
    assert doc.project.reference_pose is not None
    assert not int(doc.project.reference_pose.flags[0]) & FLAG_NO_PERSON
    assert panel.canvas.has_image() and panel.canvas.has_overlay()
    assert "512×896" in panel.status.text()
    assert doc.dirty


def test_a_broken_photo_reports_an_error(make_window, tmp_path, qtbot, errors):
    w = make_window()
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"not a png")
    task = w.reference_panel.open_path(bad)
    with qtbot.waitSignal(task.finished, timeout=30_000):
        pass
    assert errors and "photo.png" in errors[-1].title + errors[-1].description
    assert w.doc.reference_rgb is None


def test_render_settings_write_through_to_the_project(make_window, sample_project):
    w = make_window()
    w.open_project(sample_project)
    rp = w.render_panel
    assert set(rp.options.widgets) == {"live_motion"}  # draft: its one option, for live photos only
    assert not rp.options.widgets["live_motion"].isEnabled()
    assert rp.weights_box.isHidden()
    rp.backend.setCurrentIndex(rp.backend.findData("xdyna"))
    assert w.doc.settings.backend == "xdyna" and not rp.weights_box.isHidden()
    form = rp.options.widgets  # built from X-Dyna's options model
    form["steps"].setValue(12)
    form["cfg"].setValue(3.5)
    form["overlap"].setValue(6)
    form["schedule"].setCurrentIndex(form["schedule"].findData("stream"))
    rp.retarget.setChecked(False)
    s = w.doc.settings
    o = s.options
    assert (o.steps, o.cfg, o.overlap, o.schedule, s.retarget) == (12, 3.5, 6, "stream", False)
    rp.backend.setCurrentIndex(rp.backend.findData("draft"))  # the X-Dyna options are kept for later
    rp.backend.setCurrentIndex(rp.backend.findData("xdyna"))
    assert w.doc.settings.options.steps == 12 and rp.options.widgets["steps"].value() == 12
    seeds = set()
    for _ in range(3):
        rp.dice.click()
        assert w.doc.settings.seed == rp.seed.value()
        seeds.add(rp.seed.value())
    assert len(seeds) > 1
    assert w.doc.dirty


def test_invalid_setting_is_refused_with_a_message(make_window, sample_project, errors):
    w = make_window()
    w.open_project(sample_project)
    w.doc.update_settings(backend="xdyna")
    w.doc.update_settings(context_frames=8)
    w.render_panel.options.widgets["overlap"].setValue(10)  # must stay below the 8-frame window
    assert errors and errors[-1].title == "Invalid render setting"
    assert "smaller than the window size 8" in errors[-1].description  # the options model's message
    assert w.doc.settings.options.overlap == 4 and w.render_panel.options.widgets["overlap"].value() == 4


def test_weights_status_line(make_window, sample_project, tmp_path):
    w = make_window()
    w.open_project(sample_project)
    rp = w.render_panel
    rp.backend.setCurrentIndex(rp.backend.findData("xdyna"))
    assert "No weights folder" in rp.weights_status.text()
    w.doc.update_settings(face_controlnet=False)
    rp.weights.setText(str(TINY_WEIGHTS))
    rp.weights.editingFinished.emit()
    assert w.doc.project.weights_dir == TINY_WEIGHTS
    assert rp.weights_status.text().startswith("✔")
    broken = tmp_path / "weights"
    shutil.copytree(TINY_WEIGHTS, broken)
    shutil.rmtree(broken / "controlnet")
    w.doc.set_weights_dir(broken)
    assert rp.weights_status.text().startswith("⚠")


def test_changing_the_backend_restales_the_cache_keys(make_window, sample_project):
    w = make_window()
    w.open_project(sample_project)
    draft_keys = list(w.doc.frame_keys())
    assert len(set(draft_keys)) > 1  # draft frames are keyed one by one
    w.doc.update_settings(backend="xdyna")
    x_keys = w.doc.frame_keys()
    assert len(set(x_keys)) == 1 and x_keys[0] not in draft_keys  # X-Dyna frames are coupled
