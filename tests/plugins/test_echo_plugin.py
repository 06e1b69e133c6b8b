"""The example plug-in (examples/echo_backend, distribution ``studio-echo-backend``) installed
outside the tree, as a contributor's package would be: it is listed by ``studio backends``,
renders with ``studio render --sample --backend echo``, takes its options from its own model, and
appears in the window's renderer list. Nothing under studio/ names it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "echo_backend"


@pytest.fixture(scope="module")
def echo_env(tmp_path_factory) -> dict[str, str]:
    """An environment whose PYTHONPATH holds the echo plug-in installed with pip (a copy of the
    example is built, so the source tree stays clean)."""
    base = tmp_path_factory.mktemp("echo")
    src = shutil.copytree(EXAMPLE, base / "src", ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = base / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(src)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (target / "studio_echo").is_dir() and list(target.glob("studio_echo_backend-*.dist-info"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), str(ROOT)]), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(base / "config"), XDG_DATA_HOME=str(base / "data"))
    return env


def studio(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_the_plugin_is_listed(echo_env):
    proc = studio(echo_env, "backends")
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("echo"))
    assert "Echo (tinted photo, example plug-in)" in line
    assert "options: strength, colour" in proc.stdout and "status: ready" in proc.stdout
    helptext = studio(echo_env, "render", "--backend", "echo", "--help").stdout
    assert "--strength FLOAT" in helptext and "Range 0..1" in helptext and "--steps" not in helptext


def test_the_plugin_renders_tinted_frames(echo_env, tmp_path):
    from studio.core.files import read_png

    out = tmp_path / "out.mp4"
    proc = studio(echo_env, "render", "--sample", "--backend", "echo", "-o", str(out), "--frames", "0:6",
                  "--size", "64x112", "--strength", "0.8", "--no-progress", "--render-dir", str(tmp_path / "kept"))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 0
    frames = sorted((tmp_path / "kept").glob("frame_*.png"))
    assert len(frames) == 6
    img = read_png(frames[0]).astype(int)
    assert img.shape == (112, 64, 3)
    red, green, blue = (img[..., c].mean() for c in range(3))
    assert red > 200 and green < 60 and blue < 60  # 80 % of the way to pure red
    plain = tmp_path / "plain"
    assert studio(echo_env, "render", "--sample", "--backend", "echo", "-o", str(plain), "--frames", "0:1",
                  "--size", "64x112", "--strength", "0", "--no-progress").returncode == 0
    photo = read_png(sorted(plain.glob("frame_*.png"))[0]).astype(int)
    assert np.abs(photo[..., 1].mean() - green / 0.2) < 3  # strength 0 is the placed photo itself


def test_bad_option_values_get_the_models_error(echo_env, tmp_path):
    proc = studio(echo_env, "render", "--sample", "--backend", "echo", "-o", str(tmp_path / "o.mp4"),
                  "--strength", "1.5")
    assert proc.returncode == 2 and "strength" in proc.stderr and "less than or equal to 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_window_lists_the_plugin(echo_env):
    code = ("from studio.gui.app import get_qapp\n"
            "from studio.gui.main_window import MainWindow\n"
            "app = get_qapp(); w = MainWindow()\n"
            "combo = w.render_panel.backend\n"
            "print([combo.itemData(i) for i in range(combo.count())])\n"
            "w.doc.update_settings(backend='echo')\n"
            "print(sorted(w.render_panel.options.widgets), w.render_panel.weights_box.isHidden())\n"
            "import os, sys; sys.stdout.flush(); os._exit(0)\n")  # no teardown: only the list matters
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=echo_env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    names, form = proc.stdout.strip().splitlines()[-2:]
    assert "'echo'" in names and "'draft'" in names
    assert form == "['colour', 'strength'] True"
