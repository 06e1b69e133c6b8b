"""Noise floor of a golden case: the largest difference between two official runs, per array.

usage: noise_floor.py BASE/expected.npz OTHER/expected.npz [OTHER2/expected.npz ...] [--json OUT]

Each OTHER is a rerun of ``run_official.py`` with ``--perturb 1e-6`` (every random draw moved by
1e-6 N(0,1)) or another ``--threads``. Prints, per array, the max absolute difference to BASE, its
size relative to the array's max |value|, and writes ``{array: max over the reruns}`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def max_abs_diffs(base: dict, other: dict) -> dict[str, float]:
    """``{name: max |base - other|}`` over the float arrays both hold."""
    out = {}
    for k in sorted(base):
        if k in other and base[k].dtype.kind == "f":
            out[k] = float(np.abs(base[k].astype(np.float64) - other[k].astype(np.float64)).max())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base")
    ap.add_argument("others", nargs="+")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    base = dict(np.load(a.base))
    floor: dict[str, float] = {}
    print(f"{'array':32s} {'max|x|':>10s} " + " ".join(f"{'run' + str(i + 1):>10s}" for i in range(len(a.others))))
    diffs = [max_abs_diffs(base, dict(np.load(p))) for p in a.others]
    for k in diffs[0]:
        ref = float(np.abs(base[k]).max())
        floor[k] = max(d[k] for d in diffs)
        print(f"{k:32s} {ref:10.3g} " + " ".join(f"{d[k]:10.2e}" for d in diffs))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(floor, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
