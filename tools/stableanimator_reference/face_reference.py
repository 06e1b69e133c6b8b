"""Golden face analysis from insightface itself, the way StableAnimator's ``inference_basic.py``
calls it, for the studio's face-path parity test (``tests/stableanimator/test_face_parity.py``).

Runs in a venv with the real ``insightface`` package (0.7.3, the release current when StableAnimator
pinned "insightface" unversioned; build it with Cython, stand in ``albumentations``, which only its
mask renderer imports) and onnx/onnxruntime. Writes into ``models/antelopev2/`` of a temporary
root:

* ``scrfd_10g_bnkps.onnx``: :func:`write_pixel_detector`, SCRFD's signature (1x3x640x640 in, 9
  heads out) with seeded random stride-s convolutions of the pixels as heads (sigmoid scores, box
  distances ``|x| + 1`` stride units), so the result depends on the letterbox and the blob and
  gives many overlapping candidates for NMS;
* ``glintr100.onnx``: the synthetic release's ArcFace stand-in (a seeded linear map of the crop).

Then, per photo, exactly the official sequence: ``cv2.imread`` -> ``cvtColor(COLOR_RGB2BGR)`` ->
``FaceAnalysis(name='antelopev2', root=ROOT).prepare(ctx_id=-1, det_size=(640, 640))`` ->
``app.get`` -> the face with the largest box -> its ``embedding``; every face's box, score and
keypoints are recorded too, and the embedding's noise floor (:func:`embedding_floor`). Output:
``expected.npz`` and ``case.json`` (versions, seeds, photos, floors).

usage: python tools/stableanimator_reference/face_reference.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DETECTOR_SEED = 5
RECOGNISER_SEED = 0
SCORE_GAIN, SCORE_BIAS = 6.0, 8.0

#: name -> (photo file in the repository, rows kept: a crop to a wide photo, or None)
PHOTOS = {"real_tall": ("resources/sample_real/reference.jpg", None),
          "drawn_wide": ("resources/sample/reference.png", 300)}


def photo_bgr(name: str) -> np.ndarray:
    """The photo as ``cv2.imread`` gives it (BGR), cropped as :data:`PHOTOS` says."""
    import cv2

    rel, rows = PHOTOS[name]
    img = cv2.imread(str(ROOT / rel))
    return np.ascontiguousarray(img[:rows] if rows else img)


def write_pixel_detector(path: Path, seed: int = DETECTOR_SEED) -> None:
    """An SCRFD-signature graph whose heads are random convolutions of the pixels (see above)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits, outs = [], [], {}
    for s in (8, 16, 32):
        w = rng.standard_normal((30, 3, s, s)).astype(np.float32) / np.sqrt(3 * s * s)
        inits += [numpy_helper.from_array(w, f"w{s}"),
                  numpy_helper.from_array(np.array([-1, 15], np.int64), f"shape{s}")]
        nodes += [helper.make_node("Conv", ["input.1", f"w{s}"], [f"c{s}"], kernel_shape=[s, s], strides=[s, s]),
                  helper.make_node("Transpose", [f"c{s}"], [f"t{s}"], perm=[0, 2, 3, 1]),
                  helper.make_node("Reshape", [f"t{s}", f"shape{s}"], [f"r{s}"]),
                  helper.make_node("Split", [f"r{s}"], [f"sc{s}", f"bb{s}", f"kps_{s}"], axis=1,
                                   split=[1, 4, 10])]
        inits += [numpy_helper.from_array(np.float32(SCORE_GAIN), f"gain{s}"),
                  numpy_helper.from_array(np.float32(SCORE_BIAS), f"bias{s}"),
                  numpy_helper.from_array(np.float32(1.0), f"one{s}")]
        nodes += [helper.make_node("Mul", [f"sc{s}", f"gain{s}"], [f"g{s}"]),
                  helper.make_node("Sub", [f"g{s}", f"bias{s}"], [f"z{s}"]),
                  helper.make_node("Sigmoid", [f"z{s}"], [f"score_{s}"]),
                  helper.make_node("Abs", [f"bb{s}"], [f"a{s}"]),
                  helper.make_node("Add", [f"a{s}", f"one{s}"], [f"bbox_{s}"])]
        n = (640 // s) ** 2 * 2
        outs.update({f"score_{s}": [n, 1], f"bbox_{s}": [n, 4], f"kps_{s}": [n, 10]})
    order = [f"{k}_{s}" for k in ("score", "bbox", "kps") for s in (8, 16, 32)]
    graph = helper.make_graph(nodes, "scrfd_pixel_standin",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 640, 640])],
                              [helper.make_tensor_value_info(k, TensorProto.FLOAT, outs[k]) for k in order], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def embedding_floor(app, image: np.ndarray, kps: np.ndarray, embedding: np.ndarray, trials: int = 20) -> float:
    """How far the official embedding moves when the keypoints move by 1e-4 px (float32 rounding
    of ~500 px coordinates is ~6e-5 px): the alignment's bilinear warp quantises positions to 1/32
    px, so a last-digit change of the transform can move a few crop pixels by a level or more."""
    from insightface.utils import face_align

    rec = app.models["recognition"]
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(trials):
        crop = face_align.norm_crop(image, landmark=kps + rng.uniform(-1e-4, 1e-4, kps.shape).astype(np.float32))
        worst = max(worst, float(np.abs(rec.get_feat(crop).ravel() - embedding).max()))
    return worst


def write_models(root: Path) -> Path:
    """``root/models/antelopev2/`` with both stand-ins; returns that folder."""
    sys.path.insert(0, str(ROOT / "tools" / "synthetic_releases"))
    try:
        from antelopev2 import write_recogniser
    finally:
        sys.path.pop(0)
    folder = root / "models" / "antelopev2"
    write_pixel_detector(folder / "scrfd_10g_bnkps.onnx")
    write_recogniser(folder / "glintr100.onnx", seed=RECOGNISER_SEED)
    return folder


def main(argv: list[str] | None = None) -> int:
    """Run insightface as the official script does and write the golden files into OUT_DIR."""
    import cv2
    import insightface
    import onnxruntime
    from insightface.app import FaceAnalysis

    out = Path((argv or sys.argv[1:])[0])
    out.mkdir(parents=True, exist_ok=True)
    arrays, cases = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        write_models(Path(tmp))
        app = FaceAnalysis(name="antelopev2", root=tmp, providers=["CPUExecutionProvider"],
                           allowed_modules=["detection", "recognition"])
        app.prepare(ctx_id=-1, det_size=(640, 640))
        for name in PHOTOS:
            bgr = photo_bgr(name)
            image = cv2.cvtColor(bgr, cv2.COLOR_RGB2BGR)  # as inference_basic.py: RGB handed over as BGR
            faces = app.get(image)
            best = sorted(faces, key=lambda f: (f["bbox"][2] - f["bbox"][0]) * (f["bbox"][3] - f["bbox"][1]))[-1]
            arrays[f"{name}/boxes"] = np.array([f["bbox"] for f in faces], np.float32)
            arrays[f"{name}/scores"] = np.array([f["det_score"] for f in faces], np.float32)
            arrays[f"{name}/points"] = np.array([f["kps"] for f in faces], np.float32)
            arrays[f"{name}/best_box"] = np.asarray(best["bbox"], np.float32)
            arrays[f"{name}/embedding"] = np.asarray(best["embedding"], np.float32)
            floor = embedding_floor(app, image, np.asarray(best["kps"], np.float32), best["embedding"])
            cases[name] = {"photo": PHOTOS[name][0], "rows": PHOTOS[name][1], "shape": list(bgr.shape),
                           "faces": len(faces), "embedding_floor": floor}
    np.savez_compressed(out / "expected.npz", **arrays)
    info = {"official": "Francis-Rings/StableAnimator 020e7f2 inference_basic.py (face lines)",
            "insightface": insightface.__version__, "onnxruntime": onnxruntime.__version__,
            "opencv": cv2.__version__, "numpy": np.__version__, "detector_seed": DETECTOR_SEED,
            "recogniser_seed": RECOGNISER_SEED, "score_gain": SCORE_GAIN, "score_bias": SCORE_BIAS,
            "cases": cases}
    (out / "case.json").write_text(json.dumps(info, indent=1))
    print(json.dumps(info["cases"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
