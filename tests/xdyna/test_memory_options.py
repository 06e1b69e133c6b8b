"""The memory and speed options on the tiny weights: chunked feed-forward, the residual cache,
sequential CFG halves, guidance 1, the low-VRAM setting, the fp16 VAE NaN guard, the preview
throttle and torch_compile without a compiler. (The full-size effect is measured by bench/vram_model.py.)"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.call import XDynaCall  # noqa: E402
from studio.backends.xdyna.pipeline import RunOptions  # noqa: E402

N = 20  # two reference windows (16/4) with wrap-around


def _render(pipe, inputs, n=N, **kw):
    kw.setdefault("num_inference_steps", 1)
    return pipe(XDynaCall(inputs["reference"], inputs["pose"][:n], inputs["sface_local"][:n],
                          inputs["sface_global"][:n], seed=3, **kw))


@pytest.fixture
def pipe(face_pipe):
    """The shared tiny pipeline, options reset afterwards."""
    yield face_pipe
    face_pipe.configure(RunOptions())


def test_chunked_feed_forward_matches_unchunked():
    from diffusers.models.attention import FeedForward

    from studio.backends.xdyna.feedforward import ChunkedFeedForward, chunked

    torch.manual_seed(0)
    plain = FeedForward(32, activation_fn="geglu")
    x = torch.randn(3, 50, 32)
    with torch.no_grad():
        expected = plain(x)
        ff = chunked(plain, chunk_tokens=7)  # 150 tokens in 22 chunks, the last one short
        assert isinstance(ff, ChunkedFeedForward) and ff.net is plain.net  # same parameters, same keys
        got = ff(x)
    assert got.shape == expected.shape
    # the same per-token computation; only the GEMM blocking of other row counts differs
    assert torch.allclose(got, expected, rtol=0, atol=1e-6)


def test_residual_cache_keeps_copies_of_only_the_frames_still_needed(pipe, face_inputs):
    from studio.backends.xdyna.residuals import StepResiduals

    held = []
    original = StepResiduals.halves

    def spy(self, frames):
        out = original(self, frames)
        held.append((list(frames), sorted(self.cache), self.cached_bytes,
                     {t.untyped_storage().data_ptr() for per in self.cache.values() for d, m in per for t in (*d, m)}))
        return out

    StepResiduals.halves = spy
    try:
        _render(pipe, face_inputs)
    finally:
        StepResiduals.halves = original
    assert len(held) == 2  # one step, two windows
    (first, cached, cached_bytes, storages), (second, *_rest) = held
    assert cached == sorted(set(first) & set(second))  # only frames the later window needs
    assert 0 < len(cached) < len(first) and cached_bytes > 0
    per_frame_tensors = 9  # the tiny models' 8 down residuals + mid, one text half (equal prompts share)
    assert len(storages) == len(cached) * per_frame_tensors  # own copies, no views of a batch
    assert held[-1][1] == [] and held[-1][2] == 0  # nothing left at the end of the step


def test_sequential_cfg_matches_batched_cfg(pipe, face_inputs, noise_floors):
    """Batch 1 twice instead of batch 2: the same sums in another order, so equal up to this CPU's
    rounding (tests/xdyna/noise_floor.py measures it; a fixed 1e-4 on the video failed on an EPYC)."""
    batched = noise_floors.baseline(seed=3)
    batches = []
    hook = pipe.unet.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    try:
        pipe.configure(RunOptions(sequential_cfg=True))
        sequential = _render(pipe, face_inputs)
        pipe.configure(RunOptions())
        again = _render(pipe, face_inputs, n=4)  # one window: the batched call
    finally:
        hook.remove()
    assert batches == [1, 1, 1, 1, 2]  # two batch-1 calls per window; the default, one of batch 2
    assert batched.counts.unet_frames == sequential.counts.unet_frames and again.video.shape[0] == 4
    noise_floors.check(sequential, seed=3)


def test_guidance_one_runs_only_the_cond_half(pipe, face_inputs):
    full = _render(pipe, face_inputs, guidance_scale=1.0, reuse_controlnet=False)
    # with cfg 1 the uncond half is skipped: half the UNet and ControlNet frames
    assert full.counts.unet_frames == 2 * 17
    assert full.counts.controlnet_frames == 2 * 16 * 2  # 2 windows x 16 frames x 2 ControlNets, cond only
    from studio.backends.xdyna.denoise import Denoiser

    seen = []
    original = Denoiser.guide

    def spy(self, eps):
        seen.append(eps.shape[0])
        return original(self, eps)

    Denoiser.guide = spy
    try:
        _render(pipe, face_inputs, guidance_scale=1.0)
        _render(pipe, face_inputs, guidance_scale=2.0)
    finally:
        Denoiser.guide = original
    assert seen == [1, 2]


def test_guidance_one_equals_the_cond_prediction_of_a_full_run(pipe, face_inputs, noise_floors):
    """``uncond + 1 * (cond - uncond)`` is ``cond``: skipping the uncond half changes nothing
    (but rounding: the cond half runs at batch 1, not as half of a batch of 2)."""
    from studio.backends.xdyna import denoise

    one = noise_floors.baseline(seed=3, guidance_scale=1.0)
    original = denoise.Denoiser.__post_init__

    def both_halves(self):
        original(self)
        self.active_halves = (0, 1)
        self._texts = list(self.text_embeds)
        self._hidden = self.hidden_states

    denoise.Denoiser.__post_init__ = both_halves
    try:
        both = _render(pipe, face_inputs, guidance_scale=1.0)
    finally:
        denoise.Denoiser.__post_init__ = original
    assert both.counts.unet_frames == 2 * one.counts.unet_frames
    noise_floors.check(both, seed=3, guidance_scale=1.0)


def test_low_vram_render_matches_default(pipe, face_inputs, noise_floors):
    default = noise_floors.baseline(seed=3)
    pipe.configure(RunOptions(low_vram=True))
    phases = []
    enter = pipe.placement.enter
    pipe.placement.enter = lambda phase: (phases.append(phase), enter(phase))[1]
    try:
        low = _render(pipe, face_inputs)
    finally:
        pipe.placement.enter = enter
    assert phases[0] == "encode" and "controlnet" in phases and "unet" in phases and phases[-1] == "decode"
    assert low.counts.unet_frames == default.counts.unet_frames
    noise_floors.check(low, seed=3)  # the CFG halves one after the other: rounding only


def test_fp16_vae_nan_guard_decodes_again_in_fp32(face_pipe):
    vae = face_pipe.vae
    original = vae.decode
    calls = []

    def flaky(z, *args, **kwargs):
        out = original(z, *args, **kwargs)
        calls.append(next(vae.parameters()).dtype)
        if next(vae.parameters()).dtype == torch.float16:
            out.sample[:] = float("inf")  # an fp16 overflow
        return out

    latent = torch.randn(1, 4, 8, 8)
    weights = {k: v.clone() for k, v in vae.state_dict().items()}  # a float16 round trip rounds them
    try:
        face_pipe.dtype = torch.float16
        vae.to(torch.float16)
        vae.decode = flaky
        img = face_pipe.decode_frame(latent)
    finally:
        vae.decode = original
        vae.to(torch.float32)
        vae.load_state_dict(weights)  # the shared pipeline's VAE as it was, for the tests after this one
        face_pipe.dtype = torch.float32
    assert calls == [torch.float16, torch.float32]
    assert torch.isfinite(img).all() and img.dtype == torch.float32


def test_preview_throttle_keeps_previews_under_the_share():
    from studio.backends.xdyna.preview import PreviewThrottle

    now = [0.0]
    throttle = PreviewThrottle(max_share=0.05, clock=lambda: now[0])
    made = []
    for step in range(100):
        now[0] += 1.0  # a 1 s step
        if throttle.due():
            started = now[0]
            now[0] += 0.2  # a 0.2 s preview: only every 4th step or so may have one
            throttle.record(started)
            made.append(step)
    assert made[0] == 0 and 15 <= len(made) <= 30
    assert throttle.share <= 0.05 + 1e-9


def test_preview_sink_delivers_latent_resolution_uint8():
    from studio.backends.xdyna.preview import PreviewSink, latents_to_rgb_preview

    got = []
    sink = PreviewSink(lambda step, frames, rgb: got.append((step, frames, rgb)))
    x0 = torch.randn(1, 4, 3, 8, 12)
    assert sink.due()
    sink(5, [7, 8, 9], x0)
    step, frames, rgb = got[0]
    assert step == 5 and frames == (7, 8, 9) and rgb.shape == (3, 8, 12, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - latents_to_rgb_preview(x0).astype(int)).max() <= 1


def test_settings_reach_the_pipeline_options(pipe):
    """X-Dyna's options low_vram / sequential_cfg / torch_compile (and the CLI flags built from its
    options model) become RunOptions."""
    import argparse

    from studio.cli import render as cli_render
    from studio.core.settings import RenderSettings

    parser = argparse.ArgumentParser()
    cli_render.register(parser.add_subparsers())
    args = parser.parse_args(["render", "--sample", "-o", "x.mp4", "--backend", "xdyna", "--low-vram",
                              "--sequential-cfg", "--compile"])
    settings = cli_render.build_settings(RenderSettings(), args)
    options = RunOptions.from_settings(settings.options)
    assert (options.low_vram, options.sequential_cfg, options.torch_compile) == (True, True, True)
    assert settings.fingerprint() == RenderSettings(backend="xdyna").fingerprint()  # how to compute, not what
    pipe.configure(options)
    assert pipe.placement.low_vram and pipe._unet_run is pipe.compiled  # the compiled UNet runs
    assert pipe.compiled.module is pipe.unet and type(pipe.compiled._fn).__name__ == "OptimizedModule"
    pipe.configure(RunOptions())
    assert pipe._unet_run is pipe.unet and pipe.compiled is None and not pipe.placement.low_vram


def test_fused_attention_pin_is_a_no_op_off_cuda_and_its_error_says_what_to_do():
    from studio.backends.xdyna.attention import fused_attention, fused_attention_only, no_fused_kernel_error
    from studio.core.errors import StudioError

    q = torch.randn(1, 2, 5, 4)
    with fused_attention_only("cpu"):
        out = fused_attention(q, q, q)
    assert torch.allclose(out, torch.nn.functional.scaled_dot_product_attention(q, q, q))
    err = no_fused_kernel_error(torch.device("cuda", 0), RuntimeError("No available kernel. Aborting execution."))
    assert isinstance(err, StudioError) and err.title == "Fused attention not available on this GPU"
    assert "float16" in err.description and "No available kernel" in err.details


def test_stream_previews_show_only_the_frames_a_step_changed(pipe, face_inputs):
    """Stream schedule: while window 2 runs, its overlap frames are already final and get no preview."""
    from studio.backends.xdyna.preview import PreviewSink, PreviewThrottle
    from studio.core.windows import WindowPlan

    got = []
    sink = PreviewSink(lambda step, frames, rgb: got.append((step, frames, rgb.shape)),
                       throttle=PreviewThrottle(max_share=0.999))  # every step
    _render(pipe, face_inputs, n=28, num_inference_steps=2, plan=WindowPlan(28, schedule="stream"), preview=sink)
    windows = WindowPlan(28, schedule="stream").windows()
    assert [step for step, _, _ in got] == list(range(2 * len(windows)))
    assert got[0][1] == tuple(windows[0]) and got[0][2] == (16, 8, 8, 3)  # latent resolution
    second = got[2][1]
    assert second == tuple(f for f in windows[1] if f not in windows[0])  # held (final) frames left out


def test_torch_compile_without_a_compiler_renders_eagerly_and_says_why(pipe, face_inputs):
    import torch._inductor.config as inductor

    eager = _render(pipe, face_inputs, n=4)
    torch._dynamo.reset()  # compiled code from other tests in this process would not need the compiler
    pipe.configure(RunOptions(torch_compile=True))
    with inductor.patch({"cpp.cxx": ("/nonexistent/c++",), "fx_graph_cache": False}):
        got = _render(pipe, face_inputs, n=4)
    assert pipe.compiled is not None and "/nonexistent/c++" in pipe.compiled.failure
    np.testing.assert_array_equal(got.video, eager.video)
    said = pipe.compile_news()
    assert len(said) == 1 and said[0].startswith("torch.compile failed, rendering uncompiled (UNet: ")
    assert pipe.compile_news() == []  # said once
    pipe.configure(RunOptions())
    assert pipe.compiled is None
