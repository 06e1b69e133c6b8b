"""``make_synthetic_release.py --backend stableanimator``: the official layout with the official key sets."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _writer(golden):
    root = golden.root.parents[2]
    spec = importlib.util.spec_from_file_location("make_synthetic_release", root / "tools" / "make_synthetic_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_release_has_the_official_keys_and_renders(golden, tmp_path):
    pytest.importorskip("onnx")  # the face-model stand-ins
    rc = _writer(golden).main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"])
    assert rc == 0
    info = json.loads((tmp_path / "rel" / "synthetic_release.json").read_text())
    official = golden.release()["digests"]
    # built from the studio's models, the same tensors as the release the official code loaded strictly
    assert {k: v for k, v in info["digests"].items() if k != "arcface"} == {k: v for k, v in official.items()
                                                                           if k != "unet"}
    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    pipe = StableAnimatorPipeline(load_components(tmp_path / "rel"))
    req = golden.request("b_odd_14f", steps=2)
    seen = []
    res = pipe(req, on_step=lambda s: seen.append(s.step))
    assert seen == [0, 1]
    assert res.frames.shape == (14, 48, 80, 3) and np.isfinite(res.frames).all()


def test_existing_release_is_not_overwritten(golden, tmp_path):
    pytest.importorskip("onnx")
    (tmp_path / "rel" / "Animation").mkdir(parents=True)
    assert _writer(golden).main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"]) == 2


def test_small_release_has_the_face_models(golden, tmp_path):
    """The antelopev2 stand-ins in the real graphs' signatures: SCRFD's 9 outputs at 640x640
    (2 anchors per cell of strides 8/16/32) and glintr100's (N, 512)."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    assert _writer(golden).main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"]) == 0
    from studio.backends.stableanimator.layout import FACE_FILES, face_problems

    assert face_problems(tmp_path / "rel") == []
    det = ort.InferenceSession(str(tmp_path / "rel" / FACE_FILES[0]), providers=["CPUExecutionProvider"])
    [inp] = det.get_inputs()
    assert inp.name == "input.1" and inp.shape == [1, 3, 640, 640]
    shapes = [o.shape for o in det.get_outputs()]
    assert shapes == [[n, c] for c in (1, 4, 10) for n in (12800, 3200, 800)]
    rec = ort.InferenceSession(str(tmp_path / "rel" / FACE_FILES[1]), providers=["CPUExecutionProvider"])
    assert rec.get_inputs()[0].shape[1:] == [3, 112, 112] and rec.get_outputs()[0].shape[1:] == [512]
    out = rec.run(None, {"input.1": np.zeros((3, 3, 112, 112), np.float32)})[0]
    assert out.shape == (3, 512)
    info = json.loads((tmp_path / "rel" / "synthetic_release.json").read_text())
    assert set(FACE_FILES) <= set(info["sizes"])


def test_without_onnx_the_writer_says_what_to_install(golden, tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real(name, *a))
    assert _writer(golden).main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"]) == 2
    assert "pip install 'onnx" in capsys.readouterr().err and not (tmp_path / "rel").exists()


def test_synthetic_arcface_has_the_official_key_layout(golden, tmp_path):
    """small: the official key names (one block per layer, as the HJB golden case's official net), narrow;
    full: iresnet100 at the official shapes. Both load with the studio's loader."""
    writer = _writer(golden)
    writer.main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"])
    from studio.backends.stableanimator.iresnet import IRESNET100_LAYERS, load_arcface
    from synthetic_releases.stableanimator import arcface_manifest

    sd = torch.load(tmp_path / "rel" / "Animation" / "glintr100_torch.pth", weights_only=True)
    assert set(sd) == set(golden.spec(golden.hjb)["arcface_manifest"])
    model = load_arcface(tmp_path / "rel" / "Animation" / "glintr100_torch.pth")
    assert model.layers == (1, 1, 1, 1) and model(torch.zeros(1, 3, 112, 112)).shape == (1, 512)
    full = arcface_manifest("full")
    assert full["layer3.29.conv2.weight"] == [256, 256, 3, 3] and "layer3.30.conv1.weight" not in full
    assert full["fc.weight"] == [512, 512 * 7 * 7] and len(IRESNET100_LAYERS) == 4
