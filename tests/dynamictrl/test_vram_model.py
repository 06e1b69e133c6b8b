"""The DynamiCtrl GPU-memory model (bench/vram_model_dynamictrl.py) on a tiny DynamiCtrl: its
meta-device trace against the same code's real CPU allocations, its weight accounting against
what :class:`~studio.backends.dynamictrl.placement.Placement` really keeps on the device, and
its ``--check`` exit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from studio.backends.dynamictrl.loading import load_pipeline  # noqa: E402
from studio.backends.dynamictrl.placement import LOW_MEMORY, Placement  # noqa: E402

from tests.dynamictrl.conftest import CASES, RELEASE  # noqa: E402

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_vram_model_dynamictrl", BENCH / "vram_model_dynamictrl.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _tiny(bench, device: str):
    """The golden cases' tiny configs built on ``device`` (random weights on the CPU)."""
    from synthetic_releases.dynamictrl import TINY_T5, TINY_TRANSFORMER, TINY_VAE

    torch.manual_seed(0)
    return bench.build_pipeline(TINY_TRANSFORMER, TINY_VAE, dict(TINY_T5, vocab_size=128), device, torch.float32)


@pytest.mark.parametrize("offload", list(LOW_MEMORY))
def test_meta_trace_matches_real_cpu_allocations(bench, offload):
    """The method: the same pass traced on the meta device (the prediction) and run for real
    on the CPU (measured by the same trace), phase by phase, under each profile's pieces."""
    real = bench.trace_phases(*_tiny(bench, "cpu"), 13, 48, 64, offload, tiling=True, steps=2)
    predicted = bench.trace_phases(*_tiny(bench, "meta"), 13, 48, 64, offload, tiling=True, steps=2)
    assert set(real) == set(bench.PHASES) and all(real[p] > 0 for p in bench.PHASES)
    for phase in bench.PHASES:
        assert abs(predicted[phase] - real[phase]) <= 0.10 * real[phase], (phase, predicted[phase], real[phase])


@pytest.mark.parametrize(("offload", "cpu_text_encoder"),
                         [(o, c) for o in LOW_MEMORY for c in (True, False)])
def test_weight_accounting_is_what_placement_keeps_on_the_device(bench, cases, offload, cpu_text_encoder):
    """Per phase, the most weight bytes on the device while any layer runs (read from
    ``Placement.on_device`` in a hook on every leaf module) equal the model's ``resident``."""
    pipe = load_pipeline(RELEASE)
    placement = Placement(pipe, "cpu", offload, cpu_text_encoder)
    seen = dict.fromkeys(bench.PHASES, 0)

    def watch(phase: str):
        def hook(module, args):
            seen[phase] = max(seen[phase], placement.device_bytes)
        return hook

    for phase, model in [("text", pipe.text_encoder), ("encode", pipe.vae.encoder), ("decode", pipe.vae.decoder),
                         ("denoise", pipe.transformer)]:
        for leaf in model.modules():
            if next(leaf.children(), None) is None:
                leaf.register_forward_pre_hook(watch(phase))
    case = cases[CASES[0]]
    pipe(case.reference(), case.poses(), case.call["prompt"], "", steps=1, guidance=3.0)
    w = bench.weight_bytes(pipe, pipe.text_encoder)
    assert seen == {p: bench.resident(w, offload, not cpu_text_encoder, p) for p in bench.PHASES}
    # between phases: all resident (none), nothing (model), the transformer's non-block parts (sequential)
    after = {"none": w["transformer"] + w["vae"], "model": 0, "sequential": w["transformer rest"]}[offload]
    assert placement.device_bytes == after


def test_check_exits_1_when_a_goal_is_missed(bench, monkeypatch, capsys):
    tiny = _tiny(bench, "meta")
    args = ["--size", "64x48", "--frames", "13", "--steps", "1", "--tiling", "on", "--check"]
    assert bench.main(args, pipeline=tiny) == 0
    out = capsys.readouterr().out
    for profile in LOW_MEMORY:
        assert f"| {profile} | CPU | on |" in out and f"| {profile} | GPU | on |" in out
    assert "MISSED" not in out
    monkeypatch.setitem(bench.TARGETS_GIB, "model", 0.0)
    assert bench.main(args, pipeline=tiny) == 1
    assert "MISSED: model" in capsys.readouterr().out
