"""The render panel shows the shared settings and a form built from the chosen backend's options
model: every option in it with its help as tooltip, each change one undoable edit."""

from __future__ import annotations

from studio.core import registry


def test_every_option_is_in_the_panel_and_undoable(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    rp, doc = w.render_panel, w.doc
    rp.backend.setCurrentIndex(rp.backend.findData("xdyna"))
    form = rp.options.widgets
    assert set(form) == set(registry.get_spec("xdyna").options.model_fields)
    assert rp.options.compute_box.isVisibleTo(rp) and form["low_vram"].parent() is rp.options.compute_box
    before = doc.settings
    form["prompt"].setText("wind in the hair")
    form["prompt"].editingFinished.emit()
    form["negative_prompt"].setText("blurry")
    form["negative_prompt"].editingFinished.emit()
    form["weighting"].setCurrentIndex(form["weighting"].findData("pyramid"))
    form["face_controlnet"].setChecked(not before.options.face_controlnet)
    rp.device.setCurrentIndex(rp.device.findData("cpu"))
    rp.dtype.setCurrentIndex(rp.dtype.findData("bfloat16"))
    form["low_vram"].setChecked(True)
    form["sequential_cfg"].setChecked(True)
    form["torch_compile"].setChecked(True)
    s, o = doc.settings, doc.settings.options
    assert (o.prompt, o.negative_prompt, o.weighting, s.device, s.dtype) == (
        "wind in the hair", "blurry", "pyramid", "cpu", "bfloat16")
    assert o.low_vram and o.sequential_cfg and o.torch_compile
    assert doc.undo_stack.undoText() == "Turn torch.compile the UNet on"
    for _ in range(9):
        doc.undo_stack.undo()
    assert doc.settings == before
    assert form["prompt"].text() == "" and form["weighting"].currentData() == "flat"
    assert not form["low_vram"].isChecked()


def test_tooltips_are_the_models_help(make_window):
    rp = make_window().render_panel
    rp.doc.update_settings(backend="xdyna")
    for f in registry.get_spec("xdyna").options.describe():
        assert rp.options.widgets[f.name].toolTip() == f.help and len(f.help) > 30, f.name
    for name in ("steps", "cfg", "overlap", "face_controlnet", "low_vram", "sequential_cfg"):
        tip = rp.options.widgets[name].toolTip().lower()
        assert "time" in tip or "slower" in tip or "faster" in tip, name
    for name in ("cfg", "dtype", "width_"):
        widget = rp.options.widgets.get(name) or getattr(rp, name)
        assert "memory" in widget.toolTip().lower(), name
    for name in ("seed", "retarget", "device", "dtype", "width_", "scratch_btn"):
        assert len(getattr(rp, name).toolTip()) > 30, name


def test_the_backend_list_is_the_registry(make_window):
    rp = make_window().render_panel
    names = [rp.backend.itemData(i) for i in range(rp.backend.count())]
    assert names == list(registry.names())
    assert [rp.backend.itemText(i) for i in range(rp.backend.count())] == [s.label for s in registry.specs().values()]


def test_settings_that_need_a_switch_follow_it(make_window, qtbot):
    """StableAnimator's HJB steps and iterations are editable only while HJB is on (and again off
    after undo)."""
    rp = make_window().render_panel
    doc = rp.doc
    doc.update_settings(backend="stableanimator")
    form = rp.options.widgets
    steps = [form[n] for n in ("hjb_start_step", "hjb_end_step", "hjb_iterations")]
    assert not form["hjb"].isChecked() and not any(w.isEnabled() for w in steps)
    assert form["tile_size"].isEnabled()
    form["hjb"].setChecked(True)
    assert doc.settings.options.hjb and all(w.isEnabled() for w in steps)
    doc.undo_stack.undo()
    assert not doc.settings.options.hjb and not form["hjb"].isChecked() and not any(w.isEnabled() for w in steps)
