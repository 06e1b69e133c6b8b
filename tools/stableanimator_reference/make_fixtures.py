"""Regenerate tests/fixtures/stableanimator_tiny from the official code (see README.md there).

For every case: three runs of ``run_official.py`` in the official venv (the golden run with one
thread, a rerun with every input and random draw moved by 1e-6 N(0, 1), a rerun with two
threads), the per-array noise floor (largest difference to the golden run) and tolerances of
``max(10 x floor, 1e-6 x max|x|)``. Writes ``release.json`` (configs, weight seed, key/shape
manifest and tensor digests of the tiny release) and per case ``case.json``, ``inputs/`` and
``expected.npz``.

usage: make_fixtures.py --official DIR --python VENV_PYTHON [--work DIR] [--cases a_tiles_20f ...] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "stableanimator_tiny"
COMMIT = "020e7f2"

#: Arrays shipped in expected.npz (the rest of a run's recording is for debugging).
SHIPPED = ("image_embeddings", "id_tokens", "unet_encoder_hidden_states", "unet_added_time_ids", "image_latents",
           "noise_aug_noise", "init_noise", "sigmas", "timesteps", "pose_features", "unet_step0_outputs",
           "step_latents_in", "step_noise_pred", "step_latents_out", "decoded", "tiles")

RUNS = {"golden": ["--threads", "1"], "perturbed": ["--threads", "1", "--perturb", "1e-6"], "threads2": ["--threads", "2"]}


def tolerances(golden: dict, others: list[dict]) -> tuple[dict, dict]:
    """Per float array: the noise floor over the reruns and the tolerance derived from it."""
    floor, tol = {}, {}
    for k, v in golden.items():
        if v.dtype.kind != "f":
            continue
        floor[k] = max(float(np.abs(v.astype(np.float64) - o[k].astype(np.float64)).max()) for o in others)
        tol[k] = max(10.0 * floor[k], 1e-6 * float(np.abs(v).max()))
    return floor, tol


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--python", required=True, help="python of the official venv")
    ap.add_argument("--work", type=Path, default=Path("/tmp/sa_fixture_runs"))
    ap.add_argument("--cases", nargs="*")
    ap.add_argument("--reuse", action="store_true", help="keep runs already in --work")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from cases import CASES, WEIGHT_SEED

    release = None
    for name in a.cases or list(CASES):
        arrays = {}
        for run, extra in RUNS.items():
            out = a.work / f"{name}_{run}"
            cmd = ["nice", "-n", "10", a.python, str(HERE / "run_official.py"), "--official", str(a.official),
                   "--case", name, "--out", str(out), *extra]
            if not (a.reuse and (out / "expected.npz").is_file()):
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            arrays[run] = dict(np.load(out / "expected.npz"))
        golden_dir = a.work / f"{name}_golden"
        meta = json.loads((golden_dir / "run.json").read_text())
        floor, tol = tolerances(arrays["golden"], [arrays["perturbed"], arrays["threads2"]])
        dest = FIXTURES / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(golden_dir / "inputs", dest / "inputs")
        np.savez_compressed(dest / "expected.npz", **{k: arrays["golden"][k] for k in SHIPPED})
        case = {"official_commit": COMMIT, "call": meta["call"], "official_argv": meta["argv"],
                "official_seed": 23123134, "threads": 1, "inputs": meta["inputs"], "versions": meta["versions"],
                "noise_floor": {k: floor[k] for k in SHIPPED if k in floor},
                "tolerance": {k: tol[k] for k in SHIPPED if k in tol}}
        (dest / "case.json").write_text(json.dumps(case, indent=1))
        this = {"weight_seed": WEIGHT_SEED, "configs": meta["configs"], "digests": meta["digests"],
                "manifest": json.loads((golden_dir / "manifest.json").read_text())}
        if release is not None and release != this:
            raise SystemExit("the cases ran on different tiny releases")
        release = this
        print(f"{name}: {dest}")
    (FIXTURES / "release.json").write_text(json.dumps(release))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
