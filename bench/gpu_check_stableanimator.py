"""StableAnimator on a CUDA GPU, for ``bench/gpu_check.py --backend stableanimator``.

* ``goldens``: both basic golden cases (tests/fixtures/stableanimator_tiny, the official
  ``inference_basic.py`` on tiny random weights) on the device in float32, every recorded array
  against the official one at the case's tolerance (10x the floor measured on the official code);
  float16 (the GPU default) against that float32 run, largest difference per array;
* ``render``: the full-size models with random weights (no files needed), 16 frames at 512x512 in
  float16, with every model resident and with model offload: the peak CUDA allocation of what the
  memory model traces (prepare, one step over every tile, one decode chunk) beside
  ``bench/vram_model.py --backend stableanimator``'s prediction on the meta device, and the time of
  a whole render (``render_steps`` steps);
* ``compile``: ``torch_compile`` (Triton on CUDA): golden case a compiled in float32 against the
  official arrays and the eager run, and the full-size 16x512x512 float16 render compiled: the
  first call's time (compiling included), a second call's beside the eager one, and how far its
  frames are from the eager frames.

``dry_run``: the same code on the CPU, the tiny release instead of the full-size models (memory by
the allocation trace, as the prediction), 64x64 and one step; the compiled render is the golden case
(inductor's C++ kernels; 90-140 s of compiling from an empty inductor cache on a 2-core CPU).
"""

from __future__ import annotations

import functools
import importlib.util
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "stableanimator_tiny"
CASES = ("a_tiles_20f", "b_odd_14f")
#: Arrays reported in the summary (every recorded array is compared).
SHOWN = ("id_tokens", "pose_features", "unet_step0_outputs", "step_latents_out", "decoded")
GiB = 2**30


@functools.cache
def _golden():
    """The golden-case helpers of tests/stableanimator/conftest.py (inputs, expected arrays, the tiny release)."""
    spec = importlib.util.spec_from_file_location("sa_golden", ROOT / "tests" / "stableanimator" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _arrays(result) -> dict[str, np.ndarray]:
    got = {k: v.detach().float().cpu().numpy() for k, v in result.intermediates.items()}
    got["decoded"] = result.decoded.float().cpu().permute(1, 0, 2, 3)[None].numpy()
    return got


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_goldens(device: torch.device, low_precisions: list[str], release: Path) -> dict:
    """Both cases in float32 against the official arrays; each lower precision against float32."""
    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    g = _golden()
    out: dict = {}
    for name in CASES:
        exp, tol = g.case_expected(name), g.case_spec(name)["tolerance"]
        req = g.case_request(name, draws={"noise_aug": exp["noise_aug_noise"], "init_noise": exp["init_noise"]})
        start = time.perf_counter()
        ref = _arrays(StableAnimatorPipeline(load_components(release), device=device)(req, keep=True))
        diffs = {k: float(np.abs(v.astype(np.float64) - exp[k]).max()) for k, v in ref.items()
                 if k in exp and v.shape == exp[k].shape}
        failed = [f"{k}: {d:.2e} > {tol[k]:.1e}" for k, d in diffs.items() if k in tol and not d <= tol[k]]
        failed += [f"{k}: shape {ref[k].shape}, official {exp[k].shape}" for k in ref
                   if k in exp and ref[k].shape != exp[k].shape]
        entry = {"float32_passed": not failed and bool(diffs), "float32_failures": failed,
                 "float32_max_diff": {k: diffs[k] for k in SHOWN if k in diffs},
                 "float32_seconds": round(time.perf_counter() - start, 2)}
        for dtype in low_precisions:
            start = time.perf_counter()
            pipe = StableAnimatorPipeline(load_components(release), device=device, dtype=getattr(torch, dtype))
            low = _arrays(pipe(req, keep=True))
            entry[f"{dtype}_max_diff_from_float32"] = {
                k: float(np.abs(low[k].astype(np.float64) - ref[k]).max()) for k in SHOWN if k in low and k in ref}
            entry[f"{dtype}_seconds"] = round(time.perf_counter() - start, 2)
        out[name] = entry
    out["all_float32_passed"] = all(v["float32_passed"] for v in out.values() if isinstance(v, dict))
    return out


def _random_full_size(device: torch.device):
    """Components at SVD-xt's full size with random weights made on ``device``."""
    import vram_model_stableanimator as vm
    from random_weights import randomise_parameters

    c = vm.full_size_components()
    for model in (c.unet, c.vae, c.image_encoder, c.pose_net, c.face_encoder):
        randomise_parameters(model, device)
    return c


def _request(frames: int, height: int, width: int, steps: int):
    from studio.backends.stableanimator.pipeline import RenderRequest

    rng = np.random.default_rng(0)
    return RenderRequest(reference=rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
                         poses=rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8),
                         face_embedding=rng.standard_normal(512).astype(np.float32), steps=steps, seed=0)


def check_render(device: torch.device, dry_run: bool, release: Path) -> dict:
    """Peak memory of the traced part of a render (resident and offload) against the memory model,
    and the time of a whole render."""
    import vram_model_stableanimator as vm

    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    frames, (height, width) = 16, ((64, 64) if dry_run else (512, 512))
    dtype = torch.float32 if dry_run else torch.float16
    steps = 1 if dry_run else 25
    comps = load_components(release) if dry_run else _random_full_size(device)
    out: dict = {"size": f"{width}x{height}", "frames": frames, "dtype": str(dtype).removeprefix("torch.")}
    for offload in (False, True):
        if dry_run:  # the prediction: the same models on the meta device
            meta_c = replace(comps, **{k: _meta(getattr(comps, k)) for k in
                                        ("unet", "vae", "image_encoder", "pose_net", "face_encoder")})
            meta = StableAnimatorPipeline(meta_c, device="meta", dtype=dtype, offload=offload)
            meta.scheduler_device = torch.device("cpu")
        else:
            meta = vm.full_size_pipeline(offload=offload)
        predicted = vm.measure(meta, frames, height, width)
        pipe = StableAnimatorPipeline(comps, device=device, dtype=dtype, offload=offload)
        if device.type == "cuda":
            vm.measure(pipe, frames, height, width)  # kernels, cuDNN autotuning, the allocator's pools
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
            traced = vm.measure(pipe, frames, height, width)
            peak, how = torch.cuda.max_memory_allocated(device), "torch.cuda.max_memory_allocated"
        else:
            traced = vm.measure(pipe, frames, height, width)
            peak, how = traced["peak_gib"] * GiB, "allocation trace (CPU dry run)"
        setting = "offload" if offload else "resident"
        _sync(device)
        start = time.perf_counter()
        result = pipe(_request(frames, height, width, steps))
        _sync(device)
        seconds = time.perf_counter() - start
        pipe.placement.release()
        out[setting] = {
            "peak_allocated_gib": round(peak / GiB, 3), "measured_with": how,
            "vram_model_predicted_gib": round(predicted["peak_gib"], 3),
            "vram_model_phases_gib": {k: round(v, 3) for k, v in predicted["phases_gib"].items()},
            "prediction_error": round(predicted["peak_gib"] * GiB / peak - 1.0, 4) if peak else None,
            "render_steps": steps, "render_seconds": round(seconds, 2),
            "finite": bool(np.isfinite(result.frames).all()),
        }
        del pipe, result
        if device.type == "cuda":
            torch.cuda.empty_cache()
    out["goal_gib"] = vm.TARGET_GIB
    return out


def _timed(pipe, req):
    _sync(pipe.device)
    start = time.perf_counter()
    result = pipe(req)
    _sync(pipe.device)
    return result, time.perf_counter() - start


def check_compiled(device: torch.device, dry_run: bool, release: Path) -> dict:
    """Golden case a with ``torch_compile`` against the official arrays and eager; on CUDA also the
    full-size render compiled: compile time, steady time beside eager, frame difference."""
    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    g, name = _golden(), CASES[0]
    exp, tol = g.case_expected(name), g.case_spec(name)["tolerance"]
    req = g.case_request(name, draws={"noise_aug": exp["noise_aug_noise"], "init_noise": exp["init_noise"]})
    eager = _arrays(StableAnimatorPipeline(load_components(release), device=device)(req, keep=True))
    pipe = StableAnimatorPipeline(load_components(release), device=device, compile=True)
    start = time.perf_counter()
    got = _arrays(pipe(req, keep=True))
    out: dict = {"golden_first_call_seconds": round(time.perf_counter() - start, 2),
                 "compile_failure": pipe.compiled.failure}
    diffs = {k: float(np.abs(got[k].astype(np.float64) - exp[k]).max()) for k in SHOWN if k in got and k in exp}
    out["golden_passed"] = pipe.compiled.failure is None and all(d <= tol[k] for k, d in diffs.items())
    out["golden_max_diff"] = diffs
    out["golden_max_diff_from_eager"] = {k: float(np.abs(got[k] - eager[k]).max()) for k in SHOWN if k in got}
    if dry_run:
        return out
    frames, size, steps = 16, 512, 25
    comps = _random_full_size(device)
    request = _request(frames, size, size, steps)
    plain = StableAnimatorPipeline(comps, device=device, dtype=torch.float16)
    _timed(plain, request)  # warm-up (kernels, cuDNN autotuning, the allocator), as the compiled side gets
    ref, eager_s = _timed(plain, request)
    plain.set_compile(True)  # the same models, compiled
    _, first_s = _timed(plain, request)
    result, compiled_s = _timed(plain, request)
    out["render"] = {"size": f"{size}x{size}", "frames": frames, "steps": steps, "dtype": "float16",
                     "compile_failure": plain.compiled.failure, "eager_seconds": round(eager_s, 2),
                     "compiled_first_call_seconds": round(first_s, 2), "compiled_seconds": round(compiled_s, 2),
                     "compiled_over_eager": round(compiled_s / eager_s, 3),
                     "frames_max_diff_from_eager": float(np.abs(result.frames - ref.frames).max())}
    return out


def _meta(module):
    import copy

    return copy.deepcopy(module).to("meta")


def run(device: torch.device, dry_run: bool, skip: set[str]) -> dict:
    """The StableAnimator part of the GPU check's summary."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        release = Path(tmp) / "release"
        golden = _golden()
        digests = golden.write_tiny_release(release)
        out["tiny_release_matches_the_official_runs"] = digests == golden.release_spec()["digests"]
        with torch.no_grad():
            if "goldens" not in skip:
                out["goldens"] = check_goldens(device, [] if dry_run else ["float16"], release)
            if "step" not in skip:
                out["render"] = check_render(device, dry_run, release)
            if "compile" not in skip:
                out["compile"] = check_compiled(device, dry_run, release)
    return out
