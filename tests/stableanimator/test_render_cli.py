"""The issue's done-when command on a CPU: ``studio render --sample real --backend stableanimator
--weights TINY --frames 0:20 --steps 2 --size 64x64 -o out.mp4``, TINY written by
``make_synthetic_release.py TINY --backend stableanimator --scale small`` (face stand-ins included,
so the face is detected and embedded on the way); and the no-face warning it prints."""

from __future__ import annotations

import importlib.util
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("make_synthetic_release", ROOT / "tools" / "make_synthetic_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("sa_cli") / "TINY"
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        assert module.main([str(folder), "--backend", "stableanimator", "--scale", "small"]) == 0
    return folder


def _render(*args: str) -> tuple[int, str]:
    from studio.cli import main

    err = io.StringIO()
    with redirect_stderr(err):
        rc = main(["render", "--sample", "real", "--backend", "stableanimator", *args, "--no-progress"])
    return rc, err.getvalue()


def test_the_done_when_command_renders(tiny, tmp_path):
    import imageio.v3 as iio

    out = tmp_path / "out.mp4"
    rc, err = _render("--weights", str(tiny), "--frames", "0:20", "--steps", "2", "--size", "64x64", "-o", str(out))
    assert rc == 0, err
    assert "warning" not in err  # the stand-in detector finds the face
    frames = iio.imread(out)
    assert frames.shape == (20, 64, 64, 3) and frames.std() > 1


def test_no_face_prints_the_warning_and_still_renders(tiny, tmp_path):
    """The official behaviour (a zero embedding), said on the command line."""
    import shutil

    sys_path = ROOT / "tools" / "synthetic_releases" / "antelopev2.py"
    spec = importlib.util.spec_from_file_location("antelopev2_standins", sys_path)
    standins = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(standins)
    weights = tmp_path / "weights"
    shutil.copytree(tiny, weights)
    standins.write_detector(weights / "models" / "antelopev2" / "scrfd_10g_bnkps.onnx", faces=False)
    out = tmp_path / "noface.mp4"
    rc, err = _render("--weights", str(weights), "--frames", "0:8", "--steps", "1", "--tile-size", "8",
                      "--tile-overlap", "2", "--size", "64x64", "-o", str(out))
    assert rc == 0, err
    assert "warning: No face found in the photo" in err and "identity of the photo will not be kept" in err
    import imageio.v3 as iio

    assert iio.imread(out).shape == (8, 64, 64, 3)
