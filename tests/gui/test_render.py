"""Rendering from the window: the worker thread, streaming into the cache bar, cancel, stale."""

from __future__ import annotations

import threading

import pytest

import numpy as np

from studio.core.frame_cache import FrameState
from studio.gui.render_controller import RenderController



@pytest.mark.helper_process
def test_draft_render_fills_cache_bar(make_window, sample_project, qtbot, errors, idle):
    w = make_window()
    w.open_project(sample_project)
    ctl, doc = w.controller, w.doc
    seen_bars: list[int] = []
    ctl.frames_ready.connect(lambda idx, f: seen_bars.append(int((w.timeline.states() == FrameState.FINAL).sum())))
    with qtbot.waitSignals([ctl.busy_changed, ctl.started, ctl.frames_ready, ctl.finished, ctl.busy_changed],
                           order="simple", timeout=120_000,
                           check_params_cbs=[lambda b: b, None, None, lambda n, s: n == 48, lambda b: not b]):
        w.render_panel.render_btn.click()
    idle(w)
    qtbot.waitUntil(lambda: (w.timeline.states() == FrameState.FINAL).all(), timeout=5000)
    assert errors == []
    # frames streamed in: the bar grew while rendering, in more than one step
    assert len(seen_bars) >= 2 and seen_bars == sorted(seen_bars)
    frame, state = doc.frame_at(10)
    assert state == FrameState.FINAL and frame.shape == (896, 512, 3)
    # PNG sequence beside the project
    assert len(list(doc.project.default_render_dir().glob("*.png"))) == 48
    # the viewer shows the frame under the playhead
    doc.timeline.set_current(10)
    assert w.viewer.result.has_image()
    assert "final" in w.viewer.status.text()


def test_settings_change_marks_frames_stale(make_window, sample_project, qtbot, idle):
    w = make_window()
    w.open_project(sample_project)
    w.doc.timeline.set_in(0)
    w.doc.timeline.set_out(7)
    w.controller.start()
    idle(w)
    st = w.doc.frame_states()
    assert (st[:8] == FrameState.FINAL).all() and (st[8:] == FrameState.EMPTY).all()
    w.render_panel.width_.setValue(256)
    w.render_panel.width_.editingFinished.emit()
    assert w.doc.settings.width == 256
    qtbot.waitUntil(lambda: (w.timeline.states()[:8] == FrameState.STALE).all(), timeout=3000)
    frame, state = w.doc.frame_at(3)
    assert state == FrameState.STALE and frame is not None  # the old frame is still shown, dimmed
    w.doc.timeline.set_current(3)
    assert w.viewer.result.dim


def _fake_window(make_window, sample_project, backend):
    w = make_window(backend_factory=lambda name: backend)
    w.open_project(sample_project)
    return w


def test_frames_stream_in_and_cancel_within_a_chunk(make_window, sample_project, qtbot, errors, idle, fake_backend_cls):
    backend = fake_backend_cls(delay=0.15, chunk=4)
    w = _fake_window(make_window, sample_project, backend)
    ctl = w.controller
    with qtbot.waitSignal(ctl.frames_ready, timeout=10_000):
        ctl.start()
    assert w.doc.inflight  # the rest is still being rendered
    with qtbot.waitSignals([ctl.cancelled, ctl.busy_changed], order="strict", timeout=5000):
        w.render_panel.cancel_btn.click()
    st = w.doc.frame_states()
    final = int((st == FrameState.FINAL).sum())
    assert 4 <= final < 48
    assert not w.doc.inflight
    assert "Cancelled" in w.render_panel.eta.text()
    assert errors == []
    # rendering again resumes: only the missing frames are asked for
    with qtbot.waitSignal(ctl.finished, timeout=20_000):
        ctl.start()
    idle(w)
    assert (w.doc.frame_states() == FrameState.FINAL).all()


def test_worker_runs_on_one_long_lived_thread(make_window, sample_project, qtbot, idle, fake_backend_cls):
    threads = []

    class Recording(fake_backend_cls):
        def render(self, job, cancel):
            threads.append(threading.current_thread().ident)
            yield from super().render(job, cancel)

    backend = Recording(delay=0.0)
    w = _fake_window(make_window, sample_project, backend)
    for _ in range(2):
        w.doc.update_settings(seed=w.doc.settings.seed + 1)
        w.controller.start()
        idle(w)
    assert len(threads) == 2 and threads[0] == threads[1] != threading.main_thread().ident


def test_render_errors_reach_the_error_hub(make_window, sample_project, qtbot, errors, idle, fake_backend_cls):
    class Broken(fake_backend_cls):
        def render(self, job, cancel):
            raise RuntimeError("boom")
            yield  # pragma: no cover

    w = _fake_window(make_window, sample_project, Broken())
    with qtbot.waitSignal(w.controller.failed, timeout=10_000):
        w.controller.start()
    idle(w)
    assert errors and "boom" in errors[-1].description
    assert w.render_panel.render_btn.isEnabled()


def test_start_without_inputs_is_a_studio_error(make_window, errors):
    w = make_window()
    w.render_panel.render_btn.click()
    assert errors and errors[-1].title == "No reference photo"
    assert not w.controller.busy


def test_step_previews_show_as_preview_state(make_window, sample_project, qtbot, idle, fake_backend_cls):
    from studio.core.events import StepPreview

    class Previewing(fake_backend_cls):
        def render(self, job, cancel):
            frames = np.zeros((job.n_frames, 8, 8, 3), np.uint8)
            yield StepPreview(tuple(range(job.n_frames)), frames, 0)
            cancel.wait(5.0)

    w = _fake_window(make_window, sample_project, Previewing())
    with qtbot.waitSignal(w.controller.step_preview, timeout=10_000):
        w.controller.start()
    qtbot.waitUntil(lambda: (w.timeline.states() == FrameState.PREVIEW).all(), timeout=3000)
    w.controller.cancel()
    idle(w)


def test_controller_shutdown_stops_thread(qtbot, sample_project, fake_backend_cls):
    from studio.gui.document import Document

    doc = Document()
    doc.open(sample_project)
    ctl = RenderController(doc, factory=lambda name: fake_backend_cls(delay=1.0))
    ctl.start()
    ctl.shutdown(5000)
    assert not ctl._thread.isRunning()  # noqa: SLF001


def test_reopening_during_a_render_starts_from_a_clean_cache(make_window, sample_project, qtbot, idle, fake_backend_cls):
    w = _fake_window(make_window, sample_project, fake_backend_cls(delay=0.1, chunk=4))
    with qtbot.waitSignal(w.controller.frames_ready, timeout=10_000):
        w.controller.start()
    old_cache = w.doc.cache
    w.doc.update_settings(seed=99)  # so the old job's frames would show as stale
    assert w.open_project(sample_project, confirm=False)
    idle(w)
    assert w.doc.cache is not old_cache
    assert (w.doc.frame_states() == FrameState.EMPTY).all()
