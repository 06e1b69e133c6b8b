"""MediaPipe / TensorFlow Lite native log lines stay off the terminal during renders and
extractions (issue 14, item 11); ``studio -v`` keeps them; everything else on stderr (progress
bars, messages, partial lines) still arrives."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.native_logs import drop_native_lines

REPO = Path(__file__).resolve().parents[2]
FRAMES = REPO / "tests" / "fixtures" / "extract" / "sface_28f" / "driving"
NATIVE = re.compile(r"^(W0000 |I0000 |WARNING: All log messages|INFO: Created TensorFlow Lite)", re.M)

LOG_LINES = (
    b"W0000 00:00:1796409166.210267   29309 inference_feedback_manager.cc:114] Feedback manager requires "
    b"a model with a single signature inference. Disabling support for feedback tensors.\n"
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    b"W0000 00:00:1796409095.006827   28284 landmark_projection_calculator.cc:186] Using NORM_RECT without "
    b"IMAGE_DIMENSIONS is only supported for the square ROI. Provide IMAGE_DIMENSIONS or use PROJECTION_MATRIX.\n"
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "STUDIO_NATIVE_LOGS"}
    env.update(extra)
    return env


def test_only_native_lines_are_dropped():
    text = b"extract: 0frame [00:00]" + LOG_LINES + b"\rextract: 10%|#| 1/10\nerror: Boom\n  details\n"
    assert drop_native_lines(text) == b"extract: 0frame [00:00]\rextract: 10%|#| 1/10\nerror: Boom\n  details\n"


def test_the_filter_passes_everything_else_through_at_once(tmp_path):
    """Written straight to descriptor 2 in pieces (a log line split across writes, a progress bar
    without a newline), from the main thread and another one."""
    code = f"""
import os, threading, time
from studio.core.native_logs import quiet_native_logs
logs = {LOG_LINES!r}
with quiet_native_logs():
    os.write(2, b"bar  0%\\r")
    os.write(2, logs[:30]); time.sleep(0.05); os.write(2, logs[30:])
    t = threading.Thread(target=lambda: os.write(2, b"from a thread\\n" + logs)); t.start(); t.join()
    os.write(2, b"bar 100%")
os.write(2, b"\\nafter\\n")
"""
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stderr == b"bar  0%\rfrom a thread\nbar 100%\nafter\n"
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(STUDIO_NATIVE_LOGS="1"),
                         capture_output=True, timeout=60)
    assert run.stderr.count(b"inference_feedback_manager") == 2  # kept when asked for


def test_a_block_left_open_still_lets_the_last_words_out():
    """A detector never closed leaves the filter on; what is printed at exit (a traceback) still
    reaches the terminal."""
    code = """
from studio.core.native_logs import quiet_native_logs
quiet_native_logs().__enter__()
raise SystemExit("last words")
"""
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, timeout=60)
    assert run.returncode == 1 and b"last words" in run.stderr


def _studio(*args, cwd):
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], cwd=cwd,
                          env=_env(STUDIO_CACHE_DIR=str(Path(cwd) / "cache")),
                          capture_output=True, text=True, timeout=600)


def test_render_prints_no_native_log_lines_and_verbose_keeps_them(tmp_path):
    argv = ("render", "--sample", "--size", "64x112", "--frames", "0:4")
    quiet = _studio(*argv, "-o", tmp_path / "a.gif", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "rendered 4 frames" in quiet.stderr and "export a.gif" in quiet.stderr  # bars and messages
    assert not NATIVE.search(quiet.stderr), quiet.stderr
    loud = _studio("-v", *argv, "-o", tmp_path / "b.gif", cwd=tmp_path)
    assert loud.returncode == 0 and NATIVE.search(loud.stderr), loud.stderr  # there were lines to drop


def test_extraction_prints_no_native_log_lines(tmp_path):
    from studio.core.files import read_png
    from studio.media.exporters import export_frames

    clip = export_frames([read_png(p) for p in sorted(FRAMES.glob("*.png"))[:12]], 12, tmp_path / "clip.mp4")
    run = _studio("extract", clip, "-o", tmp_path / "t.json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "/12 [" in run.stderr  # the progress bar still shows
    assert not NATIVE.search(run.stderr), run.stderr
    assert (tmp_path / "t.json").is_file()


@pytest.mark.parametrize("verbose", [False, True])
def test_verbose_flag_sets_the_switch(monkeypatch, tmp_path, verbose):
    import studio.cli as cli

    monkeypatch.delenv("STUDIO_NATIVE_LOGS", raising=False)
    argv = ["contact-sheet", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "s.png")]
    assert cli.main((["-v"] if verbose else []) + argv) == 2  # a quick command that fails cleanly
    assert (os.environ.get("STUDIO_NATIVE_LOGS") == "1") is verbose
    monkeypatch.delenv("STUDIO_NATIVE_LOGS", raising=False)
