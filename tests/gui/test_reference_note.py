"""The Reference panel shows what the chosen renderer sees in the photo (a spec's ``photo_note``):
StableAnimator's face box, its 5 points and its score over the photo, and a line under it; a
warning when no face is found; nothing for a renderer without a note. The marks are drawn by the
generic painter (:mod:`studio.gui.widgets.photo_marks`), no renderer's code in the window."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.backend import PhotoNote

ROOT = Path(__file__).resolve().parents[2]
REAL_PHOTO = ROOT / "resources" / "sample_real" / "reference.jpg"


def _pixel(img, point):
    c = img.pixelColor(int(round(point.x())), int(round(point.y())))
    return c.red(), c.green(), c.blue()


def test_marks_are_drawn_at_the_photo_pixels(qtbot):
    from studio.gui.widgets.photo_marks import MARK_COLOUR
    from studio.gui.widgets.pose_overlay import PoseCanvas

    canvas = PoseCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(300, 300)
    canvas.set_image(np.zeros((100, 200, 3), np.uint8))
    canvas.set_marks(PhotoNote(boxes=((50.0, 20.0, 150.0, 80.0),), points=((100.0, 50.0),), label="face"))
    img = canvas.grab().toImage()
    gold = (MARK_COLOUR.red(), MARK_COLOUR.green(), MARK_COLOUR.blue())
    left_edge = canvas.to_widget(0.25, 0.5)  # x0 = 50 of 200, halfway down the box
    assert _pixel(img, left_edge) == gold
    assert _pixel(img, canvas.to_widget(100 / 200, 50 / 100)) == gold  # the point
    assert _pixel(img, canvas.to_widget(0.4, 0.5)) == (0, 0, 0)  # inside the box: the photo
    canvas.set_marks(None)
    assert _pixel(canvas.grab().toImage(), left_edge) == (0, 0, 0)


@pytest.fixture
def stableanimator():
    from studio.backends.stableanimator.spec import SPEC
    from studio.core import registry

    if "stableanimator" in registry.names():
        yield SPEC
        return
    with registry.installed(SPEC):
        yield SPEC


def _standins():
    import importlib.util

    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    spec = importlib.util.spec_from_file_location("antelopev2_standins",
                                                  ROOT / "tools" / "synthetic_releases" / "antelopev2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _open_real_photo(w, sample_project):
    w.open_project(sample_project)
    rgb = np.asarray(Image.open(REAL_PHOTO).convert("RGB"))
    w.doc.set_reference(REAL_PHOTO, rgb, None, None)
    return rgb


def test_stableanimator_face_is_shown_on_the_photo(make_window, sample_project, qtbot, tmp_path, stableanimator):
    from studio.gui.widgets.photo_marks import MARK_COLOUR

    standins = _standins()
    weights = tmp_path / "weights"
    standins.write(weights)
    w = make_window()
    panel = w.reference_panel
    _open_real_photo(w, sample_project)
    assert panel.note_task is None and not panel.note.isVisible()  # the draft renderer has no note
    w.doc.update_settings(backend="stableanimator")
    w.doc.set_weights_dir(weights)
    qtbot.waitUntil(lambda: panel.note.isVisible(), timeout=30_000)
    note = panel.canvas.marks
    scale = 640 / 896
    np.testing.assert_allclose(note.boxes[0], np.array(standins.FACE_BOX) / scale, rtol=1e-5)
    assert len(note.points) == 5 and note.label == "face 0.90"
    assert "keeps the identity of this face" in panel.note.text() and "StableAnimator" in panel.note.text()
    qtbot.wait(50)
    shot = w.grab()
    if os.environ.get("STUDIO_SCREENSHOTS"):
        shot.save(str(Path(os.environ["STUDIO_SCREENSHOTS"]) / "reference_face.png"))
    x0, y0, x1, y1 = note.boxes[0]
    img = panel.canvas.grab().toImage()
    edge = panel.canvas.to_widget(x0 / 512, (y0 + y1) / 2 / 896)
    assert _pixel(img, edge) == (MARK_COLOUR.red(), MARK_COLOUR.green(), MARK_COLOUR.blue())

    # the same photo and renderer again: no new detection
    task = panel.note_task
    w.doc.update_settings(seed=7)
    assert panel.note_task is task

    # back to the draft renderer: no marks, no line
    w.doc.update_settings(backend="draft")
    assert panel.canvas.marks is None and not panel.note.isVisible()


def test_no_face_is_a_warning_under_the_photo(make_window, sample_project, qtbot, tmp_path, stableanimator):
    standins = _standins()
    weights = tmp_path / "weights"
    standins.write(weights)
    standins.write_detector(weights / "models" / "antelopev2" / "scrfd_10g_bnkps.onnx", faces=False)
    w = make_window()
    panel = w.reference_panel
    _open_real_photo(w, sample_project)
    w.doc.update_settings(backend="stableanimator")
    w.doc.set_weights_dir(weights)
    qtbot.waitUntil(lambda: panel.note.isVisible(), timeout=30_000)
    assert "No face found" in panel.note.text() and "will not be kept" in panel.note.text()
    assert "ffb347" in panel.note.styleSheet() and panel.canvas.marks.boxes == ()
    shutil.rmtree(weights / "models")  # the face models gone: the line says which file and where
    w.doc.set_weights_dir(tmp_path)
    qtbot.waitUntil(lambda: "scrfd_10g_bnkps.onnx" in panel.note.text(), timeout=30_000)
    assert str(tmp_path / "models" / "antelopev2" / "scrfd_10g_bnkps.onnx") in panel.note.text()
