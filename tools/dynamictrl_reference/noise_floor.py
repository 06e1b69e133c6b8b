"""Measure a golden case's noise floor and write its tolerances into ``case.json``.

``python noise_floor.py CASE_DIR`` reads ``expected/`` (the reference run: 1 thread, no
perturbation) and ``runs/repeat`` (identical rerun) and ``runs/perturb`` (2 threads, image and pose
inputs and T5's token embeddings moved by 1e-6), and writes ``CASE_DIR/case.json`` with, per array, the largest absolute
difference of each run (``floor``) and the tolerance ``atol = 10 x max(floor, FLOOR_MIN)``.
``FLOOR_MIN`` (1e-6, a few float32 ulps at the arrays' magnitudes) covers arrays the
perturbation cannot reach (rotary tables, the initial noise, token ids).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

FLOOR_MIN = 1e-6
FACTOR = 10.0


def floors(case: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for f in sorted((case / "expected").glob("*.npy")):
        ref = np.load(f)
        entry: dict[str, float] = {"scale": float(np.abs(ref.astype(np.float64)).max()) if ref.size else 0.0}
        for tag in ("repeat", "perturb"):
            other = np.load(case / "runs" / tag / f.name)
            entry[tag] = float(np.abs(ref.astype(np.float64) - other.astype(np.float64)).max()) if ref.size else 0.0
        out[f.stem] = entry
    return out


def main(case_dir: str) -> None:
    case = Path(case_dir)
    run = json.loads((case / "expected" / "run.json").read_text())
    fl = floors(case)
    tol = {k: FACTOR * max(v["repeat"], v["perturb"], FLOOR_MIN) for k, v in fl.items()}
    meta = {"call": run["call"], "run": run["run"], "draws": run["draws"],
            "verification": {"perturbation": 1e-6, "perturb_threads": 2, "floors": fl,
                             "factor": FACTOR, "floor_min": FLOOR_MIN},
            "atol": tol}
    (case / "case.json").write_text(json.dumps(meta, indent=1) + "\n")
    worst = max(fl.items(), key=lambda kv: kv[1]["perturb"])
    print(f"{case.name}: {len(fl)} arrays, worst perturb floor {worst[0]} {worst[1]['perturb']:.2e}")


if __name__ == "__main__":
    main(sys.argv[1])
