"""The draft backend through run_job: cancel + resume gives byte-identical frames."""

from pathlib import Path

import numpy as np
import pytest

from studio.core.cancel import CancelToken
from studio.core.events import Cancelled, Finished, FramesReady
from studio.core.jobs import RenderJob
from studio.core.project import Project
from studio.core.render import render_frames, run_job

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample" / "sample.studio.json"


@pytest.fixture(scope="module")
def backend():
    from studio.backends.draft.backend import DraftBackend

    return DraftBackend(chunk=4)


def sample_job(out: Path, n: int = 12) -> RenderJob:
    from studio.media.image import read_image

    p = Project.load(SAMPLE)
    s = p.settings.model_copy(update={"width": 128, "height": 224})
    return RenderJob(reference=read_image(p.reference_image), pose=p.pose, frames=tuple(range(n)),
                     settings=s, reference_pose=p.reference_pose, output_dir=out)


def test_cancel_then_resume_is_byte_identical(tmp_path, backend):
    full = {}
    for ev in run_job(sample_job(tmp_path / "full"), backend):
        if isinstance(ev, FramesReady):
            full.update(zip(ev.indices, ev.frames))
    assert isinstance(ev, Finished) and len(full) == 12

    job = sample_job(tmp_path / "cut")
    token = CancelToken()
    evs = []
    for ev in run_job(job, backend, None, token):
        evs.append(ev)
        if isinstance(ev, FramesReady) and ev.indices[-1] >= 3:
            token.cancel()
    assert isinstance(evs[-1], Cancelled) and evs[-1].done == (0, 1, 2, 3)
    assert sum(isinstance(e, FramesReady) for e in evs) == 1  # stopped within one chunk

    resumed = {}
    for ev in run_job(job, backend, None, CancelToken()):
        if isinstance(ev, FramesReady):
            resumed.update(zip(ev.indices, ev.frames))
    assert isinstance(ev, Finished)
    assert sorted(resumed) == list(range(12))
    for k in range(12):
        assert resumed[k].tobytes() == full[k].tobytes()
    for a, b in zip(render_frames(sample_job(tmp_path / "full")), render_frames(job)):
        assert a.read_bytes() == b.read_bytes()


def test_draft_frames_are_real_renders(tmp_path, backend):
    """The person moves with the skeleton and nothing else changes: between consecutive frames a
    real share of the picture changes, and every changed pixel lies near the two frames' skeletons
    (within a tenth of the frame height: limb width, hair, feet); the background is untouched."""
    from studio.backends.draft.framing import body_pixels, track_fit

    job = sample_job(tmp_path / "r", n=8)
    job = RenderJob(reference=job.reference, pose=job.pose, frames=job.frames, reference_pose=job.reference_pose,
                    settings=job.settings.model_copy(update={"retarget": False}), output_dir=job.output_dir)
    frames = {}
    for ev in run_job(job, backend):
        if isinstance(ev, FramesReady):
            frames.update(zip(ev.indices, ev.frames))
    assert frames[0].shape == (224, 128, 3)
    body = body_pixels(job.pose, track_fit(job.pose, 128, 224))  # the skeletons the draft follows
    margin = 224 // 10
    rows, cols = np.mgrid[0:224, 0:128]
    for k in range(7):
        changed = np.abs(frames[k + 1].astype(int) - frames[k]).max(axis=2) > 0
        assert changed.mean() > 0.03, k  # the person moved
        pts = np.concatenate([body[k], body[k + 1]])
        pts = pts[np.isfinite(pts).all(axis=1)]
        (x0, y0), (x1, y1) = pts.min(axis=0) - margin, pts.max(axis=0) + margin
        near = (cols >= x0) & (cols <= x1) & (rows >= y0) & (rows <= y1)
        assert not (changed & ~near).any(), (k, np.argwhere(changed & ~near)[:5])
