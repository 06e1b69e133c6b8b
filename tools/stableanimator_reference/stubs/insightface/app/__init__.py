"""``insightface.app.FaceAnalysis``: one face with the embedding stored at $SA_STUB_FACE_EMBEDDING."""

import os

import numpy as np


def _embedding():
    path = os.environ.get("SA_STUB_FACE_EMBEDDING")
    return None if not path else np.load(path).astype(np.float32)


class FaceAnalysis:
    def __init__(self, name=None, root=None, providers=None, **kwargs):
        pass

    def prepare(self, ctx_id=-1, det_size=(640, 640), **kwargs):
        return None

    def get(self, image):
        emb = _embedding()
        if emb is None:
            return []
        h, w = image.shape[:2]
        return [{"bbox": np.array([w * 0.25, h * 0.1, w * 0.75, h * 0.6], np.float32), "embedding": emb}]
