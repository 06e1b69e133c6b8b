"""The DynamiCtrl backend through the studio's backend protocol, on the tiny release (CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core import registry
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import FramesReady, Progress, StepPreview
from studio.core.jobs import RenderJob
from studio.core.settings import RenderSettings
from studio.core.tracks import PoseTrack

from studio.backends.dynamictrl import rules
from studio.backends.dynamictrl.options import DynamiCtrlOptions
from studio.backends.dynamictrl.spec import SPEC
from tests.dynamictrl.conftest import RELEASE


@pytest.fixture(autouse=True)
def _registered():
    with registry.installed(SPEC):
        yield


def make_job(n: int, size: int = 64, output_dir=None, **options) -> RenderJob:
    pose = PoseTrack.empty(n, 64, 64, 25.0)
    t = np.arange(n, dtype=np.float32)[:, None]
    pose.body[:] = (0.5 + 0.25 * np.sin(t / 3 + np.arange(18)))[..., None]
    pose.body_conf[:] = 1.0
    pose.flags[:] = 0
    ref = np.tile(np.linspace(0, 255, size, dtype=np.uint8)[None, :, None], (size, 1, 3))
    opts = DynamiCtrlOptions(**{"steps": 2, **options})
    s = RenderSettings(backend="dynamictrl", width=size, height=size, seed=3, options=opts)
    return RenderJob(reference=ref, pose=pose, frames=tuple(range(n)), settings=s, weights_dir=RELEASE,
                     output_dir=output_dir)


@pytest.fixture(scope="module")
def backend():
    pytest.importorskip("torch")
    return SPEC.create(RELEASE)


def test_bad_frame_count_fails_before_loading(backend):
    with pytest.raises(StudioError) as err:
        next(backend.render(make_job(12), CancelToken()))
    assert "13" in err.value.description and backend._pipe is None


def test_bad_size_fails_before_loading(backend):
    with pytest.raises(StudioError, match="multiples of 16"):
        next(backend.render(make_job(13, size=72), CancelToken()))
    assert backend._pipe is None


def test_one_pass_streams_previews_and_frames(backend):
    events = list(backend.render(make_job(13), CancelToken()))
    previews = [e for e in events if isinstance(e, StepPreview)]
    frames = [e for e in events if isinstance(e, FramesReady)]
    assert len(previews) == 2 and previews[0].frames.shape == (13, 8, 8, 3)
    assert len(frames) == 1 and frames[0].indices == tuple(range(13)) and frames[0].frames.shape == (13, 64, 64, 3)
    assert any(isinstance(e, Progress) and e.phase == "denoise" and e.step == e.total for e in events)


def test_two_segments_cancel_and_resume(backend, tmp_path):
    """21 frames as 13 + 13 with overlap 5; cancelled in the second segment, the render resumes
    there (from the saved tail) and gives the frames of an uninterrupted render."""
    whole = make_job(21, segment_frames=13, overlap=5)
    full = np.concatenate([e.frames for e in backend.render(whole, CancelToken()) if isinstance(e, FramesReady)])
    assert full.shape[0] == 21

    job = make_job(21, output_dir=tmp_path, segment_frames=13, overlap=5)
    cancel = CancelToken()
    got = {}
    with pytest.raises(RenderCancelled):
        for e in backend.render(job, cancel):
            if isinstance(e, FramesReady):
                got.update(zip(e.indices, e.frames))
                _store(job, e)
                cancel.cancel()
    assert sorted(got) == list(range(8))
    first, tail = backend._resume_point(job, rules.plan_segments(21, 13, 5), job.fingerprint())
    assert first == 1 and tail.shape == (5, 64, 64, 3)
    rest = [e for e in backend.render(job, CancelToken()) if isinstance(e, FramesReady)]
    assert [e.indices[0] for e in rest] == [8]
    got.update(zip(rest[0].indices, rest[0].frames))
    np.testing.assert_array_equal(np.stack([got[k] for k in range(21)]), full)


def _store(job, event):
    """Record finished frames in the render folder as the job runner does (one key: the job's)."""
    from studio.core.render_store import RenderStore

    fp = job.fingerprint()
    RenderStore(job.output_dir, fp, job.frames, [fp] * len(job.frames)).write(list(event.indices), event.frames)


def test_prompt_modes():
    from studio.backends.dynamictrl.conditioning import default_prompt, prompt_for
    from studio.core.tracks import FLAG_HELD

    job = make_job(13)
    assert prompt_for(job) == default_prompt(job) and "full body" in prompt_for(job)
    assert "dances" in prompt_for(job)
    assert prompt_for(make_job(13, prompt="A knight in silver armour.")) == "A knight in silver armour."
    assert prompt_for(make_job(13, empty_prompt=True)) == ""
    held = make_job(13)
    held.pose.flags[:] = FLAG_HELD
    held.pose.body_conf[:, [10, 13]] = 0.0
    text = default_prompt(held)
    assert "stands and moves gently" in text and "waist up" in text


def test_options_refuse_bad_pass_and_overlap():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="8k\\+5"):
        DynamiCtrlOptions(segment_frames=36)
    with pytest.raises(ValidationError, match="one of 5, 13, 21, 29"):
        DynamiCtrlOptions(segment_frames=37, overlap=6)
