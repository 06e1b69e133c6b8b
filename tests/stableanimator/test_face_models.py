"""The photo's face from the antelopev2 models of the weights folder (on the ONNX stand-ins of the
synthetic release): detection, the largest face, the embedding, no face, what is missing."""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stdout

import numpy as np
import pytest

from studio.backends.stableanimator import face_models as fm
from studio.backends.stableanimator.arcface import ArcFace, align_face
from studio.backends.stableanimator.layout import face_problems
from studio.core.backend import PhotoNote

SCALE = 640 / 896  # the real sample's letterbox scale (512x896 -> 365x640)


def test_the_largest_face_and_its_embedding(face_folder, standins, real_photo):
    models = fm.FaceModels(face_folder)
    res = models.analyse(real_photo)
    # the stand-in's scene: the face, its duplicate (removed by NMS), a smaller face (not chosen)
    assert len(res.faces) == 2 and res.message == ""
    np.testing.assert_allclose(res.face.box, np.array(standins.FACE_BOX) / SCALE, rtol=1e-5)
    np.testing.assert_allclose(res.face.points, standins.FACE_POINTS / SCALE, rtol=1e-5)
    np.testing.assert_allclose(res.faces[1].box, np.array(standins.SMALL_BOX) / SCALE, rtol=1e-5)
    assert res.face.score == pytest.approx(0.9)
    # the box lands on the sample dancer's head (hand-measured: about x 228-290, y 160-245)
    x0, y0, x1, y1 = res.face.box
    assert 215 < x0 < 240 and 280 < x1 < 300 and 145 < y0 < 170 and 235 < y1 < 260
    # the embedding is ArcFace of the crop aligned on those points, of the RGB photo as the official
    # inference hands it to insightface
    rec = ArcFace(face_folder / fm.RECOGNISER, ["CPUExecutionProvider"])
    want = rec.embed(align_face(real_photo, np.array(res.face.points, np.float32))[None])[0]
    np.testing.assert_allclose(res.embedding, want, rtol=1e-6)
    assert res.embedding.shape == (512,) and res.embedding.dtype == np.float32
    swapped = models.analyse(np.ascontiguousarray(real_photo[..., ::-1])).embedding
    assert not np.allclose(swapped, res.embedding)  # channel order matters


def test_no_face_is_a_zero_embedding_with_a_warning(tmp_path, standins, real_photo):
    standins.write(tmp_path)
    standins.write_detector(tmp_path / fm.DETECTOR, faces=False)
    res = fm.FaceModels(tmp_path).analyse(real_photo)
    assert res.face is None and res.faces == ()
    np.testing.assert_array_equal(res.embedding, np.zeros(512, np.float32))
    assert "identity" in res.message and "not be kept" in res.message
    note = fm.detect_for_display(real_photo, tmp_path)
    assert note.warning and note.message == fm.NO_FACE and note.boxes == ()


def test_display_note_is_the_face_the_render_uses(face_folder, real_photo):
    note = fm.detect_for_display(real_photo, face_folder)
    face = fm.FaceModels(face_folder).analyse(real_photo).face
    assert isinstance(note, PhotoNote) and not note.warning
    assert note.boxes == (face.box,) and note.points == face.points
    assert note.label == "face 0.90" and "1 smaller face ignored" in note.message
    assert fm.detect_for_display(real_photo, None) is None


def test_missing_face_files_are_named_with_where_they_go(tmp_path, face_folder, standins):
    problems = face_problems(tmp_path)
    assert len(problems) == 2
    for rel, line in zip(fm.FACE_FILES, problems):
        assert rel in line and str(tmp_path / rel) in line
    (tmp_path / "models" / "antelopev2").mkdir(parents=True)
    standins.write_detector(tmp_path / fm.DETECTOR)
    [line] = face_problems(tmp_path)
    assert "glintr100.onnx" in line
    assert face_problems(face_folder) == []
    with pytest.raises(Exception, match="glintr100.onnx"):
        fm.FaceModels(tmp_path)
    note = fm.detect_for_display(np.zeros((8, 8, 3), np.uint8), tmp_path)
    assert note.warning and "glintr100.onnx" in note.message


def test_missing_onnxruntime_is_named(monkeypatch, tmp_path):
    face_folder = tmp_path
    for rel in fm.FACE_FILES:  # the files are there (contents do not matter to the check)
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"onnx")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    [line] = face_problems(face_folder)
    assert "onnxruntime is not installed" in line
    assert face_problems(face_folder, runtime=False) == []
    from studio.backends.stableanimator.spec import SPEC

    assert "onnxruntime" in SPEC.missing_modules() and "onnxruntime" in SPEC.hint(["onnxruntime"])


def test_providers_follow_the_device():
    onnxruntime = pytest.importorskip("onnxruntime")

    assert fm.providers_for("cpu") == ["CPUExecutionProvider"]
    cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert fm.providers_for("cuda:0")[0] == ("CUDAExecutionProvider" if cuda else "CPUExecutionProvider")


def test_studio_backends_names_the_missing_face_model(tmp_path, standins):
    """A release without glintr100: ``studio backends`` says which file and where it goes."""
    pytest.importorskip("torch")
    import shutil

    from studio.cli import main
    from studio.core import registry
    from studio.backends.stableanimator.spec import SPEC

    folder = tmp_path / "weights"
    _write_release(folder)
    (folder / fm.RECOGNISER).unlink()
    ok, why = SPEC.availability(folder)
    assert not ok and "glintr100.onnx" in why
    with registry.installed(SPEC) if "stableanimator" not in registry.names() else _nothing():
        backend = registry.create_backend("stableanimator", folder)
        ok, why = backend.available()
        assert not ok and str(folder / fm.RECOGNISER) in why
        out = io.StringIO()
        with redirect_stdout(out), pytest.MonkeyPatch.context() as mp:
            mp.setenv("STUDIO_STABLEANIMATOR_WEIGHTS", str(folder))
            main(["backends"])
        assert "glintr100.onnx" in out.getvalue()
    shutil.rmtree(folder)


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _write_release(folder):
    import importlib.util as iu
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = iu.spec_from_file_location("make_synthetic_release", root / "tools" / "make_synthetic_release.py")
    module = iu.module_from_spec(spec)
    spec.loader.exec_module(module)
    with redirect_stdout(io.StringIO()):
        assert module.main([str(folder), "--backend", "stableanimator", "--scale", "small"]) == 0
