"""Pose frames drawn by the OFFICIAL DynamiCtrl drawer (``dwpose/util.py:draw_pose``), as goldens.

``python pose_reference.py OUT --official SRC`` (official venv plus opencv-python-headless and
matplotlib, which the drawer imports) writes ``OUT/poses.json`` (per case: size, the body /
hands in the detector's output format, normalised to the frame, with their scores) and
``OUT/NN.png`` (the official drawing, RGB). The poses are seeded random perturbations of a
standing person with some low-confidence points (skipped or dimmed limbs), hands with partial
scores, and no face landmarks (the studio's tracks have none).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import numpy as np
from PIL import Image

STAND = np.array([[.5, .15], [.5, .25], [.4, .26], [.36, .4], [.34, .52], [.6, .26], [.64, .4], [.66, .52],
                  [.44, .52], [.43, .7], [.42, .88], [.56, .52], [.57, .7], [.58, .88], [.48, .13], [.52, .13],
                  [.46, .14], [.54, .14]])
SIZES = [(64, 64), (48, 64), (160, 96), (64, 48)]


def make_pose(rng: np.random.Generator) -> dict:
    body = STAND + rng.normal(0, 0.03, STAND.shape)
    score = np.clip(rng.uniform(0.2, 1.0, 18), 0, 1)
    score[rng.integers(0, 18, 2)] = 0.1
    hands = np.stack([np.array(body[4]) + rng.normal(0, 0.03, (21, 2)), np.array(body[7]) + rng.normal(0, 0.03, (21, 2))])
    hand_score = rng.uniform(0.0, 1.0, (2, 21))
    return {"body": body.tolist(), "body_score": score.tolist(), "hands": hands.tolist(), "hands_score": hand_score.tolist()}


def official_dict(p: dict) -> dict:
    """The detector's output format (one person) for ``draw_pose``."""
    score = np.array([p["body_score"]])
    subset = np.where(score > 0.3, np.arange(18)[None, :], -1).astype(float)
    return {"bodies": {"candidate": np.array(p["body"]), "subset": subset, "score": score},
            "hands": np.array(p["hands"]), "hands_score": np.array(p["hands_score"]),
            "faces": np.zeros((1, 0, 2)), "faces_score": np.zeros((1, 0))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--official", type=Path, required=True)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("dwpose_util", args.official / "dwpose" / "util.py")
    util = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(util)
    rng = np.random.default_rng(0)
    args.out.mkdir(parents=True, exist_ok=True)
    cases = []
    for k, (h, w) in enumerate(SIZES * 2):
        p = make_pose(rng)
        img = util.draw_pose(official_dict(p), h, w).transpose(1, 2, 0)
        Image.fromarray(img).save(args.out / f"{k:02d}.png")
        cases.append({"height": h, "width": w, **p})
    (args.out / "poses.json").write_text(json.dumps(cases) + "\n")
    print(f"{len(cases)} official pose frames in {args.out}")


if __name__ == "__main__":
    main()
