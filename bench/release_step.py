"""One X-Dyna denoising step on a synthetic release: loaded from its files vs built in memory.

``DIR`` is a release written by ``tools/make_synthetic_release.py`` (its
``synthetic_release.json`` says how). Two fresh processes each run the same render on the CPU
in float32: a 64x64 reference, 16 pose frames, one DDIM step, one seed, pose ControlNet only:

* ``files``: ``XDynaPipeline.from_release(DIR)``, i.e. the release assembled from its files;
* ``memory``: the same models built straight from the generator's state dicts
  (``components_in_memory``), with no file read.

Both print load seconds, step seconds and peak RSS; the parent then compares the latents (and
frames), which must be identical. The step includes the text and image encoders, the VAE
encode, one UNet + ControlNet evaluation of 2 x 17 frames, and the VAE decode of 16 frames.

    python bench/release_step.py DIR [--frames 16] [--size 64]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_release", ROOT / "tools" / "make_synthetic_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(size: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    ref = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    pose = np.zeros((frames, size, size, 3), np.uint8)
    for i in range(frames):  # a bar that moves across the frame, as a pose map would
        x = (i * size) // frames
        pose[i, :, x : x + max(2, size // 8)] = (255, 128, 0)
    return ref, pose


def child(args: argparse.Namespace) -> dict:
    """Load one way, run the step, save the latents; returns the figures."""
    import torch

    from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline

    torch.set_num_threads(os.cpu_count() or 1)
    info = json.loads((Path(args.folder) / _generator().SPEC_FILE).read_text())
    t0 = time.perf_counter()
    if args.child == "files":
        pipe = XDynaPipeline.from_release(args.folder, device="cpu", dtype="float32", face=False,
                                          resampler_kwargs=info["resampler_kwargs"],
                                          motion_module_kwargs=info["motion_module_kwargs"])
    else:
        comps = _generator().components_in_memory(info["scale"], info["partial_unet"], info["fp16"], info["seed"])
        pipe = XDynaPipeline(comps, device="cpu", dtype="float32")
    load = time.perf_counter() - t0
    ref, pose = _inputs(args.size, args.frames)
    t1 = time.perf_counter()
    out = pipe(XDynaCall(ref, pose, num_inference_steps=1, seed=11))
    step = time.perf_counter() - t1
    np.save(Path(args.out) / f"{args.child}_latents.npy", out.latents)
    np.save(Path(args.out) / f"{args.child}_frames.npy", out.frames)
    return {"mode": args.child, "load_s": load, "step_s": step,
            "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def main(argv: list[str] | None = None) -> int:
    """Run both ways in their own processes and compare."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, metavar="DIR")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    info = json.loads((args.folder / _generator().SPEC_FILE).read_text())
    print(f"release {args.folder}: {info['scale']}, {'partial' if info['partial_unet'] else 'full'} UNet checkpoint, "
          f"{'float16' if info['fp16'] else 'float32'} files; {args.size}x{args.size}, {args.frames} frames, 1 step, "
          f"CPU float32; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (times are noisy when high)")
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for mode in ("files", "memory"):
            cmd = [sys.executable, __file__, str(args.folder), "--child", mode, "--out", tmp,
                   "--frames", str(args.frames), "--size", str(args.size)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"{mode}: failed\n{run.stderr[-3000:]}")
                return 1
            r = results[mode] = json.loads(run.stdout.strip().splitlines()[-1])
            print(f"{mode:6s}: load {r['load_s']:.1f} s, step {r['step_s']:.1f} s, peak RSS {r['peak_rss'] / 1e9:.2f} GB")
        a, b = (np.load(Path(tmp) / f"{m}_latents.npy") for m in ("files", "memory"))
        fa, fb = (np.load(Path(tmp) / f"{m}_frames.npy") for m in ("files", "memory"))
    same = a.shape == b.shape and np.array_equal(a, b) and np.array_equal(fa, fb)
    diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")
    print(f"latents {tuple(a.shape)}: {'identical' if same else 'DIFFERENT'} (max |diff| {diff:.3g}, "
          f"mean |latent| {float(np.abs(a).mean()):.4f}, finite: {bool(np.isfinite(a).all())})")
    return 0 if same and np.isfinite(a).all() else 1


if __name__ == "__main__":
    sys.exit(main())
