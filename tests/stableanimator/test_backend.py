"""The StableAnimator backend: events, streaming order, previews, cancel, determinism, availability."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from studio.backends.stableanimator.backend import StableAnimatorBackend  # noqa: E402
from studio.backends.stableanimator.options import StableAnimatorOptions  # noqa: E402
from studio.backends.stableanimator.spec import SPEC  # noqa: E402
from studio.core import registry  # noqa: E402
from studio.core.cancel import CancelToken  # noqa: E402
from studio.core.errors import RenderCancelled, StudioError  # noqa: E402
from studio.core.events import FramesReady, Progress, StepPreview  # noqa: E402
from studio.core.jobs import RenderJob  # noqa: E402
from studio.core.settings import RenderSettings  # noqa: E402
from studio.core.tracks import PoseTrack  # noqa: E402

OPTIONS = dict(steps=2, tile_size=8, tile_overlap=2, min_guidance=1.5, max_guidance=2.5)


def _job(golden, n: int = 10, seed: int = 23123134, **options) -> RenderJob:
    poses = json.loads((golden.root / "pose_draw" / "poses.json").read_text())["poses"]
    body = np.stack([np.array(poses[i % 3]["body"], np.float32) for i in range(n)])
    hands = np.stack([np.array(poses[i % 3]["hands"], np.float32) for i in range(n)])
    track = PoseTrack(body=body, body_conf=np.stack([np.array(poses[i % 3]["body_conf"], np.float32) for i in range(n)]),
                      hands=hands, hands_conf=np.stack([np.array(poses[i % 3]["hands_conf"], np.float32)
                                                        for i in range(n)]),
                      flags=np.zeros(n, np.uint16), width=96, height=128)
    ref = golden.request("a_tiles_20f").reference
    settings = RenderSettings(backend="stableanimator", width=64, height=64, seed=seed, **{**OPTIONS, **options})
    assert isinstance(settings.options, StableAnimatorOptions)
    return RenderJob(reference=ref, pose=track, frames=tuple(range(n)), settings=settings)


def _embedder(golden):
    emb = np.load(golden.root / "a_tiles_20f" / "inputs" / "face_embedding.npy")
    return lambda photo: emb


@pytest.fixture(scope="module")
def backend(tiny_release, golden):
    return registry.create_backend("stableanimator", tiny_release, face_embedder=_embedder(golden))


@pytest.fixture(scope="module")
def events(backend, golden):
    return list(backend.render(_job(golden), CancelToken()))


def test_events_stream_previews_then_frames_in_order(events):
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("StepPreview") == 2
    previews = [e for e in events if isinstance(e, StepPreview)]
    assert [p.step for p in previews] == [0, 1] and previews[0].frames.shape == (10, 64, 64, 3)
    ready = [e for e in events if isinstance(e, FramesReady)]
    assert [r.indices for r in ready] == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9)]
    assert kinds.index("FramesReady") > max(i for i, k in enumerate(kinds) if k == "StepPreview")
    assert all(r.frames.dtype == np.uint8 and r.frames.shape[1:] == (64, 64, 3) for r in ready)
    denoise = [e for e in events if isinstance(e, Progress) and e.phase == "denoise"]
    assert [(p.step, p.total) for p in denoise] == [(1, 2), (2, 2)]


def test_frames_are_the_pipeline_frames(backend, events, golden):
    from studio.backends.stableanimator.preview import to_uint8

    res = backend.load()(backend.request(_job(golden)))
    frames = np.concatenate([e.frames for e in events if isinstance(e, FramesReady)])
    np.testing.assert_array_equal(frames, to_uint8(res.frames))


def test_same_job_same_frames_and_seed_matters(backend, events, golden):
    again = list(backend.render(_job(golden), CancelToken()))
    first = np.concatenate([e.frames for e in events if isinstance(e, FramesReady)])
    np.testing.assert_array_equal(np.concatenate([e.frames for e in again if isinstance(e, FramesReady)]), first)
    frames = np.concatenate([e.frames for e in backend.render(_job(golden, seed=7), CancelToken())
                             if isinstance(e, FramesReady)])
    assert not np.array_equal(frames, first)


def test_cancel_at_a_step_stops_before_any_frame(backend, golden):
    token, seen = CancelToken(), []
    with pytest.raises(RenderCancelled):
        for e in backend.render(_job(golden), token):
            seen.append(e)
            if isinstance(e, StepPreview):
                token.cancel()
    assert not any(isinstance(e, FramesReady) for e in seen)
    assert sum(isinstance(e, StepPreview) for e in seen) == 1


def test_no_face_renders_with_a_zero_embedding_and_says_so(tiny_release, golden):
    """The official behaviour: no face -> zeros(512); the studio says the identity is not kept."""
    b = StableAnimatorBackend(tiny_release, face_embedder=lambda photo: None)
    events = list(b.render(_job(golden, n=8), CancelToken()))
    face = [e for e in events if isinstance(e, Progress) and e.phase == "face"]
    assert len(face) == 1 and "identity" in face[0].message and "not be kept" in face[0].message
    np.testing.assert_array_equal(b.last_face.embedding, np.zeros(512, np.float32))
    assert sum(len(e.indices) for e in events if isinstance(e, FramesReady)) == 8


def test_available_says_what_is_missing(tiny_release, golden, tmp_path):
    assert StableAnimatorBackend(tiny_release, _embedder(golden)).available() == (True, "ready")
    ok, why = StableAnimatorBackend(None).available()
    assert not ok and "weights folder" in why
    ok, why = StableAnimatorBackend(tiny_release).available()
    assert not ok and "ArcFace" in why
    copy = tmp_path / "rel"
    shutil.copytree(tiny_release, copy)
    (copy / "Animation" / "unet.pth").unlink()
    ok, why = StableAnimatorBackend(copy, _embedder(golden)).available()
    assert not ok and "Animation/unet.pth" in why


def test_options_reject_overlap_not_below_tile():
    with pytest.raises(ValueError, match="tile_overlap"):
        StableAnimatorOptions(tile_size=8, tile_overlap=8)


def test_spec_lists_what_a_synthetic_release_lacks(tiny_release):
    problems = SPEC.weights.check(tiny_release, None)
    assert any("glintr100.onnx" in p for p in problems)
    assert not any("Animation/" in p for p in problems)
    assert SPEC.create(tiny_release).name == "stableanimator"


def test_resume_emits_only_missing_frames(backend, events, golden, tmp_path):
    import json as _json

    from studio.core.render_store import MANIFEST, frame_filename

    job = _job(golden)
    out = tmp_path / "render"
    out.mkdir()
    first = np.concatenate([e.frames for e in events if isinstance(e, FramesReady)])
    key = job.fingerprint()
    recorded = {}
    for k in range(6):  # frames 0..5 finished by an earlier, interrupted run
        from PIL import Image

        Image.fromarray(first[k]).save(out / frame_filename(job.frames[k]))
        recorded[str(job.frames[k])] = key
    (out / MANIFEST).write_text(_json.dumps({"frames": recorded}))
    from dataclasses import replace

    again = [e for e in backend.render(replace(job, output_dir=out), CancelToken()) if isinstance(e, FramesReady)]
    assert [e.indices for e in again] == [(6, 7), (8, 9)]
    np.testing.assert_array_equal(np.concatenate([e.frames for e in again]), first[6:])


def _compile_messages(events) -> list[str]:
    return [e.message for e in events if isinstance(e, Progress) and e.phase == "compile"]


@pytest.mark.slow
def test_torch_compile_gives_the_same_frames_and_says_what_it_compiled(backend, events, golden):
    job = _job(golden, torch_compile=True)
    assert job.fingerprint() == _job(golden).fingerprint()  # frames equal up to float rounding: one cache key
    got = list(backend.render(job, CancelToken()))
    said = _compile_messages(got)
    assert said[0].startswith("torch.compile is on")
    assert [m for m in said if m.startswith("compiled for this size")], said
    assert any("UNet" in m for m in said) and any("VAE decoder" in m for m in said)
    frames = np.concatenate([e.frames for e in got if isinstance(e, FramesReady)]).astype(int)
    eager = np.concatenate([e.frames for e in events if isinstance(e, FramesReady)]).astype(int)
    assert np.abs(frames - eager).max() <= 1  # uint8 rounding of values equal at the noise floor
    again = list(backend.render(job, CancelToken()))
    assert _compile_messages(again) == said[:1]  # the same size again: nothing compiles
    plain = list(backend.render(_job(golden, seed=7), CancelToken()))  # without the option: eager again
    assert _compile_messages(plain) == [] and backend.load().compiled is not None  # compiled code kept for later


@pytest.mark.slow
def test_a_failing_compiler_renders_uncompiled_and_says_why(tiny_release, events, golden):
    import torch
    import torch._inductor.config as inductor

    torch._dynamo.reset()  # compiled code from other tests in this process would not need the compiler
    b = StableAnimatorBackend(tiny_release, face_embedder=_embedder(golden))
    with inductor.patch({"cpp.cxx": ("/nonexistent/c++",), "fx_graph_cache": False}):
        got = list(b.render(_job(golden, torch_compile=True), CancelToken()))
    failed = [m for m in _compile_messages(got) if "failed" in m]
    assert len(failed) == 1 and "rendering uncompiled" in failed[0] and "C++ compiler" in failed[0]
    eager = np.concatenate([e.frames for e in events if isinstance(e, FramesReady)])
    np.testing.assert_array_equal(np.concatenate([e.frames for e in got if isinstance(e, FramesReady)]), eager)
    again = _compile_messages(b.render(_job(golden, torch_compile=True), CancelToken()))
    assert len(again) == 1 and again[0].startswith("rendering uncompiled: torch.compile failed earlier")
