"""The meta-device memory model (bench/vram_model.py, studio.backends.xdyna.memtrace) is checked
against real CPU allocations of a small X-Dyna, and its building blocks on their own."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.memtrace import MemoryTrace  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_trace_counts_new_storages_once_and_frees_them():
    trace = MemoryTrace(device="cpu")
    weight = torch.ones(1000)  # made before the trace: not counted, nor are its views
    with trace:
        a = torch.zeros(256)  # 1 KiB
        view = a.view(16, 16)
        a.add_(1)
        w = weight.view(10, 100).t()
        assert trace.live_bytes == 1024
        b = a * 2
        assert trace.live_bytes == 2048
        del a, view, b, w
        assert trace.live_bytes == 0
    assert trace.peak == 2048


def test_fused_attention_is_counted_without_its_score_matrix():
    q = torch.empty(1, 8, 4096, 40, device="meta", dtype=torch.float16)
    trace = MemoryTrace(device="meta")
    with trace:
        out = torch.nn.functional.scaled_dot_product_attention(q, q, q)
    score_matrix = 8 * 4096 * 4096 * 2
    assert out.shape == q.shape
    # output (2.6 MB) + float32 log-sum-exp (128 KiB), nothing like the 268 MB score matrix
    assert trace.peak == q.numel() * 2 + 8 * 4096 * 4
    assert trace.peak < score_matrix / 50


def test_weights_and_phases_are_reported():
    trace = MemoryTrace(weights=lambda: 10_000, device="cpu")
    with trace:
        with trace.phase("a"):
            x = torch.zeros(100)
        with trace.phase("b"):
            y = torch.zeros(1000)
        del x, y
    assert trace.peaks["a"] == 10_400
    assert trace.peaks["b"] == 14_400
    assert trace.peak == 14_400


@pytest.fixture(scope="module")
def small_components():
    bench = _load("xdyna_bench")
    return bench.random_components(seed=0)


@pytest.mark.slow  # 11 s: a real 16x16-latent run (smaller latents leave the weights above the activations);
# the tracer's own tests here and DynamiCtrl's meta-vs-real run by default, CI's slow call runs this one
def test_meta_prediction_matches_real_cpu_allocations_within_10_percent(small_components):
    """The memory model's method on a small X-Dyna: traced on the meta device (the prediction)
    and run for real on the CPU (measured with the same trace), phase by phase."""
    from studio.backends.xdyna.pipeline import XDynaPipeline

    vram = _load("vram_model")
    frames, size = 20, 128  # two wrap-around windows (residual cache in use), 16x16 latents
    meta_components = copy.deepcopy(small_components)
    for name in ("unet", "controlnet", "controlnet_face", "vae", "text_encoder", "image_encoder", "image_proj"):
        getattr(meta_components, name).to("meta")
    for setting in ("default", "low-VRAM"):
        real = vram.measure(XDynaPipeline(small_components, device="cpu", dtype="float32"), frames, size, size, setting)
        predicted = vram.measure(XDynaPipeline(meta_components, device="meta", dtype="float32"), frames, size, size,
                                 setting)
        assert real.peak > 0 and real.phases["unet"] > real.phases["weights"]
        assert real.phases["cache"] > 0  # the wrap-around frames were cached between windows
        for phase in ("encode", "controlnet", "unet", "decode", "cache"):
            r, p = real.phases[phase], predicted.phases[phase]
            assert abs(p - r) <= 0.10 * r, f"{setting} {phase}: predicted {p} bytes, measured {r}"
        assert abs(predicted.peak - real.peak) <= 0.10 * real.peak


def test_low_vram_keeps_only_the_unet_resident_while_it_runs(small_components):
    from studio.backends.xdyna.pipeline import RunOptions, XDynaPipeline

    pipe = XDynaPipeline(small_components, device="cpu", dtype="float32")
    pipe.configure(RunOptions(low_vram=True))
    assert pipe.placement.on_device == {"unet"}
    with pipe.placement.phase("controlnet"):
        assert pipe.placement.on_device == {"unet", "controlnet", "controlnet_face"}
    pipe.configure(RunOptions())
    assert pipe.placement.on_device == {"unet", "controlnet", "controlnet_face", "vae"}
    with pipe.placement.phase("encode"):
        assert {"text_encoder", "image_encoder", "image_proj"} <= pipe.placement.on_device
    pipe.placement.enter("unet")
    assert not {"text_encoder", "image_encoder", "image_proj"} & pipe.placement.on_device
