"""Draw pose images with the OFFICIAL ``DWPose/skeleton_extraction.py`` ``draw_pose`` and record them.

Runs in the official venv (plus matplotlib, which the script imports). The script builds its ONNX
DWPose detector at import; a stand-in ``dwpose_utils.dwpose_detector`` module is put in its place
(the detector is never called here: the keypoints are given). The poses are synthetic bodies
and hands with varied confidences (some below the 0.3 threshold, some points off-image), in the
layout the official detector returns (normalised candidate, subset indices, scores). The
``dwpose_utils`` package itself is replaced too (its ``__init__`` loads the ONNX models).

Writes OUT/poses.json (the keypoints, as the studio's PoseTrack holds them: body (18, 2),
body_conf (18,), hands (2, 21, 2), hands_conf (2, 21)) and OUT/pose_{i}_{W}x{H}.png.

usage: run_official_pose.py --official DIR --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import types
from pathlib import Path

import numpy as np

SIZES = ((64, 64), (96, 128), (80, 48), (256, 256))  # (width, height)


def synthetic_poses(n: int = 3, seed: int = 5) -> list[dict]:
    """Bodies roughly upright in the middle of the image, hands near the wrists, varied confidences."""
    rng = np.random.default_rng(seed)
    base = np.array([[0.5, 0.15], [0.5, 0.28], [0.38, 0.3], [0.3, 0.45], [0.28, 0.6], [0.62, 0.3], [0.7, 0.45],
                     [0.72, 0.6], [0.42, 0.6], [0.42, 0.78], [0.42, 0.95], [0.58, 0.6], [0.58, 0.78], [0.58, 0.95],
                     [0.47, 0.13], [0.53, 0.13], [0.44, 0.15], [0.56, 0.15]])
    out = []
    for i in range(n):
        body = base + rng.normal(0, 0.02, base.shape)
        conf = rng.uniform(0.35, 1.0, 18)
        conf[rng.choice(18, 3, replace=False)] = rng.uniform(0.0, 0.3, 3)
        hands = np.stack([body[4] + rng.normal(0, 0.03, (21, 2)), body[7] + rng.normal(0, 0.03, (21, 2))])
        hands_conf = rng.uniform(0.0, 1.0, (2, 21))
        if i == 2:
            hands[1, :5] = [-0.1, 0.5]  # off the image: not drawn
        out.append({"body": body.tolist(), "body_conf": conf.tolist(), "hands": hands.tolist(),
                    "hands_conf": hands_conf.tolist()})
    return out


def official_pose(p: dict) -> dict:
    """The dict the official ``DWposeDetectorAligned`` returns for one person (no face landmarks)."""
    conf = np.array(p["body_conf"])[None]
    subset = np.where(conf > 0.3, np.arange(18)[None], -1).astype(np.float64)
    return {"bodies": {"candidate": np.array(p["body"]), "subset": subset, "score": conf},
            "hands": np.array(p["hands"]), "hands_score": np.array(p["hands_conf"]),
            "faces": np.zeros((1, 0, 2)), "faces_score": np.zeros((1, 0))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    a = ap.parse_args(argv)
    sys.path.insert(0, str(a.official / "DWPose"))
    package = types.ModuleType("dwpose_utils")  # its __init__ loads the ONNX models
    package.__path__ = []
    stand_in = types.ModuleType("dwpose_utils.dwpose_detector")
    stand_in.dwpose_detector_aligned = None
    sys.modules["dwpose_utils"], sys.modules["dwpose_utils.dwpose_detector"] = package, stand_in
    import cv2
    from PIL import Image
    from skeleton_extraction import draw_pose

    a.out.mkdir(parents=True, exist_ok=True)
    poses = synthetic_poses()
    (a.out / "poses.json").write_text(json.dumps({"sizes": SIZES, "poses": poses}))
    for i, p in enumerate(poses):
        for w, h in SIZES:
            chw = draw_pose(official_pose(p), h, w)
            # as skeleton_extraction's __main__ saves it: HWC through cv2.imwrite
            cv2.imwrite(str(a.out / "tmp.png"), np.transpose(chw, (1, 2, 0)))
            rgb = np.array(Image.open(a.out / "tmp.png").convert("RGB"))  # as the inference script reads it
            Image.fromarray(rgb).save(a.out / f"pose_{i}_{w}x{h}.png")
    (a.out / "tmp.png").unlink()
    print(f"{len(poses)} poses x {len(SIZES)} sizes -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
