"""StableAnimator CPU time: the official pipeline next to ours on a golden case, same machine, same run.

The official side is ``tools/stableanimator_reference/run_official.py`` (the official
``inference_basic.py`` in its own venv; the time is that of the pipeline call alone, loading
excluded, with its recording hooks on); ours is :class:`StableAnimatorPipeline` on the same tiny
release, inputs and seed (the pipeline call alone). Runs alternate official / ours ``--repeats``
times with one torch thread each and print every time, the medians and their ratio. Also checks
that our final latents match the official ones within the case's tolerance.

    python bench/stableanimator_bench.py --official /work/official/stableanimator \
        --python /work/venvs/sa-official/bin/python [--case a_tiles_20f] [--repeats 3] [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "stableanimator_reference"))

from studio.backends.stableanimator.components import load_components  # noqa: E402
from studio.backends.stableanimator.pipeline import RenderRequest, StableAnimatorPipeline  # noqa: E402
from sa_tiny_release import write_release  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "stableanimator_tiny"


def _request(case: str) -> RenderRequest:
    from PIL import Image

    spec = json.loads((FIXTURES / case / "case.json").read_text())
    call, folder = spec["call"], FIXTURES / case
    ref = np.array(Image.open(folder / "inputs" / "reference.png").convert("RGB"))
    poses = np.stack([np.array(Image.open(folder / "inputs" / "poses" / f"frame_{i}.png").convert("RGB"))
                      for i in range(call["frames"])])
    return RenderRequest(reference=ref, poses=poses, face_embedding=np.load(folder / "inputs" / "face_embedding.npy"),
                         steps=call["steps"], min_guidance=call["min_guidance"], max_guidance=call["max_guidance"],
                         tile_size=call["tile_size"], tile_overlap=call["tile_overlap"],
                         noise_aug_strength=call["noise_aug_strength"], decode_chunk_size=call["decode_chunk_size"],
                         seed=spec["official_seed"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--python", required=True)
    ap.add_argument("--case", default="a_tiles_20f")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    release = json.loads((FIXTURES / "release.json").read_text())
    case = json.loads((FIXTURES / a.case / "case.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_release(tmp / "weights", release["manifest"], release["weight_seed"], release["configs"])
        pipe = StableAnimatorPipeline(load_components(tmp / "weights"))
        req = _request(a.case)
        pipe(req)  # warm-up (first-call allocations), not timed
        official, ours = [], []
        for r in range(a.repeats):
            out = tmp / f"official_{r}"
            subprocess.run([a.python, str(ROOT / "tools" / "stableanimator_reference" / "run_official.py"),
                            "--official", str(a.official), "--case", a.case, "--out", str(out),
                            "--weights", str(tmp / "weights"), "--threads", "1"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            official.append(json.loads((out / "run.json").read_text())["pipeline_seconds"])
            t0 = time.perf_counter()
            res = pipe(req)
            ours.append(time.perf_counter() - t0)
            exp = np.load(out / "expected.npz")["step_latents_out"][-1]
            diff = float(np.abs(res.latents.numpy() - exp).max())
            print(f"run {r + 1}: official {official[-1]:.3f} s, ours {ours[-1]:.3f} s "
                  f"(final latents differ by {diff:.2e}, tolerance {case['tolerance']['step_latents_out']:.2e})")
    mo, mu = statistics.median(official), statistics.median(ours)
    print(f"{a.case}: median official {mo:.3f} s, ours {mu:.3f} s, ours/official = {mu / mo:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
