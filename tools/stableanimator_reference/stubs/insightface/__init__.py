"""Stand-in for insightface: the face analysis returns the embedding named by SA_STUB_FACE_EMBEDDING.

The golden cases feed a given 512-d ArcFace embedding (the raw ``embedding`` field, as the official
``inference_basic.py`` reads it), so no ONNX model is needed to run the official pipeline.
"""

from . import app, model_zoo  # noqa: F401
