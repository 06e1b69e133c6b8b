"""Benchmark the render farm on Ray's local mode: 1 and 2 CPU actors.

    python bench/farm_bench.py                       # 4 draft jobs + one 48-frame X-Dyna render
    python bench/farm_bench.py --draft-size 256x448 --steps 2

For each actor count it runs, through the real queue and runner (``studio queue run``'s code):

* 4 draft jobs of the 48-frame sample (jobs run side by side, one per actor);
* one 48-frame X-Dyna render on the tiny test weights (64x64, 8x8 latents; reference schedule,
  4 windows a step): on 1 actor as a whole job, on 2 actors split (each step's windows divided
  between the actors, the driver fusing their predictions).

Every actor is warmed up first (imports, weights, the draft rig), so the figures are steady-state
throughput. It prints frames per second, the speedup of 2 actors over 1, whether the split render
gave the same bytes, and the per-step transfer of a split render, here and at the real size
(512x896, 48 frames). The machine load is printed too: on a shared 2-core machine the figures
move with whatever else runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from studio.core.jobs import RenderJob  # noqa: E402
from studio.core.project import Project  # noqa: E402
from studio.core.render import render_frames  # noqa: E402
from studio.core.files import read_png  # noqa: E402
from studio.core.windows import WindowPlan  # noqa: E402
from studio.farm.queue import RenderQueue  # noqa: E402
from studio.farm.runner import QueueRunner  # noqa: E402
from studio.farm.split import transfer_bytes  # noqa: E402

SAMPLE = ROOT / "resources" / "sample" / "sample.studio.json"
CASE = ROOT / "tests" / "fixtures" / "xdyna_tiny" / "a_pose_16f"


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def _xdyna_factory():
    from studio.backends.xdyna.backend import XDynaBackend

    w = json.loads((CASE / "case.json").read_text())["weights"]
    motion = next((v.get("motion_module_kwargs") for k, v in w.items() if k.startswith("unet_additional_kwargs")),
                  None)
    return functools.partial(XDynaBackend, CASE / "weights" / "pretrained_weights",
                             resampler_kwargs=w["resampler_kwargs"], motion_module_kwargs=motion)


def _jobs(draft_size: tuple[int, int], steps: int) -> tuple[RenderJob, RenderJob]:
    from PIL import Image

    from studio.media.image import read_image

    p = Project.load(SAMPLE)
    s = p.settings.model_copy(update={"width": draft_size[0], "height": draft_size[1]})
    draft = RenderJob(reference=read_image(p.reference_image), pose=p.pose, frames=tuple(range(len(p.pose))),
                      settings=s, face=p.face, reference_pose=p.reference_pose)
    xs = p.settings.updated(backend="xdyna", width=64, height=64, steps=steps, cfg=2.0, face_controlnet=False,
                            retarget=False, device="cpu", dtype="float32")
    ref = np.asarray(Image.open(CASE / "inputs" / "reference.png").convert("RGB"))
    xdyna = RenderJob(reference=ref, pose=p.pose, frames=tuple(range(len(p.pose))), settings=xs,
                      weights_dir=CASE / "weights" / "pretrained_weights")
    return draft, xdyna


def _run(q: RenderQueue, ex, jobs: list[tuple[RenderJob, bool]], folder: Path) -> tuple[float, list[int]]:
    """Queue ``jobs`` (job, split) into fresh folders, run them all; seconds and the job ids."""
    ids = []
    for i, (job, split) in enumerate(jobs):
        out = folder / f"job{len(list(folder.iterdir()))}_{i}"
        ids.append(q.add(dataclasses.replace(job, output_dir=out), out, split=split))
    t0 = time.perf_counter()
    summary = QueueRunner(q, ex, poll=0.02).run()
    seconds = time.perf_counter() - t0
    bad = [e for e in q.entries() if e.id in ids and e.state != "done"]
    if bad or summary.failed:
        raise SystemExit(f"jobs did not finish: {[(e.id, e.state, e.message) for e in bad]}")
    return seconds, ids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draft-size", default="512x896", help="draft render size WxH (default 512x896)")
    ap.add_argument("--steps", type=int, default=2, help="X-Dyna denoising steps (default 2)")
    args = ap.parse_args(argv)
    from studio.farm.ray_executor import RayExecutor

    size = tuple(int(v) for v in args.draft_size.split("x"))
    draft, xdyna = _jobs(size, args.steps)
    factories = {"xdyna": _xdyna_factory()}
    print(f"farm bench: {_load()}; Ray local mode, CPU actors (1 torch thread each)")
    results: dict[int, dict[str, float]] = {}
    frames: dict[int, list[np.ndarray]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="farm-bench-"))
    for actors in (1, 2):
        ex = RayExecutor(workers=actors, num_cpus=2, factories=factories)
        q = RenderQueue(tmp / f"queue{actors}.sqlite")
        folder = tmp / f"a{actors}"
        folder.mkdir()
        try:
            warm = dataclasses.replace(draft, frames=draft.frames[:2])
            _run(q, ex, [(warm, False)] * actors, folder)  # every actor: imports and the draft rig
            small = dataclasses.replace(xdyna, frames=xdyna.frames[:20])
            _run(q, ex, [(small, actors > 1)], folder)  # the X-Dyna weights load on the actor(s)
            t_draft, _ = _run(q, ex, [(draft, False)] * 4, folder)
            t_x, (xid,) = _run(q, ex, [(xdyna, actors > 1)], folder)
            job = dataclasses.replace(xdyna, output_dir=Path(q.job(xid).output_dir))
            frames[actors] = [read_png(p) for p in render_frames(job)]
        finally:
            ex.close()
        results[actors] = {"draft_fps": 4 * draft.n_frames / t_draft, "draft_s": t_draft,
                           "x_fps": xdyna.n_frames / t_x, "x_s": t_x}
        print(f"  {actors} actor(s): 4 draft jobs ({4 * draft.n_frames} frames {size[0]}x{size[1]}) in {t_draft:.1f} s "
              f"= {results[actors]['draft_fps']:.1f} fps; X-Dyna 48 frames (64x64, {args.steps} steps"
              f"{', split' if actors > 1 else ''}) in {t_x:.1f} s = {results[actors]['x_fps']:.2f} fps  [{_load()}]")
    same = all(a.tobytes() == b.tobytes() for a, b in zip(frames[1], frames[2]))
    plan = WindowPlan(48)
    wins = plan.windows(0)
    tiny = transfer_bytes(48, (8, 8), wins, 2)
    real = transfer_bytes(48, (112, 64), wins, 2)
    print(f"speedup 2 vs 1 actor: draft jobs {results[2]['draft_fps'] / results[1]['draft_fps']:.2f}x, "
          f"split X-Dyna render {results[2]['x_fps'] / results[1]['x_fps']:.2f}x")
    print(f"split render bytes equal to the 1-actor render: {same}")
    print(f"per-step transfer of a split render with 2 actors, {len(wins)} windows: {tiny / 1e3:.1f} kB here "
          f"(8x8 latents), {real / 1e6:.1f} MB at 512x896 (64x112 latents), 48 frames")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
