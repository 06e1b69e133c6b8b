"""Benchmark the render engine on the tiny X-Dyna weights: when does the first chunk arrive?

    python bench/render_bench.py                  # 40 frames, 3 steps, stream vs reference
    python bench/render_bench.py --frames 64 --steps 5 --overlap 4

For each schedule it runs :func:`studio.core.render.run_job` with :class:`XDynaBackend` and
prints the UNet calls and seconds at the first FramesReady as a fraction of the whole render,
then cancels a stream render after its first chunk, resumes it, and checks the frames are
byte-identical to the uninterrupted render. Prints the machine load first: other work on the
cores skews the seconds (the UNet-call counts do not depend on it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from studio.backends.xdyna.backend import XDynaBackend  # noqa: E402
from studio.core import CancelToken, FramesReady, PoseTrack, RenderJob, RenderSettings  # noqa: E402
from studio.core.render import run_job  # noqa: E402

CASE = ROOT / "tests" / "fixtures" / "xdyna_tiny" / "a_pose_16f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def tiny_backend() -> XDynaBackend:
    w = json.loads((CASE / "case.json").read_text())["weights"]
    motion = next(v.get("motion_module_kwargs") for k, v in w.items() if k.startswith("unet_additional_kwargs"))
    return XDynaBackend(WEIGHTS, resampler_kwargs=w["resampler_kwargs"], motion_module_kwargs=motion)


def job(n: int, steps: int, schedule: str, overlap: int, out: Path) -> RenderJob:
    pose = PoseTrack.empty(n, 64, 64, 25.0)
    t = np.arange(n, dtype=np.float32)[:, None]
    pose.body[:, :, 0] = 0.5 + 0.2 * np.cos(t / 6 + np.arange(18))
    pose.body[:, :, 1] = 0.5 + 0.2 * np.sin(t / 6 + np.arange(18))
    pose.body_conf[:] = 1.0
    pose.flags[:] = 0
    settings = RenderSettings(backend="xdyna", width=64, height=64, steps=steps, cfg=2.0, schedule=schedule,
                              overlap=overlap, face_controlnet=False, retarget=False, device="cpu",
                              dtype="float32")
    ref = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(CASE / "inputs" / "reference.png").convert("RGB"))
    return RenderJob(reference=ref, pose=pose, frames=tuple(range(n)), settings=settings, weights_dir=WEIGHTS,
                     output_dir=out)


def measure(backend: XDynaBackend, j: RenderJob, cancel_after_first: bool = False) -> dict:
    pipe = backend.pipeline(WEIGHTS, "cpu", "float32")
    calls = [0]
    handle = pipe.unet.register_forward_hook(lambda *a: calls.__setitem__(0, calls[0] + 1))
    token = CancelToken()
    first = None
    frames: dict[int, np.ndarray] = {}
    t0 = time.perf_counter()
    try:
        for ev in run_job(j, backend, None, token):
            if isinstance(ev, FramesReady):
                frames.update(zip(ev.indices, ev.frames))
                if first is None:
                    first = (len(ev.indices), calls[0], time.perf_counter() - t0)
                    if cancel_after_first:
                        token.cancel()
    finally:
        handle.remove()
    return {"first": first, "calls": calls[0], "seconds": time.perf_counter() - t0, "frames": frames}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--overlap", type=int, default=4)
    a = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    backend = tiny_backend()
    backend.pipeline(WEIGHTS, "cpu", "float32")  # load once, outside the timings
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for schedule in ("stream", "reference"):
            r = measure(backend, job(a.frames, a.steps, schedule, a.overlap, Path(tmp) / schedule))
            n, c, s = r["first"]
            results[schedule] = r
            print(f"{schedule:9s}: first FramesReady = {n:2d} frames after {c}/{r['calls']} UNet calls "
                  f"({c / r['calls']:.2f}) and {s:.1f}/{r['seconds']:.1f} s ({s / r['seconds']:.2f})")
        cut = job(a.frames, a.steps, "stream", a.overlap, Path(tmp) / "cut")
        part = measure(backend, cut, cancel_after_first=True)
        rest = measure(backend, cut)
        full = results["stream"]["frames"]
        same = sorted(rest["frames"]) == sorted(full) and all(
            rest["frames"][k].tobytes() == full[k].tobytes() for k in full
        )
        print(f"stream cancel after the first chunk: {len(part['frames'])} frames kept, {part['calls']} UNet calls; "
              f"resume: {rest['calls']} UNet calls, frames byte-identical to the uninterrupted render: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
