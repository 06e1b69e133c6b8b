"""The studio's face path against insightface itself, called as StableAnimator's official inference
calls it (golden results in tests/fixtures/stableanimator_face, see its README): every detection
(box, score, 5 points, in insightface's order), the chosen face and its ArcFace embedding."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "stableanimator_face"


@pytest.fixture(scope="module")
def harness():
    sys.path.insert(0, str(ROOT / "tools" / "stableanimator_reference"))
    try:
        import face_reference
    finally:
        sys.path.pop(0)
    return face_reference


@pytest.fixture(scope="module")
def models(harness, tmp_path_factory):
    from studio.backends.stableanimator.face_models import FaceModels

    root = tmp_path_factory.mktemp("sa_face_parity")
    harness.write_models(root)
    return FaceModels(root)


@pytest.mark.parametrize("name", ["real_tall", "drawn_wide"])
def test_faces_and_embedding_match_insightface(name, harness, models):
    expected = dict(np.load(FIXTURE / "expected.npz"))
    case = json.loads((FIXTURE / "case.json").read_text())["cases"][name]
    rgb = np.ascontiguousarray(harness.photo_bgr(name)[..., ::-1])
    assert list(rgb.shape) == case["shape"]
    res = models.analyse(rgb)
    assert len(res.faces) == case["faces"] > 50  # many candidates survive NMS: its order matters
    np.testing.assert_allclose([f.box for f in res.faces], expected[f"{name}/boxes"], atol=1e-3)
    np.testing.assert_allclose([f.score for f in res.faces], expected[f"{name}/scores"], atol=1e-5)
    np.testing.assert_allclose([f.points for f in res.faces], expected[f"{name}/points"], atol=1e-3)
    np.testing.assert_allclose(res.face.box, expected[f"{name}/best_box"], atol=1e-3)
    err = np.abs(res.embedding - expected[f"{name}/embedding"]).max()
    assert err <= 3 * case["embedding_floor"], (err, case["embedding_floor"])
