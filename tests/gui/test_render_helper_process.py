"""Renders as users get them (issue 14, item 7): through the helper process, including an X-Dyna
render on the tiny test weights whose step previews show in the cache bar; and a grab of the real
window whose pixels must show the cache-bar colours and the pose overlay."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QColor

from studio.core.frame_cache import FrameState

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny" / "a_pose_16f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def tiny_xdyna_factory():
    """A module-level, picklable factory of the X-Dyna backend for the tiny test release (its
    hyper-parameters are in the case file, not in any config the loader reads)."""
    from studio.backends.xdyna.backend import XDynaBackend

    w = json.loads((CASE / "case.json").read_text())["weights"]
    motion = next((v.get("motion_module_kwargs") for k, v in w.items() if k.startswith("unet_additional_kwargs")), None)
    return functools.partial(XDynaBackend, resampler_kwargs=w["resampler_kwargs"], motion_module_kwargs=motion)


@pytest.mark.slow  # 9 s: tiny X-Dyna in a helper process; the draft helper test below and tests/gui/test_render.py's
# in-process step previews run by default, CI's slow call runs this one
@pytest.mark.helper_process
def test_tiny_xdyna_renders_in_the_helper_process_with_step_previews_in_the_cache_bar(
        make_window, sample_project, qtbot, idle, errors):
    pytest.importorskip("torch")
    from studio.gui.process_backend import ProcessBackend
    from studio.gui.render_controller import worker_backend

    made = []

    def factory(name):
        b = ProcessBackend(name, factory=tiny_xdyna_factory(), args=(str(WEIGHTS),)) if name == "xdyna" \
            else worker_backend(name)
        made.append(b)
        return b

    w = make_window(show=False, backend_factory=factory)
    w.open_project(sample_project)
    doc, ctl = w.doc, w.controller
    doc.update_settings(backend="xdyna", width=64, height=64, steps=2, schedule="reference")
    doc.set_weights_dir(WEIGHTS)  # weights folders are per backend: X-Dyna's, once it is chosen
    doc.timeline.set_in(0)
    doc.timeline.set_out(15)
    previews: list[tuple[int, np.ndarray]] = []
    ctl.step_preview.connect(lambda idx, frames, step: previews.append((step, doc.frame_states()[:16].copy())))
    finished = []
    ctl.finished.connect(lambda n, s: finished.append(n))
    w.render_panel.render_btn.click()
    idle(w, timeout=600_000)
    assert errors == [] and finished == [16]
    assert isinstance(made[-1], ProcessBackend) and made[-1].name == "xdyna"  # rendered in the helper
    # a preview of every frame after each step, shown as "preview" on the bar before the final frames
    assert [step for step, _ in previews] == [0, 1]
    for _, states in previews:
        assert (states == FrameState.PREVIEW).all(), states
    qtbot.waitUntil(lambda: (w.timeline.states()[:16] == FrameState.FINAL).all(), timeout=5000)
    assert (w.timeline.states()[16:] == FrameState.EMPTY).all()
    frame, state = doc.frame_at(5)
    assert state == FrameState.FINAL and frame.shape == (64, 64, 3) and frame.std() > 0
    assert len(list(doc.project.default_render_dir().glob("frame_*.png"))) == 16


@pytest.mark.helper_process
def test_draft_render_in_the_helper_process_cancels_and_resumes(make_window, sample_project, qtbot, idle, errors):
    w = make_window(show=False)
    w.open_project(sample_project)
    ctl, doc = w.controller, w.doc
    # full size and the whole clip, so the helper is still rendering when the cancel for the first
    # chunk reaches it (at 64x112 a quiet machine finished all frames before the cancel arrived)
    doc.update_settings(width=512, height=896)
    doc.timeline.set_in(0)
    doc.timeline.set_out(47)
    got: list[int] = []
    ctl.frames_ready.connect(lambda idx, f: (got.extend(idx), ctl.cancel()))  # cancel at the first chunk
    cancelled = []
    ctl.cancelled.connect(cancelled.append)
    w.render_panel.render_btn.click()
    idle(w, timeout=300_000)
    assert cancelled and 0 < len(cancelled[0]) < 48 and errors == []
    kept = sorted(cancelled[0])
    folder = doc.project.default_render_dir()
    assert sorted(int(p.stem[6:]) for p in folder.glob("frame_*.png")) == kept
    ctl.frames_ready.disconnect()
    w.render_panel.render_btn.click()  # resumes: only the missing frames are rendered
    idle(w, timeout=300_000)
    assert (w.timeline.states()[:48] == FrameState.FINAL).all() and errors == []
    assert len(list(folder.glob("frame_*.png"))) == 48


def _bar_pixel(w, img, frame: int, dx: float = 0.0) -> QColor:
    """The colour of the window grab ``img`` in the middle of frame ``frame``'s cell of the cache bar."""
    tl = w.timeline
    y = tl.RULER_H + 2 + tl.BAR_H // 2
    p = tl.mapTo(w, QPoint(int(round(tl.x_of(frame) + dx)), y))
    return QColor(img.pixel(p))


def _near(c: QColor, ref: QColor, tol: int = 4) -> bool:
    return all(abs(a - b) <= tol for a, b in ((c.red(), ref.red()), (c.green(), ref.green()), (c.blue(), ref.blue())))


def test_window_grab_shows_cache_bar_colours_and_the_pose_overlay(make_window, sample_project, qtbot, idle,
                                                                  fake_backend_cls):
    from studio.extract.pose_map import OPENPOSE_COLORS
    from studio.gui.widgets.timeline import COLORS

    w = make_window(backend_factory=lambda name: fake_backend_cls(delay=0.0))
    w.resize(1400, 900)
    w.open_project(sample_project)
    doc = w.doc
    doc.timeline.set_in(0)
    doc.timeline.set_out(11)
    w.render_panel.render_btn.click()
    idle(w)
    keys = doc.frame_keys()
    for i in range(20, 24):  # step previews of four more frames
        doc.cache.put(keys[i], i, np.full((32, 32, 3), 90, np.uint8), final=False)
    doc.timeline.set_current(40)  # the playhead away from the cells checked
    qtbot.waitUntil(lambda: (w.timeline.states()[20:24] == FrameState.PREVIEW).all(), timeout=5000)
    w.timeline.repaint()
    img = w.grab().toImage()
    for i in (1, 6, 10):
        assert _near(_bar_pixel(w, img, i), COLORS[FrameState.FINAL]), i
    for i in (14, 30, 46):
        assert _near(_bar_pixel(w, img, i), COLORS[FrameState.EMPTY]), i
    preview = COLORS[FrameState.PREVIEW]
    cells = [_bar_pixel(w, img, i, dx) for i in range(20, 24) for dx in (-3, -1, 0, 1, 3)]
    assert any(_near(c, preview) for c in cells)  # the preview colour (under its hatching)
    assert all(_near(c, preview) or _near(c, preview.darker(130), 6) for c in cells)

    doc.update_settings(seed=doc.settings.seed + 1)  # the finished frames no longer match: stale
    qtbot.waitUntil(lambda: (w.timeline.states()[:12] == FrameState.STALE).all(), timeout=5000)
    w.timeline.repaint()
    img = w.grab().toImage()
    for i in (1, 6, 10):
        assert _near(_bar_pixel(w, img, i), COLORS[FrameState.STALE]), i

    # the pose overlay on the driving panel: the skeleton's colours are drawn, and gone without it
    canvas = w.driving_panel.canvas
    doc.timeline.set_current(10)
    limb_colours = np.array(OPENPOSE_COLORS[:17], int)

    def skeleton_pixels() -> int:
        canvas.repaint()
        shot = w.grab().toImage()
        top_left = canvas.mapTo(w, QPoint(0, 0))
        ptr = shot.copy(top_left.x(), top_left.y(), canvas.width(), canvas.height()).convertToFormat(
            shot.Format.Format_RGB888)
        arr = np.frombuffer(ptr.constBits(), np.uint8).reshape(ptr.height(), ptr.bytesPerLine())[:, : 3 * ptr.width()]
        rgb = arr.reshape(ptr.height(), ptr.width(), 3).astype(int)
        dist = np.abs(rgb[:, :, None, :] - limb_colours[None, None]).max(axis=3).min(axis=2)
        return int((dist <= 40).sum())

    with_overlay = skeleton_pixels()
    w.driving_panel.body_box.setChecked(False)
    w.driving_panel.hands_box.setChecked(False)
    without = skeleton_pixels()
    assert with_overlay > 200 and without < with_overlay / 10, (with_overlay, without)
