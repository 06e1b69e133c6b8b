"""The render panel exposes every render setting, each with a tooltip on its cost, each change
one undoable edit."""

from __future__ import annotations

from studio.core.settings import RenderSettings


def test_every_setting_is_in_the_panel_and_undoable(make_window, sample_project, qtbot):
    w = make_window()
    w.open_project(sample_project)
    rp, doc = w.render_panel, w.doc
    rp.backend.setCurrentIndex(rp.backend.findData("xdyna"))
    assert rp.compute_box.isEnabled() and rp.face.isEnabled()
    rp.prompt.setText("wind in the hair")
    rp.prompt.editingFinished.emit()
    rp.negative_prompt.setText("blurry")
    rp.negative_prompt.editingFinished.emit()
    rp.weighting.setCurrentIndex(rp.weighting.findData("pyramid"))
    rp.face.setChecked(not doc.settings.face_controlnet)
    rp.device.setCurrentIndex(rp.device.findData("cpu"))
    rp.dtype.setCurrentIndex(rp.dtype.findData("bfloat16"))
    rp.low_vram.setChecked(True)
    rp.sequential_cfg.setChecked(True)
    rp.torch_compile.setChecked(True)
    s = doc.settings
    assert (s.prompt, s.negative_prompt, s.weighting, s.device, s.dtype) == (
        "wind in the hair", "blurry", "pyramid", "cpu", "bfloat16")
    assert s.low_vram and s.sequential_cfg and s.torch_compile
    assert doc.undo_stack.undoText() == "Turn torch.compile on"
    for _ in range(9):
        doc.undo_stack.undo()
    assert doc.settings == RenderSettings.model_validate({**s.model_dump(), "prompt": "", "negative_prompt": "",
                                                         "weighting": "flat", "device": "auto", "dtype": "auto",
                                                         "low_vram": False, "sequential_cfg": False,
                                                         "torch_compile": False,
                                                         "face_controlnet": not s.face_controlnet})
    assert rp.prompt.text() == "" and rp.weighting.currentData() == "flat" and not rp.low_vram.isChecked()


def test_tooltips_say_what_settings_cost(make_window):
    rp = make_window().render_panel
    for name in ("prompt", "negative_prompt", "steps", "cfg", "schedule", "overlap", "weighting", "retarget", "face",
                 "device", "dtype", "low_vram", "sequential_cfg", "torch_compile", "width_", "scratch_btn"):
        tip = getattr(rp, name).toolTip()
        assert len(tip) > 30, name
    for name in ("steps", "cfg", "overlap", "face", "low_vram", "sequential_cfg", "width_"):
        tip = getattr(rp, name).toolTip().lower()
        assert "time" in tip or "slower" in tip or "faster" in tip, name
    for name in ("cfg", "face", "dtype", "low_vram", "sequential_cfg", "width_"):
        assert "memory" in getattr(rp, name).toolTip().lower(), name
