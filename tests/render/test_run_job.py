"""run_job with fake backends: event order, cache/PNG writes, cancel, resume, invalidation."""

import json

import numpy as np
from fakes import FakeCoupled, FakeIndependent, frame_for, make_job

from studio.core.cancel import CancelToken
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress, StepPreview
from studio.core.frame_cache import FrameCache, FrameState
from studio.core.render import cache_key, render_frames, run_job
from studio.core.files import read_png
from studio.core.render_store import frame_filename


def collect(events):
    evs = list(events)
    frames = {}
    for e in evs:
        if isinstance(e, FramesReady):
            for k, f in zip(e.indices, e.frames):
                frames[k] = f
    return evs, frames


def test_event_order_cache_and_pngs(tmp_path):
    job = make_job(10, output_dir=tmp_path / "r")
    be = FakeIndependent(chunk=4)
    cache = FrameCache()
    evs, frames = collect(run_job(job, be, cache))
    kinds = [type(e).__name__ for e in evs]
    assert kinds == ["FramesReady", "Progress"] * 3 + ["Finished"]
    assert evs[-1].n_frames == 10
    assert sorted(frames) == list(range(10))
    for k in range(10):
        key = cache_key(job, be, k)
        assert key == job.frame_fingerprint(k)
        assert cache.state(key, job.frames[k]) == FrameState.FINAL
        np.testing.assert_array_equal(cache.get(key, job.frames[k]), frame_for(job, k))
        np.testing.assert_array_equal(read_png(render_frames(job)[k]), frame_for(job, k))
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert m["job"] == job.fingerprint() and m["complete"] is True
    assert m["frames"]["3"] == job.frame_fingerprint(3)


def test_coupled_backend_keys_and_previews(tmp_path):
    job = make_job(6, output_dir=tmp_path)
    be = FakeCoupled(steps=3)
    cache = FrameCache()
    seen_preview_state = []
    evs = []
    for e in run_job(job, be, cache):
        evs.append(e)
        if isinstance(e, StepPreview):
            seen_preview_state.append(cache.state(job.fingerprint(), 0))
    assert [type(e) for e in evs] == [Progress, StepPreview] * 3 + [FramesReady, Finished]
    assert seen_preview_state == [FrameState.PREVIEW] * 3
    assert cache_key(job, be, 2) == job.fingerprint()
    assert cache.valid_ranges(job.fingerprint()) == [(0, 6)]


def test_cancel_keeps_finished_frames_and_resume_matches(tmp_path):
    job = make_job(10, output_dir=tmp_path / "r")
    token = CancelToken()
    be = FakeIndependent(chunk=4, cancel_after_chunks=2)
    evs, first = collect(run_job(job, be, None, token))
    assert isinstance(evs[-1], Cancelled)
    assert evs[-1].done == tuple(range(8))
    assert all((tmp_path / "r" / frame_filename(i)).is_file() for i in range(8))
    assert not (tmp_path / "r" / frame_filename(8)).exists()

    be2 = FakeIndependent(chunk=4)
    evs2, second = collect(run_job(job, be2, None, CancelToken()))
    assert isinstance(evs2[-1], Finished)
    # only the two missing frames were asked of the backend
    assert [j.frames for j in be2.jobs] == [(8, 9)]
    uninterrupted = collect(run_job(make_job(10, output_dir=tmp_path / "u"), FakeIndependent()))[1]
    for k in range(10):
        np.testing.assert_array_equal(second[k], uninterrupted[k])
        assert read_png(render_frames(job)[k]).tobytes() == uninterrupted[k].tobytes()


def test_cancel_before_start(tmp_path):
    token = CancelToken()
    token.cancel()
    be = FakeIndependent()
    evs = list(run_job(make_job(4), be, None, token))
    assert evs == [Cancelled(())]
    assert be.jobs == []


def test_edit_one_pose_frame_rerenders_only_it(tmp_path):
    out = tmp_path / "r"
    cache = FrameCache()
    list(run_job(make_job(8, output_dir=out), FakeIndependent(), cache))
    edited = make_job(8, output_dir=out, pose_shift=0.05, shift_frame=5)
    be = FakeIndependent()
    evs, frames = collect(run_job(edited, be, cache))
    assert [j.frames for j in be.jobs] == [(5,)]
    assert isinstance(evs[-1], Finished)
    np.testing.assert_array_equal(frames[5], frame_for(edited, 5))
    states = cache.states(lambda i: edited.frame_fingerprint(i), 8)
    assert (states == FrameState.FINAL).all()


def test_changed_seed_invalidates_everything_for_coupled(tmp_path):
    out = tmp_path / "r"
    list(run_job(make_job(6, output_dir=out), FakeCoupled()))
    be = FakeCoupled()
    list(run_job(make_job(6, output_dir=out), be))
    assert be.calls == 0  # all reused from disk
    be2 = FakeCoupled()
    new = make_job(6, seed=2, output_dir=out)
    _, frames = collect(run_job(new, be2))
    assert be2.calls == 1
    np.testing.assert_array_equal(read_png(out / frame_filename(3)), frame_for(new, 3))


def test_resume_false_renders_again(tmp_path):
    job = make_job(4, output_dir=tmp_path)
    list(run_job(job, FakeIndependent()))
    be = FakeIndependent()
    list(run_job(job, be, resume=False))
    assert [j.frames for j in be.jobs] == [(0, 1, 2, 3)]


def test_failures_become_failed_events(tmp_path):
    job = make_job(8, output_dir=tmp_path)
    evs = list(run_job(job, FakeIndependent(fail_after_chunks=1)))
    assert isinstance(evs[-1], Failed) and evs[-1].error.title == "Boom"
    assert sum(isinstance(e, FramesReady) for e in evs) == 1
    evs = list(run_job(make_job(8, seed=3), FakeIndependent(fail_after_chunks=0, error=RuntimeError("oom"))))
    assert isinstance(evs[-1], Failed)
    assert "oom" in evs[-1].error.description and "RuntimeError" in evs[-1].error.details


def test_bad_frames_from_backend_fail(tmp_path):
    class Bad(FakeIndependent):
        def render(self, job, cancel):
            yield FramesReady((0,), np.zeros((1, 8, 8, 3), np.float32))

    evs = list(run_job(make_job(2), Bad()))
    assert isinstance(evs[-1], Failed) and "uint8" in evs[-1].error.description


def test_incomplete_render_fails(tmp_path):
    class Short(FakeIndependent):
        def render(self, job, cancel):
            yield FramesReady((0,), np.stack([frame_for(job, 0)]))

    evs = list(run_job(make_job(3), Short()))
    assert isinstance(evs[-1], Failed) and evs[-1].error.title == "Render incomplete"


def test_unwritable_render_folder_fails(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    evs = list(run_job(make_job(2, output_dir=blocker / "sub"), FakeIndependent()))
    assert isinstance(evs[-1], Failed) and "render folder" in evs[-1].error.title


def test_stale_pngs_and_foreign_latents_are_dropped(tmp_path):
    from studio.core.render_store import latents_filename, load_window_latents, save_window_latents

    out = tmp_path / "r"
    job = make_job(4, output_dir=out)
    save_window_latents(out, "deadbeef", 0, np.ones((4, 2, 2)))
    save_window_latents(out, job.fingerprint(), 0, np.ones((4, 2, 2)))
    (out / frame_filename(2)).write_bytes(b"not in the manifest")
    be = FakeCoupled()
    list(run_job(job, be))
    assert be.calls == 1
    assert not (out / latents_filename("deadbeef", 0)).exists()
    assert load_window_latents(out, job.fingerprint(), 0).shape == (4, 2, 2)
    np.testing.assert_array_equal(read_png(out / frame_filename(2)), frame_for(job, 2))


def test_resume_from_cache_without_folder():
    cache = FrameCache()
    job = make_job(6)
    list(run_job(job, FakeIndependent(), cache))
    be = FakeIndependent()
    evs, frames = collect(run_job(job, be, cache))
    assert be.jobs == [] and sorted(frames) == list(range(6)) and isinstance(evs[-1], Finished)


def test_empty_job_fails():
    job = make_job(3)
    import dataclasses

    empty = dataclasses.replace(job, frames=())
    evs = list(run_job(empty, FakeIndependent()))
    assert len(evs) == 1 and isinstance(evs[0], Failed) and evs[0].error.title == "Nothing to render"


def test_render_folder_keeps_foreign_files_and_drops_our_leftovers(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / ".hidden.tmp").write_text("mine too")
    (out / ".frame_000001.png.abc.tmp").write_bytes(b"half a png")
    list(run_job(make_job(3, output_dir=out), FakeIndependent()))
    names = sorted(p.name for p in out.iterdir())
    assert names == [".hidden.tmp", "frame_000000.png", "frame_000001.png", "frame_000002.png",
                     "manifest.json", "notes.txt"]
