"""Frames a queued job finished show on the timeline, like a render from the Render panel."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.frame_cache import FrameState

pytestmark = pytest.mark.gui


def _render_like_the_runner(queue, job_id: int, stop_after: int | None = None) -> int:
    """Claim ``job_id`` and render it into its render folder as ``studio queue run`` does (the
    draft backend, in this process); ``stop_after`` frames: leave it running there."""
    from studio.gui.document import backend_named
    from studio.core.cancel import CancelToken
    from studio.core.events import FramesReady
    from studio.core.render import run_job

    queue.claim(job_id)
    job = queue.job(job_id)
    cancel = CancelToken()
    done = 0
    for ev in run_job(job, backend_named(job.settings.backend), cancel=cancel):
        if isinstance(ev, FramesReady):
            done += len(ev.indices)
            queue.progress(job_id, done)
            if stop_after is not None and done >= stop_after:
                cancel.cancel()
    if stop_after is None:
        queue.finish(job_id, "done", "ok", job.n_frames)
    return done


def test_finished_frames_of_a_queued_job_fill_the_timeline(make_window, sample_project, errors, idle):
    w = make_window()
    assert w.open_project(sample_project)
    doc, panel = w.doc, w.queue_panel
    doc.timeline.set_in(8)
    doc.timeline.set_out(23)
    job_id = w.add_to_queue()
    assert job_id is not None
    assert (doc.frame_states() == FrameState.EMPTY).all()

    # part of the job done: those frames show while it runs
    done = _render_like_the_runner(panel.queue, job_id, stop_after=4)
    panel.refresh()
    states = doc.frame_states()
    assert 4 <= done and (states[8:8 + done] == FrameState.FINAL).all()
    assert (states[:8] == FrameState.EMPTY).all() and (states[8 + done:] == FrameState.EMPTY).all()
    panel.queue.requeue(job_id, "test: go on")
    _render_like_the_runner(panel.queue, job_id)
    for _ in range(3):  # a few refreshes (each reads a bounded number of frames)
        panel.refresh()
    states = doc.frame_states()
    assert (states[8:24] == FrameState.FINAL).all() and (states[:8] == FrameState.EMPTY).all()

    # the same pixels as a render of that range from the panel
    doc.timeline.set_current(12)
    queued = doc.frame_at(12)[0].copy()
    assert w.viewer.result.has_image()
    doc.cache.clear()
    w.render_panel.render()
    idle(w)
    np.testing.assert_array_equal(doc.frame_at(12)[0], queued)
    assert errors == []


def test_frames_of_other_settings_or_projects_are_not_shown(make_window, sample_project, tmp_path, errors):
    w = make_window()
    assert w.open_project(sample_project)
    doc, panel = w.doc, w.queue_panel
    doc.timeline.set_out(7)
    job_id = w.add_to_queue()
    doc.update_settings(seed=doc.settings.seed + 1)  # the queued job renders the old seed
    _render_like_the_runner(panel.queue, job_id)
    panel.refresh()
    assert not (doc.frame_states() == FrameState.FINAL).any()
    doc.undo_stack.undo()  # back to the queued job's settings: its frames are the timeline's
    panel.refresh()
    assert (doc.frame_states()[:8] == FrameState.FINAL).all()
    w.new_project()
    panel.refresh()
    assert doc.frame_keys() is None and errors == []
