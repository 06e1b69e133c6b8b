"""Face detection for StableAnimator's ArcFace input: insightface's SCRFD (antelopev2
``scrfd_10g_bnkps.onnx``) run with onnxruntime, decoded as insightface decodes it. Torch-free.

What the official code does (``FaceAnalysis(name='antelopev2').prepare(det_size=(640, 640))``,
insightface's ``model_zoo/scrfd.py``), reproduced here:

* **Letterbox**: the image is resized (bilinear, aspect kept) to fit the detector's input
  (640x640, or the graph's own size when its input shape is fixed) and put in the top-left
  corner of a black canvas; ``scale`` = resized height / image height maps detections back.
* **Blob**: ``(pixel - 127.5) / 128``, channels reversed (insightface's ``swapRB=True``: it is
  handed BGR and feeds the network RGB), NCHW float32.
* **Outputs**: 9 arrays, scores then box distances then keypoint distances for the strides 8, 16
  and 32, 2 anchors per cell (``(cells*2, 1)``, ``(cells*2, 4)``, ``(cells*2, 10)``, with or
  without a leading batch axis). Distances are in stride units.
* **Decoding**: anchor centres are the cell corners ``(x*stride, y*stride)``, each repeated for
  its 2 anchors; a box is ``centre - (l, t)``, ``centre + (r, b)``; keypoint ``k`` is ``centre +
  (dx_k, dy_k)``. Scores below 0.5 are dropped; candidates are ordered by score and reduced by
  greedy NMS at IoU 0.4 (insightface's "+1" pixel areas). Both orderings use numpy's default
  (unstable) sort, as insightface does, so equal scores (saturated sigmoids) come out in its order
  and NMS keeps the same boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: The official ``det_size`` (used when the graph's input size is not fixed).
DET_SIZE = (640, 640)
DET_THRESHOLD = 0.5
NMS_THRESHOLD = 0.4
STRIDES = (8, 16, 32)
ANCHORS = 2
INPUT_MEAN = 127.5
INPUT_STD = 128.0


@dataclass(frozen=True)
class FaceDetection:
    """One face: ``box`` (x0, y0, x1, y1) and ``points`` (5, 2) -- eyes, nose, mouth corners, as
    the person's right eye first -- in the pixels of the image given to the detector."""

    box: tuple[float, float, float, float]
    points: tuple[tuple[float, float], ...]
    score: float

    @property
    def area(self) -> float:
        """The box area (the official code keeps the face with the largest)."""
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


def letterbox(image: np.ndarray, size: tuple[int, int] = DET_SIZE) -> tuple[np.ndarray, float]:
    """``image`` (H, W, 3) uint8 resized into the top-left of a black ``size`` (w, h) canvas, and
    the scale from image pixels to canvas pixels (insightface's ``det_scale``)."""
    h, w = image.shape[:2]
    if h / w > size[1] / size[0]:
        new_h, new_w = size[1], int(size[1] / (h / w))
    else:
        new_w, new_h = size[0], int(size[0] * (h / w))
    canvas = np.zeros((size[1], size[0], 3), np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image, (new_w, new_h))
    return canvas, new_h / h


def detector_blob(canvas: np.ndarray) -> np.ndarray:
    """The detector's input: ``(1, 3, H, W)`` float32, channels reversed, ``(x - 127.5) / 128``."""
    x = (canvas[..., ::-1].astype(np.float32) - INPUT_MEAN) / INPUT_STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def anchor_centres(height: int, width: int, stride: int, anchors: int = ANCHORS) -> np.ndarray:
    """``(height*width*anchors, 2)`` anchor centres (x, y) of a stride's feature map, row-major,
    each cell's centre repeated for its anchors."""
    ys, xs = np.mgrid[:height, :width]
    centres = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    return np.repeat(centres, anchors, axis=0)


def distance_to_box(centres: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """``(N, 4)`` boxes from centres and (left, top, right, bottom) distances."""
    return np.concatenate([centres - distance[:, :2], centres + distance[:, 2:4]], axis=1)


def distance_to_points(centres: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """``(N, K, 2)`` points from centres and ``(N, 2K)`` (dx, dy) offsets."""
    return centres[:, None, :] + distance.reshape(len(distance), distance.shape[1] // 2, 2)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float = NMS_THRESHOLD) -> list[int]:
    """Indices kept by greedy non-maximum suppression, highest score first (areas with insightface's
    +1 pixel, a box suppressed when its IoU with a kept one is above ``threshold``)."""
    x0, y0, x1, y1 = boxes.T
    areas = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = scores.argsort()[::-1]  # numpy's default sort, as insightface: equal scores keep its order
    keep: list[int] = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter) <= threshold]
    return keep


def decode(outputs: list[np.ndarray], input_hw: tuple[int, int], scale: float = 1.0,
           threshold: float = DET_THRESHOLD, nms_threshold: float = NMS_THRESHOLD) -> list[FaceDetection]:
    """The faces in SCRFD's 9 ``outputs`` for an input of ``input_hw``, in image pixels (canvas
    pixels / ``scale``), best score first."""
    if len(outputs) != 3 * len(STRIDES):
        raise ValueError(f"SCRFD with keypoints has {3 * len(STRIDES)} outputs, this graph has {len(outputs)}")
    n = len(STRIDES)
    boxes, points, scores = [], [], []
    for i, stride in enumerate(STRIDES):
        score, box, kps = (np.asarray(outputs[i + k * n], np.float32) for k in range(3))
        if score.ndim == 3:  # a batched export: (1, N, C)
            score, box, kps = score[0], box[0], kps[0]
        centres = anchor_centres(input_hw[0] // stride, input_hw[1] // stride, stride)
        if len(centres) != len(score):
            raise ValueError(f"SCRFD stride {stride} gives {len(score)} anchors, expected {len(centres)} "
                             f"for a {input_hw[1]}x{input_hw[0]} input")
        hit = np.flatnonzero(score[:, 0] >= threshold)
        scores.append(score[hit, 0])
        boxes.append(distance_to_box(centres[hit], box[hit] * stride))
        points.append(distance_to_points(centres[hit], kps[hit] * stride))
    s, b, p = np.concatenate(scores), np.concatenate(boxes) / scale, np.concatenate(points) / scale
    if not len(s):
        return []
    order = s.argsort()[::-1]  # insightface orders the candidates by score before NMS (ties included)
    s, b, p = s[order], b[order], p[order]
    return [FaceDetection(tuple(float(v) for v in b[k]), tuple((float(x), float(y)) for x, y in p[k]), float(s[k]))
            for k in nms(b, s, nms_threshold)]


def largest(faces: list[FaceDetection]) -> FaceDetection | None:
    """The face with the largest box (the official choice; the last of equal areas, as its sort)."""
    best = None
    for f in faces:
        if best is None or f.area >= best.area:
            best = f
    return best


class FaceDetector:
    """SCRFD on an onnxruntime session (created once)."""

    def __init__(self, path: Path | str, providers: list[str]) -> None:
        import onnxruntime

        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(self.path), providers=providers)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.output_names = [o.name for o in self.session.get_outputs()]
        h, w = inp.shape[2:4]
        fixed = isinstance(h, int) and isinstance(w, int)
        self.input_size = (w, h) if fixed else DET_SIZE  # (w, h), as insightface's det_size

    def detect(self, image: np.ndarray) -> list[FaceDetection]:
        """The faces in ``image`` (H, W, 3) uint8, handed over as the official code hands it to
        insightface (see :mod:`.face_models` on channel order), best score first."""
        canvas, scale = letterbox(image, self.input_size)
        outputs = self.session.run(self.output_names, {self.input_name: detector_blob(canvas)})
        return decode(outputs, canvas.shape[:2], scale)
