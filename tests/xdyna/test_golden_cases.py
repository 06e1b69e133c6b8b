"""The whole pipeline against the official X-Dyna runs recorded in tests/fixtures/xdyna_tiny.

Every array ``run_case`` returns that has a golden counterpart is compared with the tolerances
of the fixture's ``compare_case.py`` (video 1e-3, latents 5e-3, fused eps 3e-3, ...), and the
windows must be equal. Running a case twice must give the same bytes.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

pytest.importorskip("torch")

from studio.backends.xdyna.golden import run_case  # noqa: E402

CASES = ["a_pose_16f", "b_sface_28f"]
MUST_HAVE = ("video", "final_latents", "step_eps_fused", "latents_init", "ref_latent", "ip_tokens_cond",
             "ip_tokens_uncond", "text_embeds_cond", "unet_window_outputs", "step_latents_in", "step_latents_out")


def _tolerance(root):
    spec = importlib.util.spec_from_file_location("compare_case", root / "compare_case.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tol_for


@pytest.fixture(scope="module")
def results(tiny):
    return {name: run_case(tiny.dir(name)) for name in CASES}


@pytest.mark.parametrize("name", CASES)
def test_case_matches_official(results, tiny, name):
    _check_case(tiny, name, results[name])


@pytest.mark.parametrize("name", CASES)
def test_case_matches_official_with_every_memory_option_on(tiny, name):
    """Low VRAM (placement, sequential CFG halves), channels-last, feed-forwards in 7-token chunks
    (the tiny models have far fewer tokens than the default chunk), the residual cache: in fp32 the
    goldens still pass with the same tolerances."""
    from studio.backends.xdyna.pipeline import RunOptions

    options = RunOptions(low_vram=True, sequential_cfg=True, channels_last=True, ff_chunk_tokens=7)
    _check_case(tiny, name, run_case(tiny.dir(name), options=options))


def _check_case(tiny, name, got):
    tol_for = _tolerance(tiny.root)
    expected_dir = tiny.dir(name) / "expected"
    for key in MUST_HAVE:
        assert key in got, f"run_case does not return {key}"
    compared = 0
    for path in sorted(expected_dir.glob("*.npy")):
        stem = path.stem
        assert stem in got, f"{name}: run_case does not return {stem}"
        exp = np.load(path)
        val = np.asarray(got[stem])
        assert val.shape == exp.shape, f"{name}/{stem}: shape {val.shape} != {exp.shape}"
        err = float(np.abs(val.astype(np.float64) - exp).max())
        assert err <= tol_for(path.name), f"{name}/{stem}: max |diff| {err:.3e} > {tol_for(path.name):.1e}"
        compared += 1
    assert compared >= 25
    assert got["windows.json"] == json.loads((expected_dir / "windows.json").read_text())


def test_same_case_twice_gives_identical_bytes(results, tiny):
    again = run_case(tiny.dir("a_pose_16f"))
    first = results["a_pose_16f"]
    for key in ("video", "final_latents", "step_eps_fused", "unet_window_outputs"):
        assert np.asarray(again[key]).tobytes() == np.asarray(first[key]).tobytes(), key


def test_fused_eps_to_latents_is_the_ddim_update(tiny):
    """DDIM alone: the golden fused eps and latents_in give the golden latents_out."""
    import torch

    from studio.backends.xdyna.sampler import DDIMSchedule

    for name in CASES:
        exp = tiny.dir(name) / "expected"
        eps = torch.from_numpy(np.load(exp / "step_eps_fused.npy"))
        x_in = torch.from_numpy(np.load(exp / "step_latents_in.npy"))
        x_out = np.load(exp / "step_latents_out.npy")
        sched = DDIMSchedule()
        steps = eps.shape[0]
        ours = np.stack([sched.step(eps[i], t, x_in[i], steps)[0].numpy()
                         for i, t in enumerate(sched.timesteps(steps))])
        assert np.abs(ours - x_out).max() < 5e-5
