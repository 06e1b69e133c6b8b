"""XDynaBackend on the tiny random X-Dyna release (64x64 images, 8x8 latents, CPU float32).

Checks event order, cancel within a step, resume byte-identical to an uninterrupted render, the
stream schedule's first chunk after a third of the UNet calls, overlap continuity, and exact
cache invalidation. The weights are random, so frames look like coloured noise: only the
numbers matter.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fakes import make_job  # noqa: E402

from studio.core.cancel import CancelToken  # noqa: E402
from studio.core.events import Cancelled, Finished, FramesReady, Progress, StepPreview  # noqa: E402
from studio.core.frame_cache import FrameCache, FrameState  # noqa: E402
from studio.core.render import run_job  # noqa: E402

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny" / "a_pose_16f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def _motion_kwargs(weights: dict) -> dict | None:
    for key, value in weights.items():
        if key.startswith("unet_additional_kwargs"):
            return value.get("motion_module_kwargs")
    return None


@pytest.fixture(scope="module")
def backend():
    from studio.backends.xdyna.backend import XDynaBackend

    w = json.loads((CASE / "case.json").read_text())["weights"]
    # paced: the pipeline waits for the test at every event, so UNet calls counted at an event are exact
    return XDynaBackend(WEIGHTS, resampler_kwargs=w["resampler_kwargs"], motion_module_kwargs=_motion_kwargs(w),
                        decode_chunk=4, paced=True)


@pytest.fixture(scope="module")
def free_backend(backend):
    """The same loaded pipeline, run as the GUI and CLI run it: never waiting for the consumer."""
    from studio.backends.xdyna.backend import XDynaBackend

    free = XDynaBackend(WEIGHTS, resampler_kwargs=backend.resampler_kwargs,
                        motion_module_kwargs=backend.motion_module_kwargs, decode_chunk=4)
    backend.pipeline(WEIGHTS, "cpu", "float32")  # loaded once, shared
    free._pipe, free._pipe_key = backend._pipe, backend._pipe_key
    return free


class UNetCounter:
    """Counts UNet forward calls of the backend's loaded pipeline."""

    def __init__(self, backend) -> None:
        self.pipe = backend.pipeline(WEIGHTS, "cpu", "float32")
        self.calls = 0
        self.handle = self.pipe.unet.register_forward_hook(self._hook)

    def _hook(self, *args) -> None:
        self.calls += 1

    def close(self) -> None:
        self.handle.remove()


@pytest.fixture
def unet_calls(backend):
    c = UNetCounter(backend)
    yield c
    c.close()


def xjob(n: int, out=None, **settings):
    base = dict(backend="xdyna", steps=2, cfg=2.0, face_controlnet=False, retarget=False, device="cpu",
                dtype="float32")
    base.update(settings)
    job = make_job(n, output_dir=out, **base)
    from dataclasses import replace

    ref = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(CASE / "inputs" / "reference.png").convert("RGB"))
    return replace(job, reference=ref, weights_dir=WEIGHTS)


def frames_of(events) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = {}
    for e in events:
        if isinstance(e, FramesReady):
            out.update(zip(e.indices, e.frames))
    return out


def test_available_reports_missing_weights(tmp_path):
    from studio.backends.xdyna.backend import XDynaBackend

    ok, why = XDynaBackend().available()
    assert not ok and "weights" in why
    ok, why = XDynaBackend(tmp_path).available()
    assert not ok and str(tmp_path) in why
    assert XDynaBackend(WEIGHTS).available()[0]


def test_reference_schedule_event_order_and_previews(backend, tmp_path):
    cache = FrameCache()
    job = xjob(20, tmp_path / "r")
    evs = list(run_job(job, backend, cache))
    assert isinstance(evs[-1], Finished) and evs[-1].n_frames == 20
    denoise = [e for e in evs if isinstance(e, (StepPreview,)) or (isinstance(e, Progress) and e.phase == "denoise")]
    assert [type(e).__name__ for e in denoise] == ["Progress", "StepPreview"] * 2
    previews = [e for e in evs if isinstance(e, StepPreview)]
    assert [p.step for p in previews] == [0, 1]
    # previews are at latent resolution (64 px / 8): the viewer scales them
    assert previews[0].indices == tuple(range(20)) and previews[0].frames.shape == (20, 8, 8, 3)
    assert previews[0].frames.std() > 1  # a picture, not a constant
    first_frames = next(i for i, e in enumerate(evs) if isinstance(e, FramesReady))
    last_preview = max(i for i, e in enumerate(evs) if isinstance(e, StepPreview))
    assert first_frames > last_preview  # reference schedule: nothing final before the last step
    got = frames_of(evs)
    assert sorted(got) == list(range(20)) and got[0].shape == (64, 64, 3)
    assert cache.valid_ranges(job.fingerprint()) == [(0, 20)]


def test_cancel_mid_denoise_then_resume_is_byte_identical(backend, tmp_path, unet_calls):
    full = frames_of(run_job(xjob(20, tmp_path / "full"), backend))
    calls_full = unet_calls.calls

    job = xjob(20, tmp_path / "cut")
    token = CancelToken()
    evs = []
    for e in run_job(job, backend, None, token):
        evs.append(e)
        if isinstance(e, StepPreview) and e.step == 0:
            token.cancel()
    assert isinstance(evs[-1], Cancelled) and evs[-1].done == ()
    assert sum(isinstance(e, StepPreview) for e in evs) == 1  # stopped within one step

    token = CancelToken()
    evs = []
    for e in run_job(job, backend, None, token):  # cancel while decoding: finished frames kept
        evs.append(e)
        if isinstance(e, FramesReady):
            token.cancel()
    assert isinstance(evs[-1], Cancelled) and evs[-1].done == (0, 1, 2, 3)

    before = unet_calls.calls
    evs = list(run_job(job, backend))
    assert isinstance(evs[-1], Finished)
    assert unet_calls.calls == before  # denoising was not repeated: saved latents were decoded
    resumed = frames_of(evs)
    assert sorted(resumed) == list(range(20))
    for k in range(20):
        assert resumed[k].tobytes() == full[k].tobytes()
    assert calls_full > 0


@pytest.fixture(scope="module")
def stream40(backend, tmp_path_factory):
    """One uninterrupted 40-frame stream render (windows [0..15], [12..27], [24..39])."""
    counter = UNetCounter(backend)
    try:
        job = xjob(40, tmp_path_factory.mktemp("stream40"), schedule="stream", overlap=4)
        chunks, at_chunk = [], []
        evs = []
        for e in run_job(job, backend):
            evs.append(e)
            if isinstance(e, FramesReady):
                chunks.append(e.indices)
                at_chunk.append(counter.calls)
        return {"events": evs, "chunks": chunks, "at_chunk": at_chunk, "total": counter.calls,
                "frames": frames_of(evs)}
    finally:
        counter.close()


def test_stream_first_chunk_after_a_third_of_the_unet_calls(stream40):
    assert isinstance(stream40["events"][-1], Finished)
    total = stream40["total"]
    assert total == 3 * 2  # 3 windows x 2 steps, each one UNet call
    # the first window's 16 frames are final after a third of the work
    assert stream40["chunks"][0] == tuple(range(16)) and stream40["at_chunk"][0] == total // 3
    assert stream40["chunks"][1:] == [tuple(range(16, 28)), tuple(range(28, 40))]
    assert stream40["at_chunk"][1:] == [2 * total // 3, total]
    # previews of all frames come step by step before the first chunk
    evs = stream40["events"]
    first = next(i for i, e in enumerate(evs) if isinstance(e, FramesReady))
    assert [e.step for e in evs[:first] if isinstance(e, StepPreview)] == [0, 1]


def test_stream_without_overlap_first_16_frames_after_a_third(backend, tmp_path, unet_calls):
    job = xjob(40, tmp_path, schedule="stream", overlap=0, steps=1)
    for e in run_job(job, backend):
        if isinstance(e, FramesReady):
            first, at = e.indices, unet_calls.calls
            break
    assert first == tuple(range(16)) and at == 1  # windows [0..15], [16..31], [24..39]: 1 of 3 calls


def test_stream_overlap_frames_are_continuous(stream40):
    frames = stream40["frames"]
    video = np.stack([frames[k] for k in range(40)]).astype(np.float64)
    jumps = np.abs(np.diff(video, axis=0)).mean(axis=(1, 2, 3))  # jumps[i]: frame i -> i+1
    seams = [11, 15, 23, 27]  # where a window's overlap starts / the previous window ends
    interior = [i for i in range(39) if i not in seams]
    assert max(jumps[seams]) <= max(jumps[interior])


def test_stream_cancel_and_resume_skips_finished_windows(backend, stream40, tmp_path, unet_calls):
    job = xjob(40, tmp_path / "cut", schedule="stream", overlap=4)
    token = CancelToken()
    evs = []
    for e in run_job(job, backend, None, token):
        evs.append(e)
        if isinstance(e, FramesReady):
            token.cancel()
    assert isinstance(evs[-1], Cancelled) and evs[-1].done == tuple(range(16))
    assert unet_calls.calls == 2  # stopped within the next window's first step
    assert (tmp_path / "cut" / f"latents_{job.fingerprint()}_w000.npy").is_file()
    before = unet_calls.calls
    resumed = frames_of(run_job(job, backend))
    assert unet_calls.calls - before == 2 * 2  # only windows 1 and 2 were denoised
    assert sorted(resumed) == list(range(40))
    full = stream40["frames"]
    for k in range(40):
        assert resumed[k].tobytes() == full[k].tobytes()


def test_changing_the_seed_invalidates_the_cached_frames(backend, tmp_path):
    cache = FrameCache()
    a = xjob(16, tmp_path / "r")
    fa = frames_of(run_job(a, backend, cache))
    b = xjob(16, tmp_path / "r", seed=2)
    assert (cache.states(b.fingerprint(), 16) == FrameState.STALE).all()
    fb = frames_of(run_job(b, backend, cache))
    assert (cache.states(b.fingerprint(), 16) == FrameState.FINAL).all()
    assert any(fa[k].tobytes() != fb[k].tobytes() for k in range(16))


def test_cli_renders_the_sample_with_xdyna(tmp_path):
    """``studio render --sample --backend xdyna --weights DIR``, on a converted copy of the tiny
    release (the copy's manifest carries the tiny hyper-parameters)."""
    import argparse

    from studio.backends.xdyna.convert import convert_release
    from studio.cli import render as cli_render
    from studio.media.video import VideoReader

    w = json.loads((CASE / "case.json").read_text())["weights"]
    convert_release(WEIGHTS, tmp_path / "tiny", resampler_kwargs=w["resampler_kwargs"],
                    motion_module_kwargs=_motion_kwargs(w))
    parser = argparse.ArgumentParser()
    cli_render.register(parser.add_subparsers())
    args = parser.parse_args([
        "render", "--sample", "--backend", "xdyna", "--weights", str(tmp_path / "tiny"), "--size", "64x112",
        "--steps", "2", "--frames", "0:6", "--device", "cpu", "--side-by-side", "--no-progress",
        "-o", str(tmp_path / "out.mp4"),
    ])
    assert args.func(args) == 0
    with VideoReader(tmp_path / "out.mp4") as r:
        assert r.size == (128, 112) and r.frame_count == 6


def test_sface_conditioning_from_the_driving_video(backend, tmp_path):
    from dataclasses import replace

    from test_conditioning import face_track

    from studio.core.tracks import PoseTrack
    from studio.media.exporters import export_frames

    rng = np.random.default_rng(1)
    export_frames([rng.integers(0, 255, (80, 64, 3), dtype=np.uint8) for _ in range(16)], 25, tmp_path / "d.mp4")
    base = xjob(16, steps=1, face_controlnet=True)
    p = base.pose
    pose = PoseTrack(p.body, p.body_conf, p.hands, p.hands_conf, p.flags, width=64, height=80, fps=25.0)
    with_face = replace(base, pose=pose, face=face_track(16, 64, 80), driving_video=tmp_path / "d.mp4")
    without = replace(with_face, settings=with_face.settings.updated(face_controlnet=False))
    a = frames_of(run_job(with_face, backend))
    b = frames_of(run_job(without, backend))
    assert sorted(a) == sorted(b) == list(range(16))
    assert any(a[k].tobytes() != b[k].tobytes() for k in range(16))  # the S-Face branch ran


def test_bad_device_is_a_studio_error(backend):
    from studio.core.errors import StudioError

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(StudioError, match="CUDA"):
        backend.pipeline(WEIGHTS, "cuda", "auto")
    evs = list(run_job(xjob(4, device="nonsense:0"), backend))
    assert evs[-1].error.title == "Unknown device"


def test_abandoning_the_render_stops_the_pipeline_thread(backend, unet_calls):
    import threading

    gen = run_job(xjob(16, steps=3), backend)
    for e in gen:
        if isinstance(e, StepPreview):
            break
    gen.close()
    assert not [t for t in threading.enumerate() if t.name == "studio-xdyna"]
    assert unet_calls.calls == 1  # the pipeline stopped at its next step


def test_pipeline_never_waits_for_a_slow_consumer(free_backend, tmp_path, unet_calls):
    """Holding the first preview does not stop the render: every UNet call and the decode run
    meanwhile; the newest pending preview replaced older ones and no final frame was dropped."""
    import time

    job = xjob(20, tmp_path / "free", steps=3)
    total = 3 * 2  # 3 steps x 2 reference windows of 20 frames
    evs = []
    gen = run_job(job, free_backend)
    for e in gen:
        evs.append(e)
        if isinstance(e, StepPreview):
            break
    deadline = time.monotonic() + 300
    while unet_calls.calls < total and time.monotonic() < deadline:
        time.sleep(0.05)
    assert unet_calls.calls == total  # the pipeline ran on while the consumer held one event
    evs += list(gen)
    assert isinstance(evs[-1], Finished)
    steps = [e.step for e in evs if isinstance(e, StepPreview)]
    assert steps[0] == 0 and steps == sorted(steps) and len(steps) < 3  # older pending previews replaced
    assert sorted(frames_of(evs)) == list(range(20))  # every final frame arrived


def test_a_render_loads_the_weights_for_its_memory_setting(tmp_path, monkeypatch):
    """A low-VRAM job's first load reads the models straight to where the low-VRAM setting keeps
    them (tests/xdyna/test_load_placement.py checks the placement itself)."""
    from studio.backends.xdyna.backend import XDynaBackend
    from studio.backends.xdyna.pipeline import XDynaPipeline

    class Loaded(Exception):
        pass

    asked = []

    def from_release(cls, *args, **kwargs):
        asked.append(kwargs.get("low_vram"))
        raise Loaded

    monkeypatch.setattr(XDynaPipeline, "from_release", classmethod(from_release))
    fresh = XDynaBackend(WEIGHTS)
    for low_vram in (True, False):
        with pytest.raises(Loaded):
            list(fresh.render(xjob(4, tmp_path / f"low{low_vram}", low_vram=low_vram), CancelToken()))
    assert asked == [True, False]



def test_torch_compile_that_fails_says_so_and_renders_the_eager_frames(backend, tmp_path, monkeypatch):
    """The backend's messages around a failed compile (the real failure, a missing C++ compiler, is
    tests/xdyna/test_memory_options.py's: the backend compiles on its pipeline thread, where an
    inductor config patch of the test does not reach; here torch.compile gives a call that fails)."""
    eager = frames_of(run_job(xjob(4, tmp_path / "eager"), backend))

    def failing(*args, **kwargs):
        raise RuntimeError("InvalidCxxCompiler: No working C++ compiler found")

    monkeypatch.setattr(torch, "compile", lambda module, **kw: failing)
    evs = list(run_job(xjob(4, tmp_path / "compiled", torch_compile=True), backend))
    said = [e.message for e in evs if isinstance(e, Progress) and e.phase == "compile"]
    assert said[0].startswith("torch.compile is on") and len(said) == 2
    assert said[1].startswith("torch.compile failed, rendering uncompiled (UNet: RuntimeError: InvalidCxx")
    got = frames_of(evs)
    assert sorted(got) == sorted(eager) and all(np.array_equal(got[i], eager[i]) for i in eager)
    assert isinstance(evs[-1], Finished)
