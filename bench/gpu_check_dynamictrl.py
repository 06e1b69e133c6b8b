"""DynamiCtrl on a CUDA GPU, for ``bench/gpu_check.py --backend dynamictrl``.

* ``goldens``: both golden cases (tests/fixtures/dynamictrl_tiny, the official pipeline on tiny
  random weights) end to end on the device in float32 (draws from the same seeded CPU generator),
  every recorded array against the official one at the case's tolerance (10x the measured noise
  floor); bfloat16 (the GPU default) against that float32 run;
* ``offload``: the release-size transformer and VAE with random weights (no files needed) at
  768x1360 (WxH) and 37 frames in bfloat16, placed by each offload profile as a render places them
  (T5 on the CPU, the default: random text states stand in for it), one pass of one denoising step
  and the decode: the peak CUDA allocation beside ``bench/vram_model.py --backend dynamictrl``'s
  prediction for the same pass (goals 24 / 12 / 6 GiB for none / model / sequential).

``dry_run``: the same code on the CPU with the tiny release, 64x48 and 13 frames (memory by the
allocation trace, as the prediction).
"""

from __future__ import annotations

import copy
import importlib
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
#: Arrays compared (each with the case's tolerance) and reported.
COMPARED = ("image_latents", "pose_latents", "latents_init", "step_latents", "decoded")
GiB = 2**30


def check_goldens(device: torch.device, low_precisions: list[str]) -> dict:
    """Both cases end to end in float32 against the official arrays; lower precisions against float32."""
    from studio.backends.dynamictrl.loading import load_pipeline

    golden = importlib.import_module("tests.dynamictrl.test_golden_cases")  # its _run records every array
    cases = importlib.import_module("tests.dynamictrl.conftest")
    out: dict = {}
    for name in cases.CASES:
        case = cases.Case(name)
        start = time.perf_counter()
        rec = golden._run(load_pipeline(cases.RELEASE, str(device), torch.float32), case)
        got = {k: rec[k].float().cpu().numpy() for k in COMPARED}
        diffs, failed = {}, []
        for key, value in got.items():
            ref = case.expected(key)
            if value.shape != ref.shape:
                failed.append(f"{key}: shape {value.shape}, official {ref.shape}")
                continue
            diffs[key] = float(np.abs(value.astype(np.float64) - ref).max())
            if not diffs[key] <= case.atol[key]:
                failed.append(f"{key}: {diffs[key]:.2e} > {case.atol[key]:.1e}")
        entry = {"float32_passed": not failed, "float32_failures": failed, "float32_max_diff": diffs,
                 "float32_seconds": round(time.perf_counter() - start, 2)}
        for dtype in low_precisions:
            start = time.perf_counter()
            low = golden._run(load_pipeline(cases.RELEASE, str(device), getattr(torch, dtype)), case)
            entry[f"{dtype}_max_diff_from_float32"] = {
                k: float(np.abs(low[k].float().cpu().numpy().astype(np.float64) - got[k]).max()) for k in COMPARED}
            entry[f"{dtype}_seconds"] = round(time.perf_counter() - start, 2)
        out[name] = entry
    out["all_float32_passed"] = all(v["float32_passed"] for v in out.values() if isinstance(v, dict))
    return out


class _TextStates(torch.nn.Module):
    """Stands in for T5 on the CPU: what reaches the GPU is its (1, 226, D) states."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor]:
        return (torch.randn((1, ids.shape[1], self.dim), generator=torch.Generator().manual_seed(0)).to(ids.device),)


def _models(dry_run: bool):
    """(pipeline on meta, its weights as a factory of CPU copies) at full size, or the tiny release."""
    import vram_model_dynamictrl as vm

    if dry_run:
        from studio.backends.dynamictrl.loading import load_pipeline

        cases = importlib.import_module("tests.dynamictrl.conftest")
        real = load_pipeline(cases.RELEASE)
        meta = copy.copy(real)
        meta.transformer, meta.vae = copy.deepcopy(real.transformer).to("meta"), copy.deepcopy(real.vae).to("meta")
        meta.device = torch.device("meta")
        return meta, lambda: load_pipeline(cases.RELEASE)
    from synthetic_releases.dynamictrl import FULL_T5, FULL_TRANSFORMER, FULL_VAE

    t5_stub = dict(FULL_T5, num_layers=1, vocab_size=8)  # T5 stays on the CPU: only its states count

    def materialised():  # in CPU memory, where a render's load puts them before Placement
        from random_weights import randomise_parameters

        pipe, _ = vm.build_pipeline(FULL_TRANSFORMER, FULL_VAE, t5_stub, "meta")
        for name in ("transformer", "vae", "text_encoder"):
            setattr(pipe, name, randomise_parameters(getattr(pipe, name), "cpu"))
        pipe.device = torch.device("cpu")
        return pipe

    return vm.build_pipeline(FULL_TRANSFORMER, FULL_VAE, t5_stub, "meta")[0], materialised


def check_offload(device: torch.device, dry_run: bool) -> dict:
    """Each profile's peak over one pass (one step, the decode) against the memory model."""
    import vram_model_dynamictrl as vm

    from studio.backends.dynamictrl.placement import Placement

    width, height, frames = (64, 48, 13) if dry_run else (768, 1360, 37)
    meta, make = _models(dry_run)
    text = _TextStates(meta.transformer.config.text_embed_dim)
    w = vm.weight_bytes(meta, meta.text_encoder)
    states = 2 * 226 * meta.transformer.config.text_embed_dim * meta.dtype.itemsize
    out: dict = {"size": f"{width}x{height}", "frames": frames, "dtype": str(meta.dtype).removeprefix("torch."),
                 "steps": 1, "t5": "CPU (random states stand in)"}
    pipe = make()
    for profile in vm.PROFILES:
        acts = vm.trace_phases(meta, text, frames, height, width, profile, steps=1)
        predicted = {p: vm.resident(w, profile, False, p) + (acts[p] if p != "text" else states) for p in vm.PHASES}
        Placement(pipe, device, profile, cpu_text_encoder=True)
        pipe.device = device
        _sync(device)
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        start = time.perf_counter()
        real = vm.trace_phases(pipe, text, frames, height, width, profile, steps=1)
        _sync(device)
        seconds = time.perf_counter() - start
        if device.type == "cuda":
            peak, how = torch.cuda.max_memory_allocated(device), "torch.cuda.max_memory_allocated"
        else:
            peak = max(vm.resident(w, profile, False, p) + (real[p] if p != "text" else states) for p in vm.PHASES)
            how = "allocation trace + the profile's resident weights (CPU dry run)"
        top = max(predicted.values())
        out[profile] = {"peak_allocated_gib": round(peak / GiB, 3), "measured_with": how,
                        "vram_model_predicted_gib": round(top / GiB, 3),
                        "vram_model_phases_gib": {p: round(v / GiB, 3) for p, v in predicted.items()},
                        "prediction_error": round(top / peak - 1.0, 4) if peak else None,
                        "goal_gib": vm.TARGETS_GIB[profile], "seconds": round(seconds, 2)}
        pipe = make() if profile != vm.PROFILES[-1] else None  # hooks stay: each profile on fresh models
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run(device: torch.device, dry_run: bool, skip: set[str]) -> dict:
    """The DynamiCtrl part of the GPU check's summary."""
    out: dict = {}
    with torch.no_grad():
        if "goldens" not in skip:
            out["goldens"] = check_goldens(device, [] if dry_run else ["bfloat16"])
        if "step" not in skip:
            out["offload"] = check_offload(device, dry_run)
    return out
