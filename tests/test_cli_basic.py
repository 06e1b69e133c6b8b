"""The basic commands: --help everywhere, doctor, export, contact-sheet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import COMMANDS, build_parser, main
from studio.cli import doctor
from studio.media.exporters import export_frames
from studio.media.sequence import PngSequence
from studio.media.video import VideoReader


def studio(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m studio ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "studio", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def frames(n: int = 12, w: int = 64, h: int = 48) -> list[np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w]
    return [np.stack([(xx * 4 + 8 * i) % 256, yy * 5, np.full_like(xx, 20 * i % 256)], -1).astype(np.uint8)
            for i in range(n)]


def command_names() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    names = command_names()
    assert {"doctor", "export", "contact-sheet"} <= set(names)
    assert len(names) == len(COMMANDS)
    for name in names:
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        assert f"usage: studio {name}" in capsys.readouterr().out


def test_help_through_python_m() -> None:
    proc = studio("--help")
    assert proc.returncode == 0 and "contact-sheet" in proc.stdout and "doctor" in proc.stdout


def test_doctor_reports_and_exits_zero(tmp_path: Path) -> None:
    proc = studio("doctor", "--weights", str(tmp_path / "nowhere"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "OK      python" in out and sys.version.split()[0] in out
    assert "torch" in out and "cuda" in out and "OK      PySide6" in out
    for model in ("Pose", "Hands", "FaceMesh", "SelfieSegmentation"):
        assert f"OK      mediapipe {model}" in out
    assert "ffmpeg version" in out
    weights_line = next(line for line in out.splitlines() if "weights folder" in line)
    assert weights_line.startswith("MISSING") and f"{tmp_path / 'nowhere'} (from --weights)" in weights_line


def test_doctor_without_torch(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['torch'] = None\n"
            "from studio.cli import main\n"
            f"sys.exit(main(['doctor', '--no-models', '--weights', {str(tmp_path)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "MISSING torch" in proc.stdout and "not installed" in proc.stdout


def test_weights_folder_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from studio.core.weights_folder import WEIGHTS_ENV, resolve_weights_dir

    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.delenv("STUDIO_XDYNA_WEIGHTS", raising=False)
    chosen = resolve_weights_dir()
    assert chosen.origin == "default" and chosen.path.name == "weights" and "xdyna-studio" in str(chosen.path)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "env"))
    chosen = resolve_weights_dir()
    assert (chosen.path, chosen.origin) == (tmp_path / "env", "$STUDIO_WEIGHTS_DIR")
    monkeypatch.setenv("STUDIO_XDYNA_WEIGHTS", str(tmp_path / "own"))  # the backend's own variable first
    chosen = resolve_weights_dir(backend="xdyna")
    assert (chosen.path, chosen.origin) == (tmp_path / "own", "$STUDIO_XDYNA_WEIGHTS")
    chosen = resolve_weights_dir(tmp_path / "cli")
    assert (chosen.path, chosen.origin) == (tmp_path / "cli", "--weights")


def test_doctor_lists_every_release_problem(tmp_path: Path) -> None:
    (tmp_path / "unet").mkdir()
    checks = doctor.check_weights(tmp_path)
    assert checks[0].status == "OK" and checks[0].name == "weights folder"
    problems = [c.detail for c in checks[1:]]
    assert all(c.status == "MISSING" for c in checks[1:]) and len(problems) >= 5
    from studio.backends.xdyna import check_release

    assert problems == check_release(tmp_path)
    section = doctor.check_backend("xdyna", tmp_path)
    assert [c.detail for c in section if c.name == "xdyna: weights"] == problems


def test_export_video_to_gif_and_png_folder_to_mp4(tmp_path: Path) -> None:
    src = export_frames(frames(), 20, str(tmp_path / "in.mp4"))
    assert main(["export", str(src), "-o", str(tmp_path / "out.gif"), "--no-progress"]) == 0
    with VideoReader(tmp_path / "out.gif") as gif:
        assert gif.frame_count == 12 and gif.size == (64, 48) and gif.fps == 20
    assert main(["export", str(src), "-o", str(tmp_path / "seq/"), "--no-progress"]) == 0
    assert len(PngSequence(tmp_path / "seq")) == 12
    assert main(["export", str(tmp_path / "seq"), "-o", str(tmp_path / "back.mp4"), "--fps", "10", "--no-progress"]) == 0
    with VideoReader(tmp_path / "back.mp4") as back:
        assert back.frame_count == 12 and back.fps == 10
        assert np.abs(back.read(5).astype(int) - PngSequence(tmp_path / "seq").read(5)).mean() < 3


def test_export_errors_are_printed_not_raised(tmp_path: Path) -> None:
    proc = studio("export", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "x.gif"))
    assert proc.returncode == 2 and "missing.mp4" in proc.stderr and "Traceback" not in proc.stderr
    src = export_frames(frames(3), 10, str(tmp_path / "in.mp4"))
    proc = studio("export", str(src), "-o", str(tmp_path / "x.avi"))
    assert proc.returncode == 2 and "'.avi' is not supported" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_contact_sheet_command(tmp_path: Path) -> None:
    src = export_frames(frames(30), 10, str(tmp_path / "clip.mp4"))
    proc = studio("contact-sheet", str(src), "-o", str(tmp_path / "sheet.png"), "--count", "6", "--cols", "3",
                  "--width", "64")
    assert proc.returncode == 0, proc.stderr
    sheet = Image.open(tmp_path / "sheet.png")
    assert sheet.width == 8 + 3 * (64 + 8)
    assert sheet.height > 2 * 48


def test_frozen_build_says_xdyna_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.backends.xdyna.spec import install_hint as xdyna_install_hint

    assert "pip install" in xdyna_install_hint(["torch"])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    text = xdyna_install_hint(["torch", "diffusers"])
    assert "not included in this build" in text and "torch, diffusers" in text and "pip" not in text


def test_render_and_queue_add_share_the_job_flags():
    """The flags that say what a job is are declared once (studio.cli.job_flags): the same
    option strings, types and help in ``studio render`` and ``studio queue add``."""
    import argparse

    from studio.cli import build_parser
    from studio.cli.job_flags import add_job_flags

    def subparser(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
        for name in path:
            action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            parser = action.choices[name]
        return parser

    reference = argparse.ArgumentParser()
    add_job_flags(reference)
    wanted = {a.dest: (tuple(a.option_strings), a.type, a.help) for a in reference._actions if a.dest != "help"}
    parser = build_parser([])
    for path in (("render",), ("queue", "add")):
        got = {a.dest: (tuple(a.option_strings), a.type, a.help) for a in subparser(parser, *path)._actions}
        assert {k: got.get(k) for k in wanted} == wanted, path
