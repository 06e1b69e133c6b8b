"""StableAnimator CPU time: the official pipeline next to ours, same machine, same run, same inputs.

The official side is ``tools/stableanimator_reference/run_official.py --time N`` (the official
``inference_basic.py`` in its own venv on the tiny release): its first pipeline call is recorded
(and is its warm-up), then N calls are timed with every recording hook passing straight through.
Ours is :class:`StableAnimatorPipeline` on the very same release files and input files (those the
official run wrote), same seed, steps, size, tiles and guidance, warmed up by one untimed call.
Only the pipeline call is timed on both sides (loading excluded), with one torch thread each.

Rounds alternate official / ours, so a load change on the shared machine hits both. Printed per
case: every call's CPU seconds (``time.process_time``: what the process computed, robust to other
users of the machine) and wall seconds; the min-of-N CPU time of each side and their ratio (the
figure the goal "ours <= 0.6x official" is read on), the median wall ratio beside it, and how far
our final latents are from the official run's (with the golden tolerance where the case has one).

Cases: ``a_tiles_20f`` (the golden case: 20 frames at 64x64, 8x8 latents, 2 tiles, 3 steps) and
``bench_128_20f`` (the same call at 128x128, 16x16 latents, so the comparison is not only per-call
overhead).

``--compile`` adds a third side: ours with ``torch_compile`` (:mod:`studio.backends.stableanimator.compiled`),
timed the same way after a first call whose wall time, compiling included, is printed beside it
(from an empty inductor cache, so it is what a first render costs; later processes reuse the cache).

    python bench/stableanimator_bench.py --official /work/official/stableanimator \
        --python /work/venvs/sa-official/bin/python [--cases a_tiles_20f bench_128_20f] [--rounds 3] [--calls 2] \
        [--compile]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tools" / "stableanimator_reference"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HARNESS))

from studio.backends.stableanimator.components import load_components  # noqa: E402
from studio.backends.stableanimator.pipeline import RenderRequest, StableAnimatorPipeline  # noqa: E402
from cases import BENCH_CASES, CASES, OFFICIAL_SEED  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "stableanimator_tiny"


def _request(case: dict, inputs: Path) -> RenderRequest:
    """Our request from the input files the official run wrote (``OUT/inputs``)."""
    from PIL import Image

    ref = np.array(Image.open(inputs / "reference.png").convert("RGB"))
    poses = np.stack([np.array(Image.open(inputs / "poses" / f"frame_{i}.png").convert("RGB"))
                      for i in range(case["frames"])])
    return RenderRequest(reference=ref, poses=poses, face_embedding=np.load(inputs / "face_embedding.npy"),
                         steps=case["steps"], min_guidance=case["min_guidance"], max_guidance=case["max_guidance"],
                         tile_size=case["tile_size"], tile_overlap=case["tile_overlap"],
                         noise_aug_strength=case["noise_aug_strength"], decode_chunk_size=case["decode_chunk_size"],
                         seed=OFFICIAL_SEED)


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{model}, {os.cpu_count()} cores, torch {torch.__version__}, 1 thread per side"


def _official(a, name: str, weights: Path, out: Path) -> list[dict]:
    subprocess.run([a.python, str(HARNESS / "run_official.py"), "--official", str(a.official), "--case", name,
                    "--out", str(out), "--weights", str(weights), "--threads", "1", "--time", str(a.calls)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads((out / "run.json").read_text())["timed_calls"]


def _ours(pipe: StableAnimatorPipeline, req: RenderRequest, calls: int) -> tuple[list[dict], torch.Tensor]:
    times, latents = [], None
    for _ in range(calls):
        w0, c0 = time.perf_counter(), time.process_time()
        latents = pipe(req).latents
        times.append({"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0})
    return times, latents


def _secs(times: list[dict]) -> str:
    return " ".join(f"{t['cpu']:.3f}" for t in times)


def bench_case(a, name: str, tmp: Path) -> dict:
    """Alternate official and ours ``a.rounds`` times on case ``name`` (ours compiled too with
    ``a.compile``); print and return the figures."""
    case = {**CASES, **BENCH_CASES}[name]
    tolerance = None
    if name in CASES:
        tolerance = json.loads((FIXTURES / name / "case.json").read_text())["tolerance"]["step_latents_out"]
    weights = tmp / "weights"  # the official run writes the tiny release (deterministic), ours loads it
    sides = ["ours", "compiled"] if a.compile else ["ours"]
    official, ours, pipes, req = [], {s: [] for s in sides}, {}, None
    for r in range(a.rounds):
        out = tmp / f"{name}_official_{r}"
        official += _official(a, name, weights, out)
        if not pipes:
            req = _request(case, out / "inputs")
            for side in sides:
                pipes[side] = StableAnimatorPipeline(load_components(weights), compile=side == "compiled")
                w0 = time.perf_counter()
                pipes[side](req)  # warm-up, not timed (the official side's warm-up is its recorded call)
                if side == "compiled":
                    c = pipes[side].compiled
                    print(f"  compiled ours: first call {time.perf_counter() - w0:.1f} s wall (compiling"
                          f"{'; FAILED, eager: ' + c.failure if c.failure else ''})")
        exp = np.load(out / "expected.npz")["step_latents_out"][-1]
        line = f"  round {r + 1}: official cpu {_secs(official[-a.calls:])} s"
        for side in sides:
            times, latents = _ours(pipes[side], req, a.calls)
            ours[side] += times
            diff = float(np.abs(latents.numpy().astype(np.float64) - exp).max())
            line += f", {side} cpu {_secs(times)} s (final latents differ by {diff:.2e})"
        tol = f"; golden tolerance {tolerance:.2e}" if tolerance is not None else ""
        print(line + tol)
    fig = {"official_cpu": min(t["cpu"] for t in official),
           "official_wall": statistics.median(t["wall"] for t in official)}
    head = (f"{name} ({case['frames']} frames {case['width']}x{case['height']}, {case['steps']} steps, tiles "
            f"{case['tile_size']}/{case['tile_overlap']}): min CPU official {fig['official_cpu']:.3f} s")
    for side in sides:
        suffix = "" if side == "ours" else "_compiled"
        fig[f"{side}_cpu"] = min(t["cpu"] for t in ours[side])
        fig[f"{side}_wall"] = statistics.median(t["wall"] for t in ours[side])
        fig[f"ratio_cpu{suffix}"] = fig[f"{side}_cpu"] / fig["official_cpu"]
        fig[f"ratio_wall{suffix}"] = fig[f"{side}_wall"] / fig["official_wall"]
    print(head + f", ours {fig['ours_cpu']:.3f} s, ours/official = {fig['ratio_cpu']:.2f}x (median wall "
          f"{fig['official_wall']:.3f} vs {fig['ours_wall']:.3f} s = {fig['ratio_wall']:.2f}x)")
    if a.compile:
        print(f"  with torch_compile: ours {fig['compiled_cpu']:.3f} s, "
              f"ours/official = {fig['ratio_cpu_compiled']:.2f}x "
              f"(median wall {fig['compiled_wall']:.3f} s = {fig['ratio_wall_compiled']:.2f}x), after the first "
              "call's compile")
    return fig


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--python", required=True)
    ap.add_argument("--cases", nargs="+", default=["a_tiles_20f", "bench_128_20f"],
                    choices=[*CASES, *BENCH_CASES])
    ap.add_argument("--rounds", type=int, default=3, help="official/ours alternations per case")
    ap.add_argument("--calls", type=int, default=2, help="timed pipeline calls per side and round")
    ap.add_argument("--compile", action="store_true",
                    help="also time ours with torch_compile (its first, compiling call is reported, not timed)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    cold = tempfile.TemporaryDirectory(prefix="inductor_cache_") if a.compile else None
    if cold is not None:  # read by inductor when it first compiles
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cold.name
    print(f"machine: {_machine()}; load average {os.getloadavg()[0]:.1f} at the start")
    for name in a.cases:
        with tempfile.TemporaryDirectory() as tmp:
            bench_case(a, name, Path(tmp))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
