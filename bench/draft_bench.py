"""Benchmark the draft renderer on the sample project: one-time setup and frames per second.

    python bench/draft_bench.py                 # 512x896, 5 passes over the 48-frame sample
    python bench/draft_bench.py --size 256x448 --passes 5

Prints the machine load (other work on the cores skews the numbers), the setup time, and the
frame rate both of the bare warp and of the full ``DraftBackend.render`` event stream.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from studio.backends.draft.backend import DraftBackend  # noqa: E402
from studio.backends.draft.motion import driving_poses  # noqa: E402
from studio.backends.draft.prepare import prepare_rig  # noqa: E402
from studio.backends.draft.warp import render_pose  # noqa: E402
from studio.core import CancelToken, FramesReady, RenderJob  # noqa: E402
from studio.core.project import Project  # noqa: E402


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="512x896", help="render WIDTHxHEIGHT (default 512x896)")
    ap.add_argument("--passes", type=int, default=5, help="times to render the 48-frame clip")
    ap.add_argument("--project", type=Path, default=ROOT / "resources" / "sample" / "sample.studio.json")
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    project = Project.load(args.project)
    ref = cv2.cvtColor(cv2.imread(str(project.reference_image)), cv2.COLOR_BGR2RGB)
    settings = project.settings.model_copy(update={"width": width, "height": height})
    job = RenderJob(reference=ref, pose=project.pose, frames=tuple(range(len(project.pose))),
                    settings=settings, reference_pose=project.reference_pose)
    print(f"before: {_load()}")
    print(f"cv2 threads: {cv2.getNumThreads()}, render size {width}x{height}, {job.n_frames} frames/pass")

    prepare_rig(ref, job.reference_pose, width, height)  # warm up imports and MediaPipe
    t0 = time.perf_counter()
    rig = prepare_rig(ref, job.reference_pose, width, height)
    setup = time.perf_counter() - t0
    n_tris = len(rig.tris)
    print(f"setup (segmentation + background fill + rig): {setup:.3f} s; "
          f"{len(rig.vertices)} vertices, {n_tris} triangles, cell {rig.cell} px")

    poses = driving_poses(job, rig.ref_pose)
    render_pose(rig, poses[0])
    times = []
    cpu0 = time.process_time()
    for _ in range(args.passes):
        for p in poses:
            t = time.perf_counter()
            render_pose(rig, p)
            times.append(time.perf_counter() - t)
    cpu = (time.process_time() - cpu0) / len(times)
    times_a = np.array(times)
    print(f"warp only: {len(times)} frames, {1 / times_a.mean():.1f} fps mean (wall), "
          f"median {1000 * np.median(times_a):.1f} ms, p95 {1000 * np.percentile(times_a, 95):.1f} ms; "
          f"CPU time {1000 * cpu:.1f} ms/frame (all threads)")

    backend = DraftBackend()
    backend.rig_for(job)  # the setup is cached per reference, as in the studio
    per_pass = []
    for _ in range(args.passes):
        frames = 0
        t = time.perf_counter()
        for ev in backend.render(job, CancelToken()):
            if isinstance(ev, FramesReady):
                frames += len(ev.indices)
        per_pass.append(frames / (time.perf_counter() - t))
    print(f"DraftBackend.render (chunks of {backend.chunk}, {backend.threads} threads, rig cached): "
          f"{np.mean(per_pass):.1f} fps mean over {args.passes} passes of {job.n_frames} frames, "
          f"best pass {max(per_pass):.1f} fps")
    print(f"after: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
