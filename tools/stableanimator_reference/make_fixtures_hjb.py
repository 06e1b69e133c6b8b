"""Regenerate the HJB golden case(s) under tests/fixtures/stableanimator_tiny from the official pro path.

For every case of ``cases.HJB_CASES``: runs of ``run_official_hjb.py``: the golden one (one
thread) and reruns that move it by float noise only: every input and draw moved by 1e-6 N(0, 1);
two threads; and the same arithmetic reordered with no input changed (``--reorder``: oneDNN off
for the convolutions, the attention on torch's SDPA kernel, each alone and both, on one and two
threads; both with the 1e-6 perturbation too). The reordered runs are the noise a faithful
reimplementation adds (another kernel, another summation order), which in this case moves the
end-to-end arrays as far as the input perturbation does. The HJB path is badly
conditioned end to end: Adam's first step moves every element of ``z0`` by about the learning
rate in the direction of its gradient's sign, so an element whose gradient is near zero flips
by twice the learning rate under a 1e-6 input change. Two floors per array are therefore kept:
the largest difference (``noise_floor``) and the mean absolute difference
(``noise_floor_mean``), each over all reruns (``floor_runs``: each rerun's arguments;
``noise_floor_by_run``: each rerun's largest difference); tolerances are 10x each (at least 1e-6 of
max|x|). The per-component comparison (the loss, the gradient and ``z0`` after one iteration,
from the official ``z0``) also gets ``grad_floor``: the largest gradient difference at step 0,
iteration 0; elements whose official gradient is within 10x of it are sign-ambiguous, and
``z0_iter1_floor_sure``: the largest difference of ``z0`` after that iteration on the others.

usage: make_fixtures_hjb.py --official DIR --python VENV_PYTHON [--work DIR] [--reuse]
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
SHIPPED = ("image_embeddings", "id_tokens", "unet_encoder_hidden_states", "unet_added_time_ids", "image_latents",
           "noise_aug_noise", "init_noise", "sigmas", "timesteps", "unet_step0_outputs", "step_latents_in",
           "step_noise_pred", "step_latents_out", "decoded", "hjb_reference_embedding", "hjb_steps", "hjb_lr",
           "hjb_losses", "hjb_z0_in", "hjb_z0_iter", "hjb_z0_out", "hjb_grads", "hjb_grad0")
RUNS = {"golden": ["--threads", "1"], "perturbed": ["--threads", "1", "--perturb", "1e-6"], "threads2": ["--threads", "2"],
        "reorder_conv": ["--threads", "1", "--reorder", "conv"],
        "reorder_attention": ["--threads", "1", "--reorder", "attention"],
        "reorder_both": ["--threads", "1", "--reorder", "conv,attention"],
        "reorder_conv_threads2": ["--threads", "2", "--reorder", "conv"],
        "reorder_attention_threads2": ["--threads", "2", "--reorder", "attention"],
        "reorder_both_threads2": ["--threads", "2", "--reorder", "conv,attention"],
        "reorder_both_perturbed": ["--threads", "1", "--reorder", "conv,attention", "--perturb", "1e-6"]}


def floors(golden: dict, others: list[dict]) -> tuple[dict, dict]:
    """Per float array: the largest and the mean absolute difference to the golden run, over the reruns."""
    fmax, fmean = {}, {}
    for k, v in golden.items():
        if v.dtype.kind != "f":
            continue
        d = [np.abs(v.astype(np.float64) - o[k].astype(np.float64)) for o in others]
        fmax[k], fmean[k] = max(float(x.max()) for x in d), max(float(x.mean()) for x in d)
    return fmax, fmean


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--python", required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sa_hjb_fixture_runs"))
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    from cases import HJB_CASES

    for name in HJB_CASES:
        arrays = {}
        for run, extra in RUNS.items():
            out = a.work / f"{name}_{run}"
            if not (a.reuse and (out / "expected.npz").is_file()):
                subprocess.run(["nice", "-n", "10", a.python, str(HERE / "run_official_hjb.py"), "--official",
                                str(a.official), "--case", name, "--out", str(out), *extra], check=True,
                               stdout=subprocess.DEVNULL)
            arrays[run] = dict(np.load(out / "expected.npz"))
        g, reruns = arrays["golden"], [r for r in RUNS if r != "golden"]
        others = [arrays[r] for r in reruns]
        fmax, fmean = floors(g, others)
        by_run = {r: floors(g, [arrays[r]])[0] for r in reruns}
        scale = {k: float(np.abs(v).max()) for k, v in g.items() if v.dtype.kind == "f"}
        grad_floor = max(float(np.abs(g["hjb_grads"][0, 0] - o["hjb_grads"][0, 0]).max()) for o in others)
        sure = np.abs(g["hjb_grads"][0, 0]) > 10 * grad_floor  # elements whose update direction is not in doubt
        z0_floor = max(float(np.abs(g["hjb_z0_iter"][0, 0] - o["hjb_z0_iter"][0, 0])[sure].max()) for o in others)
        golden_dir = a.work / f"{name}_golden"
        meta = json.loads((golden_dir / "run.json").read_text())
        manifest = json.loads((golden_dir / "manifest.json").read_text())
        dest = FIXTURES / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(golden_dir / "inputs", dest / "inputs")
        np.savez_compressed(dest / "expected.npz", **{k: g[k] for k in SHIPPED})
        case = {"official_commit": COMMIT, "script": "inference_op.py", "call": meta["call"],
                "official_argv": meta["argv"], "official_seed": 23123134, "threads": 1, "inputs": meta["inputs"],
                "versions": meta["versions"], "arcface_manifest": manifest["arcface"],
                "arcface_digest": meta["digests"]["arcface"],
                "noise_floor": {k: fmax[k] for k in SHIPPED if k in fmax},
                "noise_floor_mean": {k: fmean[k] for k in SHIPPED if k in fmean},
                "tolerance": {k: max(10 * fmax[k], 1e-6 * scale[k]) for k in SHIPPED if k in fmax},
                "tolerance_mean": {k: max(10 * fmean[k], 1e-6 * scale[k]) for k in SHIPPED if k in fmean},
                "grad_floor": grad_floor, "z0_iter1_floor_sure": z0_floor, "sure_fraction": float(sure.mean()),
                "floor_runs": {r: RUNS[r] for r in reruns},
                "noise_floor_by_run": {r: {k: by_run[r][k] for k in SHIPPED if k in by_run[r]} for r in reruns}}
        (dest / "case.json").write_text(json.dumps(case, indent=1))
        release = json.loads((FIXTURES / "release.json").read_text())
        if {k: v for k, v in meta["digests"].items() if k != "arcface"} != release["digests"]:
            raise SystemExit("the HJB case ran on another tiny release than the basic cases")
        print(f"{name}: {dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
