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


def _standins():
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("antelopev2_standins",
                                                  root / "tools" / "synthetic_releases" / "antelopev2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_full_scale_detector_has_the_real_size_and_the_same_scene(tmp_path):
    """scrfd_10g_bnkps.onnx is 16.9 MB in antelopev2; the full stand-in pads to it through a branch
    the graph computes, and still decodes to the small one's faces."""
    standins = _standins()
    from studio.backends.stableanimator.face_detect import FaceDetector

    small, full = tmp_path / "small.onnx", tmp_path / "full.onnx"
    standins.write_detector(small)
    standins.write_detector(full, full=True)
    assert 16.0e6 < full.stat().st_size < 18.0e6 and small.stat().st_size < 1.5e6
    photo = np.full((896, 512, 3), 128, np.uint8)
    a = FaceDetector(small, ["CPUExecutionProvider"]).detect(photo)
    b = FaceDetector(full, ["CPUExecutionProvider"]).detect(photo)
    assert [f.box for f in a] == [f.box for f in b] and len(a) == 2


@pytest.mark.slow
def test_full_scale_recogniser_has_glintr100s_size(tmp_path):
    """glintr100.onnx is about 261 MB (65 M parameters); the full stand-in's linear head has as many."""
    standins = _standins()
    from studio.backends.stableanimator.arcface import ArcFace

    path = tmp_path / "glintr100.onnx"
    standins.write_recogniser(path, full=True)
    assert 255e6 < path.stat().st_size < 270e6
    out = ArcFace(path, ["CPUExecutionProvider"]).embed(np.zeros((2, 112, 112, 3), np.uint8))
    assert out.shape == (2, 512) and np.isfinite(out).all()
