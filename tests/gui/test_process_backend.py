"""The draft renderer in its helper process: events, cancel, errors, a dead helper."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import FramesReady
from studio.core.project import Project
from studio.core.render import run_job
from studio.gui.process_backend import ProcessBackend


@pytest.fixture(scope="module")
def helper():
    b = ProcessBackend("draft")
    b.load()
    yield b
    b.close()


@pytest.fixture
def job(sample_project):
    from studio.core.jobs import RenderJob
    from studio.media.image import load_image

    p = Project.load(sample_project)
    j = RenderJob(reference=load_image(p.reference_image).pixels, pose=p.pose, frames=tuple(range(6)),
                  settings=p.settings.model_copy(update={"width": 128, "height": 224}),
                  reference_pose=p.reference_pose)
    j.fingerprint()  # the memoised parts must survive pickling to the helper
    return j


def test_helper_renders_the_same_frames_as_the_thread(helper, job):
    from studio.core.registry import create_backend as get_backend

    got = {k: f for ev in run_job(job, helper) if isinstance(ev, FramesReady) for k, f in zip(ev.indices, ev.frames)}
    ref = {k: f for ev in run_job(job, get_backend("draft")) if isinstance(ev, FramesReady)
           for k, f in zip(ev.indices, ev.frames)}
    assert sorted(got) == list(range(6))
    for k in ref:
        assert np.array_equal(got[k], ref[k])
    assert helper.capabilities.independent_frames and helper.available()[0]


def test_cancel_reaches_the_helper(helper, job):
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(RenderCancelled):
        list(helper.render(job, cancel))
    # the helper is still in step afterwards
    assert any(isinstance(e, FramesReady) for e in helper.render(job, CancelToken()))


def test_helper_errors_arrive_as_studio_errors(helper, job):
    import dataclasses

    bad = dataclasses.replace(job, frames=(10_000,))  # no such driving frame
    with pytest.raises(StudioError):
        list(helper.render(bad, CancelToken()))
    assert any(isinstance(e, FramesReady) for e in helper.render(job, CancelToken()))


def test_a_dead_helper_is_reported_and_restarted(job):
    b = ProcessBackend("draft")
    try:
        b.load()
        b._proc.kill()  # noqa: SLF001
        b._proc.join()  # noqa: SLF001
        events = list(b.render(job, CancelToken()))  # a new helper is started
        assert any(isinstance(e, FramesReady) for e in events)
    finally:
        b.close()
    assert b._proc is None  # noqa: SLF001
