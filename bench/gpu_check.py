"""One script for the day a GPU is available: every diffusion backend's correctness, speed and
memory on CUDA.

Prints one JSON summary (and writes it with ``--json FILE``), one section per backend
(``--backend``, default all):

``xdyna``:

* ``goldens``: every shipped golden case (tests/fixtures/xdyna_tiny) on CUDA in float32, compared
  with the official outputs using the fixture's tolerances, and in float16 and bfloat16 with the
  largest difference of each compared array from the float32 run;
* ``step``: the full-size models with random weights (no files needed): one 17-frame window step
  at 896x512 with CFG and both ControlNets in float16 -- seconds per step,
  ``torch.cuda.max_memory_allocated`` and the ``bench/vram_model.py`` prediction beside it;
* ``stream``: a 48-frame stream-schedule render at 512x320 (width x height, 25 steps): seconds to
  the first final frames and in total.

``stableanimator`` (bench/gpu_check_stableanimator.py): both golden cases on CUDA in float32 against
the official arrays and in float16 against that; the full-size models at 16x512x512 float16, every
model resident and with model offload, the peak allocation beside the memory model's prediction
(goal <= 8 GiB) and a whole 25-step render's time; with ``torch_compile``, golden case a against the
official arrays and the full-size render's compile time and speed beside eager (``compile``).

``dynamictrl`` (bench/gpu_check_dynamictrl.py): both golden cases on CUDA in float32 against the
official arrays and in bfloat16 against that; the full-size transformer and VAE at 768x1360 and 37
frames in bfloat16 under each offload profile, the peak allocation of one step and the decode beside
the memory model's prediction (goals 24 / 12 / 6 GiB).

Without CUDA it says so and exits with code 2. ``--dry-run`` runs the same code on the CPU with
the tiny golden-case weights, small sizes and one step (memory then measured with the allocation
trace instead of the CUDA allocator, in a second run so the trace does not slow the timed one);
the test suite runs it. On one H100-class GPU the real run is
meant to take a few minutes (under 10).

    python bench/gpu_check.py [--dry-run] [--json out.json] [--backend xdyna stableanimator dynamictrl]
                              [--skip goldens step stream compile]

The exit code is 1 when a golden case fails in float32.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from studio.backends.xdyna.memtrace import GiB, MemoryTrace  # noqa: E402
from studio.core.windows import WindowPlan  # noqa: E402

# The pipeline (diffusers, transformers: 1.4 s) is imported where a check runs, so that a machine
# without CUDA hears so at once (3.8 -> 1.3 s).

FIXTURES = ROOT / "tests" / "fixtures" / "xdyna_tiny"
#: Arrays compared in the golden section (the others are intermediate and follow from these).
COMPARED = ("video", "final_latents", "step_eps_fused", "unet_window_outputs", "ref_latent", "ip_tokens_cond")


class Config:
    """Sizes of a run: the real one on CUDA, or the small CPU dry run."""

    def __init__(self, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.device = torch.device("cpu" if dry_run else "cuda")
        self.cases = ["a_pose_16f"] if dry_run else sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
        self.low_precisions = ["bfloat16"] if dry_run else ["float16", "bfloat16"]
        self.step_size = (64, 64) if dry_run else (896, 512)  # (height, width)
        self.step_dtype = "float32" if dry_run else "float16"
        self.timed_steps = 1 if dry_run else 3
        self.stream_size = (64, 64) if dry_run else (320, 512)
        self.stream_frames = 48
        self.stream_steps = 1 if dry_run else 25


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _tolerance():
    spec = importlib.util.spec_from_file_location("compare_case", FIXTURES / "compare_case.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.tol_for


def check_goldens(cfg: Config) -> dict:
    """(a) golden cases in float32 against the official outputs; lower precisions against float32."""
    from studio.backends.xdyna.golden import run_case

    tol_for = _tolerance()
    out: dict = {}
    for name in cfg.cases:
        case = FIXTURES / name
        start = time.perf_counter()
        ref = run_case(case, device=str(cfg.device), dtype="float32")
        worst, failed = {}, []
        for path in sorted((case / "expected").glob("*.npy")):
            if path.stem not in ref:
                failed.append(f"{path.stem}: not returned")
                continue
            err = float(np.abs(np.asarray(ref[path.stem], np.float64) - np.load(path)).max())
            worst[path.stem] = err
            if err > tol_for(path.name):
                failed.append(f"{path.stem}: {err:.2e} > {tol_for(path.name):.0e}")
        windows_ok = ref["windows.json"] == json.loads((case / "expected" / "windows.json").read_text())
        entry = {
            "float32_passed": not failed and windows_ok,
            "float32_failures": failed + ([] if windows_ok else ["windows.json differs"]),
            "float32_max_diff": {k: worst[k] for k in COMPARED if k in worst},
            "float32_seconds": round(time.perf_counter() - start, 2),
        }
        for dtype in cfg.low_precisions:
            start = time.perf_counter()
            low = run_case(case, device=str(cfg.device), dtype=dtype)
            entry[f"{dtype}_max_diff_from_float32"] = {
                k: float(np.abs(np.asarray(low[k], np.float64) - np.asarray(ref[k], np.float64)).max())
                for k in COMPARED if k in low and k in ref
            }
            entry[f"{dtype}_seconds"] = round(time.perf_counter() - start, 2)
        out[name] = entry
    out["all_float32_passed"] = all(v["float32_passed"] for v in out.values() if isinstance(v, dict))
    return out


def _components(cfg: Config):
    """Random-weight models: full size on CUDA, the tiny golden-case weights in the dry run."""
    import vram_model

    if cfg.dry_run:
        from studio.backends.xdyna.components import load_components
        from studio.backends.xdyna.layout import resolve

        case = FIXTURES / "b_sface_28f"
        spec = json.loads((case / "case.json").read_text())["weights"]
        return load_components(resolve(case / "weights"), True, spec["resampler_kwargs"])
    torch.manual_seed(0)
    return vram_model.full_size_components(device=cfg.device)


def _meta_copy(cfg: Config, components):
    """The same models with empty weights, for the memory model."""
    import copy

    import vram_model

    if not cfg.dry_run:
        return vram_model.full_size_components("meta")
    meta = copy.copy(components)
    for name in ("unet", "controlnet", "controlnet_face", "vae", "text_encoder", "image_encoder", "image_proj"):
        module = getattr(components, name)
        setattr(meta, name, copy.deepcopy(module).to("meta") if module is not None else None)
    return meta


def _inputs(frames: int, height: int, width: int):
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    pose = rng.integers(0, 256, (frames, height, width, 3), dtype=np.uint8)
    return reference, pose


@contextlib.contextmanager
def _peak_memory(pipe: XDynaPipeline):
    """Yields a dict whose ``peak`` is set on exit: CUDA's max allocated, or the allocation trace."""
    result: dict = {}
    if pipe.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(pipe.device)
        yield result
        result["peak"] = torch.cuda.max_memory_allocated(pipe.device)
        result["how"] = "torch.cuda.max_memory_allocated"
    else:
        trace = MemoryTrace(weights=lambda: pipe.placement.device_bytes, device=pipe.device)
        with trace:
            yield result
        result["peak"] = trace.peak
        result["how"] = "allocation trace (CPU dry run)"


def check_step(cfg: Config, components) -> dict:
    """(b) one 17-frame window step with CFG and both ControlNets; time, peak memory, prediction."""
    import vram_model

    from studio.backends.xdyna.denoise import denoise_windows
    from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline

    height, width = cfg.step_size
    start = time.perf_counter()
    predicted = vram_model.measure(XDynaPipeline(_meta_copy(cfg, components), device="meta", dtype=cfg.step_dtype),
                                   16, height, width, "default")
    predict_seconds = time.perf_counter() - start
    pipe = XDynaPipeline(components, device=cfg.device, dtype=cfg.step_dtype)
    reference, pose = _inputs(16, height, width)
    with torch.no_grad():
        prep = pipe.prepare(XDynaCall(reference, pose, pose, pose, num_inference_steps=1, seed=0,
                                      plan=WindowPlan(16), use_face=True))
        den = prep.denoiser
        if pipe.device.type == "cuda":  # kernels, cuDNN autotuning, allocator
            denoise_windows(den, prep.latents, prep.plan, prep.draws.window_offsets, 1)
        _sync(pipe.device)
        start = time.perf_counter()
        for _ in range(cfg.timed_steps):
            denoise_windows(den, prep.latents, prep.plan, prep.draws.window_offsets, 1)
        _sync(pipe.device)
        seconds = (time.perf_counter() - start) / cfg.timed_steps
        del prep, den
        with _peak_memory(pipe) as mem:  # what vram_model.measure traces: prepare, one step, one decode
            prep = pipe.prepare(XDynaCall(reference, pose, pose, pose, num_inference_steps=1, seed=0,
                                          plan=WindowPlan(16), use_face=True))
            final = denoise_windows(prep.denoiser, prep.latents, prep.plan, prep.draws.window_offsets, 1)
            with pipe.placement.phase("decode"):
                pipe.decode_frame(final[:, :, 0])
            _sync(pipe.device)
    return {
        "size": f"{width}x{height}", "frames": 17, "cfg": True, "controlnets": ["pose", "s-face"],
        "dtype": cfg.step_dtype, "seconds_per_step": round(seconds, 4),
        "peak_allocated_gib": round(mem["peak"] / GiB, 3), "measured_with": mem["how"],
        "vram_model_predicted_gib": round(predicted.gib("peak"), 3),
        "vram_model_phases_gib": {k: round(predicted.gib(k), 3) for k in vram_model.PHASES},
        "prediction_error": round(predicted.peak / mem["peak"] - 1.0, 4) if mem["peak"] else None,
        "vram_model_seconds": round(predict_seconds, 1),
    }


def check_stream(cfg: Config, components) -> dict:
    """(c) a 48-frame stream render: time to the first final frames and in total."""
    from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline

    height, width = cfg.stream_size
    dtype = "float32" if cfg.dry_run else "float16"
    pipe = XDynaPipeline(components, device=cfg.device, dtype=dtype)
    reference, pose = _inputs(cfg.stream_frames, height, width)
    firsts: list[float] = []
    _sync(pipe.device)
    start = time.perf_counter()

    def on_window(done) -> None:
        if not firsts:
            firsts.append(time.perf_counter() - start)
            firsts.append(len(done.frames))

    out = pipe(XDynaCall(reference, pose, pose, pose, num_inference_steps=cfg.stream_steps, seed=0, use_face=True,
                         plan=WindowPlan(cfg.stream_frames, schedule="stream"), window_callback=on_window))
    _sync(pipe.device)
    total = time.perf_counter() - start
    return {
        "size": f"{width}x{height}", "frames": cfg.stream_frames, "steps": cfg.stream_steps, "dtype": dtype,
        "seconds_to_first_frames": round(firsts[0], 3), "first_frames": int(firsts[1]),
        "seconds_total": round(total, 3), "unet_calls": out.counts.unet_calls,
        "finite": bool(np.isfinite(out.video).all()),
    }


def run_xdyna(cfg: Config, skip: set[str]) -> dict:
    """The X-Dyna section: goldens, one full-size step, a stream render."""
    out: dict = {}
    if "goldens" not in skip:
        out["goldens"] = check_goldens(cfg)
    components = _components(cfg) if {"step", "stream"} - skip else None
    if "step" not in skip:
        out["step"] = check_step(cfg, components)
    if "stream" not in skip:
        out["stream"] = check_stream(cfg, components)
    return out


BACKENDS = ("xdyna", "stableanimator", "dynamictrl")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dry-run", action="store_true", help="same code on the CPU with small random models")
    ap.add_argument("--json", type=Path, help="also write the summary here")
    ap.add_argument("--backend", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    ap.add_argument("--skip", nargs="*", default=[], choices=["goldens", "step", "stream", "compile"])
    args = ap.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print(json.dumps({"error": "no CUDA GPU: torch.cuda.is_available() is False. Install the CUDA build of "
                                   "torch and run this on a machine with an NVIDIA GPU, or use --dry-run."}))
        return 2
    cfg = Config(args.dry_run)
    if cfg.dry_run:
        torch.set_num_threads(1)  # tiny ops: one thread is faster than contended OpenMP on a busy CPU
    summary: dict = {"dry_run": cfg.dry_run, "device": str(cfg.device), "torch": torch.__version__}
    if cfg.device.type == "cuda":
        props = torch.cuda.get_device_properties(cfg.device)
        summary["gpu"] = {"name": props.name, "vram_gib": round(props.total_memory / GiB, 2),
                          "compute_capability": f"{props.major}.{props.minor}",
                          "bf16": torch.cuda.is_bf16_supported()}
    else:
        summary["load_average"] = round(os.getloadavg()[0], 2)
    start = time.perf_counter()
    skip = set(args.skip)
    for name in BACKENDS:
        if name not in args.backend:
            continue
        begun = time.perf_counter()
        with torch.no_grad():
            if name == "xdyna":
                section = run_xdyna(cfg, skip)
            else:
                section = importlib.import_module(f"gpu_check_{name}").run(cfg.device, cfg.dry_run, skip)
        section["seconds"] = round(time.perf_counter() - begun, 1)
        summary[name] = section
    summary["seconds"] = round(time.perf_counter() - start, 1)
    text = json.dumps(summary, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text)
    ok = all(summary[n].get("goldens", {}).get("all_float32_passed", True) for n in args.backend)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
