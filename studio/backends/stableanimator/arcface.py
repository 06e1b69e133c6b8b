"""The ArcFace embedding StableAnimator conditions on: the detected face aligned to ArcFace's
112x112 template, then insightface's ``glintr100.onnx`` (antelopev2) on onnxruntime. Torch-free.

As insightface computes it (``utils/face_align.py`` ``norm_crop``, ``model_zoo/arcface_onnx.py``):

* **Alignment**: the similarity transform (rotation, uniform scale, translation) that maps the 5
  detected points onto :data:`ARCFACE_TEMPLATE` in the least-squares sense (Umeyama's estimate,
  as scikit-image's ``SimilarityTransform.estimate``), applied with a bilinear warp into a black
  112x112 crop.
* **Embedding**: ``(pixel - 127.5) / 127.5``, channels reversed (``swapRB=True``), NCHW; the
  graph's ``(N, 512)`` output, not normalised (the official code uses ``face.embedding``, the raw
  vector, not ``normed_embedding``). insightface takes mean 0 / std 1 only for graphs converted
  from MXNet (first nodes named Sub/Mul); glintr100 is a PyTorch export and takes 127.5/127.5.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

CROP_SIZE = 112
INPUT_MEAN = 127.5
INPUT_STD = 127.5

#: Where ArcFace wants the eyes, the nose tip and the mouth corners in a 112x112 crop.
ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The ``(2, 3)`` similarity transform taking the points ``src`` (N, 2) closest to ``dst``
    (N, 2) in the least-squares sense (Umeyama 1991, with scale)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(cov) < 0:
        sign[1] = -1.0
    rank = np.linalg.matrix_rank(cov)
    if rank == 0:
        raise ValueError("the face's keypoints coincide; no alignment exists")
    if rank == 1 and np.linalg.det(u) * np.linalg.det(vt) > 0:
        rot = u @ vt
    elif rank == 1:
        rot = u @ np.diag([1.0, -1.0]) @ vt
    else:
        rot = u @ np.diag(sign) @ vt
    scale = (sigma @ sign) / s.var(0).sum()
    out = np.empty((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = mu_d - scale * rot @ mu_s
    return out


def align_face(image: np.ndarray, points: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The ``(size, size, 3)`` crop of ``image`` with the 5 ``points`` on ArcFace's template."""
    m = similarity_transform(np.asarray(points, np.float32), ARCFACE_TEMPLATE * (size / CROP_SIZE))
    return cv2.warpAffine(image, m, (size, size), borderValue=0.0)


def arcface_blob(crops: np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` float32 input of ``crops`` (N, H, W, 3) uint8."""
    x = (np.asarray(crops)[..., ::-1].astype(np.float32) - INPUT_MEAN) / INPUT_STD
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class ArcFace:
    """glintr100 on an onnxruntime session (created once)."""

    def __init__(self, path: Path | str, providers: list[str]) -> None:
        import onnxruntime

        self.path = Path(path)
        self.session = onnxruntime.InferenceSession(str(self.path), providers=providers)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.output_name = self.session.get_outputs()[0].name
        h, w = inp.shape[2:4]
        self.input_size = (int(w), int(h)) if isinstance(h, int) and isinstance(w, int) else (CROP_SIZE, CROP_SIZE)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """``(N, 512)`` float32 raw embeddings of aligned ``crops`` (N, 112, 112, 3) uint8."""
        crops = np.asarray(crops)
        if crops.shape[1:3] != self.input_size[::-1]:
            crops = np.stack([cv2.resize(c, self.input_size) for c in crops])
        out = self.session.run([self.output_name], {self.input_name: arcface_blob(crops)})[0]
        return np.asarray(out, np.float32).reshape(len(crops), -1)

    def embed_face(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The ``(512,)`` raw embedding of the face with ``points`` in ``image``."""
        return self.embed(align_face(image, points)[None])[0]
