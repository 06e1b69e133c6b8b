"""Stand-ins for insightface's antelopev2 face models (``models/antelopev2/``), written with the
``onnx`` package (a dev dependency) in the signatures of the real graphs, so the studio's face path
(detection, alignment, embedding) runs on a synthetic release.

``scrfd_10g_bnkps.onnx``: input ``input.1`` ``(1, 3, 640, 640)`` float; 9 outputs, the real
SCRFD-10G-bnkps heads in insightface's order -- scores ``(12800|3200|800, 1)``, box distances
``(.., 4)``, keypoint distances ``(.., 10)`` for the strides 8, 16, 32 with 2 anchors per cell.
The stand-in ignores the pixels: its outputs are constants that decode (insightface's decoding,
:mod:`studio.backends.stableanimator.face_detect`) to a fixed scene in the 640x640 letterbox:

* the face, score 0.9, box :data:`FACE_BOX` (stride 16, cell (11, 9), anchor 0) with 5
  keypoints :data:`FACE_POINTS` (ArcFace's template fitted into the box);
* a duplicate of it, score 0.8, shifted by 2 px (anchor 1 of the same cell), that NMS removes;
* a smaller face, score 0.7, box :data:`SMALL_BOX` (stride 8), that "largest face" leaves out;
* every other anchor scores 0 (below the 0.5 threshold).

On the bundled real sample (512x896, letterbox scale 640/896) the face box lands on the dancer's
head. ``glintr100.onnx``: input ``input.1`` ``(N, 3, 112, 112)``, output ``(N, 512)``: a seeded
random linear map of the aligned crop (a 14x14 stride-14 convolution to 8 channels, flattened),
so the embedding depends on the alignment. ``full=True`` writes both at the real files' sizes
(glintr100: a two-layer linear head with its 65 M parameters, about 261 MB; SCRFD: a
pixel-mean branch, multiplied by zero, padding it to about 17 MB), the same decoded scene.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DET_SIZE = 640
STRIDES = (8, 16, 32)
ANCHORS = 2
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)

#: (stride, cell x, cell y, anchor, score, box distances l, t, r, b in pixels)
FACE = (16, 11, 9, 0, 0.9, (16.0, 32.0, 32.0, 32.0))
DUPLICATE = (16, 11, 9, 1, 0.8, (14.0, 30.0, 34.0, 34.0))
SMALL = (8, 8, 60, 0, 0.7, (8.0, 8.0, 8.0, 8.0))


def _box(entry) -> tuple[float, float, float, float]:
    stride, cx, cy, _, _, (l, t, r, b) = entry
    x, y = cx * stride, cy * stride
    return (x - l, y - t, x + r, y + b)


FACE_BOX = _box(FACE)
SMALL_BOX = _box(SMALL)


def _points(box) -> np.ndarray:
    """ArcFace's template (its 112x112 crop) stretched onto ``box``."""
    x0, y0, x1, y1 = box
    return np.stack([x0 + TEMPLATE[:, 0] / 112 * (x1 - x0), y0 + TEMPLATE[:, 1] / 112 * (y1 - y0)], axis=1)


FACE_POINTS = _points(FACE_BOX)


def detector_outputs(faces: bool = True) -> list[np.ndarray]:
    """The 9 constant outputs (scores, boxes, keypoints per stride; distances in stride units);
    without ``faces`` every score is 0 (a photo without a face)."""
    scores, boxes, kps = [], [], []
    for stride in STRIDES:
        n = (DET_SIZE // stride) ** 2 * ANCHORS
        scores.append(np.zeros((n, 1), np.float32))
        boxes.append(np.ones((n, 4), np.float32))
        kps.append(np.zeros((n, 10), np.float32))
    for entry in (FACE, DUPLICATE, SMALL) if faces else ():
        stride, cx, cy, a, score, dist = entry
        k = STRIDES.index(stride)
        row = (cy * (DET_SIZE // stride) + cx) * ANCHORS + a
        scores[k][row, 0] = score
        boxes[k][row] = np.array(dist, np.float32) / stride
        points = _points(_box(entry)) - np.array([cx * stride, cy * stride], np.float32)
        kps[k][row] = points.reshape(-1) / stride
    return scores + boxes + kps


def _tensor(name: str, array: np.ndarray):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.ascontiguousarray(array), name)


def _save(graph, path: Path) -> None:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="xdyna-studio")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def write_detector(path: Path, full: bool = False, seed: int = 0, faces: bool = True) -> None:
    """``scrfd_10g_bnkps.onnx`` stand-in (see the module docstring; ``faces=False``: it finds none)."""
    from onnx import TensorProto, helper

    names = [f"{kind}_{s}" for kind in ("score", "bbox", "kps") for s in STRIDES]
    nodes, inits = [], []
    # zero = 0 * mean(pixels): ties every output to the input, as a real graph is
    nodes.append(helper.make_node("ReduceMean", ["input.1"], ["pixel_mean"], axes=[1, 2, 3], keepdims=0))
    feature = "pixel_mean"
    if full:  # padding to the real file's size, through a branch the graph really computes
        rng = np.random.default_rng(seed)
        inits.append(_tensor("pad_w", rng.standard_normal((1, 4_000_000), dtype=np.float32)))
        nodes.append(helper.make_node("Unsqueeze", ["pixel_mean", "axes1"], ["pixel_mean_2d"]))
        inits.append(_tensor("axes1", np.array([1], np.int64)))
        nodes.append(helper.make_node("MatMul", ["pixel_mean_2d", "pad_w"], ["pad_out"]))
        nodes.append(helper.make_node("ReduceSum", ["pad_out"], ["feature"], keepdims=0))
        feature = "feature"
    inits.append(_tensor("zero", np.zeros((), np.float32)))
    nodes.append(helper.make_node("Mul", [feature, "zero"], ["nothing"]))
    outputs = []
    for name, value in zip(names, detector_outputs(faces)):
        inits.append(_tensor(f"{name}_const", value))
        nodes.append(helper.make_node("Add", [f"{name}_const", "nothing"], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, "scrfd_10g_bnkps_standin",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, DET_SIZE, DET_SIZE])],
                              outputs, inits)
    _save(graph, path)


def write_recogniser(path: Path, full: bool = False, seed: int = 0) -> None:
    """``glintr100.onnx`` stand-in (see the module docstring)."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed + 1)
    nodes, inits = [], []
    if full:
        hidden = 1728  # 3*112*112*1728 + 1728*512: glintr100's 65 M parameters
        inits += [_tensor("fc1_w", rng.standard_normal((3 * 112 * 112, hidden), dtype=np.float32) / 194.0),
                  _tensor("fc2_w", rng.standard_normal((hidden, 512), dtype=np.float32) / 41.6)]
        nodes += [helper.make_node("Flatten", ["input.1"], ["flat"]),
                  helper.make_node("MatMul", ["flat", "fc1_w"], ["hidden"]),
                  helper.make_node("MatMul", ["hidden", "fc2_w"], ["embedding"])]
    else:
        inits.append(_tensor("conv_w", rng.standard_normal((8, 3, 14, 14), dtype=np.float32) / 24.0))
        nodes += [helper.make_node("Conv", ["input.1", "conv_w"], ["patches"], kernel_shape=[14, 14], strides=[14, 14]),
                  helper.make_node("Flatten", ["patches"], ["embedding"])]
    graph = helper.make_graph(nodes, "glintr100_standin",
                              [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["None", 3, 112, 112])],
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["None", 512])], inits)
    _save(graph, path)


def write(folder: Path, full: bool = False, seed: int = 0) -> list[Path]:
    """Both stand-ins under ``folder/models/antelopev2/``; returns their paths."""
    det = Path(folder) / "models" / "antelopev2" / "scrfd_10g_bnkps.onnx"
    rec = det.with_name("glintr100.onnx")
    write_detector(det, full, seed)
    write_recogniser(rec, full, seed)
    return [det, rec]
