"""No lost work: processes killed with SIGKILL at random moments while saving a project, autosaving,
rendering or exporting never leave a broken file where the artist's work was."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from robust_helpers import REPO
from studio.core.project import Project

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

N_FRAMES = 3000  # a long track: each save writes several megabytes

_SAVER = textwrap.dedent("""
    import sys
    import numpy as np
    from studio.core.project import Project
    from studio.core.tracks import PoseTrack

    rng = np.random.default_rng(7)
    pose = PoseTrack.empty({n}, 640, 480, 25.0)
    pose.body[:] = rng.random(pose.body.shape, dtype=np.float32)
    pose.hands[:] = rng.random(pose.hands.shape, dtype=np.float32)
    pose.flags[:] = 0
    project = Project(pose=pose)
    target = sys.argv[1]
    generation = 0
    while True:
        project.fps = 24.0 if generation % 2 == 0 else 30.0
        project.frame_range = (generation % 1000, 2000 + generation % 1000)
        {save}
        generation += 1
        if generation == 1:
            print("ready", flush=True)
""")


def _expected_pose():
    from studio.core.tracks import PoseTrack

    rng = np.random.default_rng(7)
    pose = PoseTrack.empty(N_FRAMES, 640, 480, 25.0)
    pose.body[:] = rng.random(pose.body.shape, dtype=np.float32)
    pose.hands[:] = rng.random(pose.hands.shape, dtype=np.float32)
    pose.flags[:] = 0
    return pose


def _start(code: str, *args: str | Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read() if proc.poll() is not None else line
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()


def _check_whole(project: Project, fingerprint: str) -> None:
    """A complete old or new version: one of the two alternating states, all track data intact."""
    assert project.fps in (24.0, 30.0)
    start, stop = project.frame_range
    assert stop - start == 2000
    assert project.pose is not None and project.pose.fingerprint() == fingerprint


def test_project_file_survives_sigkill_mid_save(tmp_path: Path) -> None:
    target = tmp_path / "long.studio.json"
    fingerprint = _expected_pose().fingerprint()
    rng = random.Random(3)
    for _ in range(6):
        proc = _start(_SAVER.format(n=N_FRAMES, save="project.save(target)"), target)
        time.sleep(rng.uniform(0.0, 0.5))
        _kill(proc)
        _check_whole(Project.load(target), fingerprint)
    # temporary files a kill leaves are hidden beside the project and never mistaken for it
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")] == [target.name]


_AUTOSAVER = _SAVER.replace("from studio.core.project import Project", textwrap.dedent("""\
    from pathlib import Path
    from PySide6.QtCore import QCoreApplication, QSettings
    from studio.core.project import Project
    from studio.gui.session import Autosaver

    class Doc:
        dirty = True

    app = QCoreApplication([])
    settings = QSettings(sys.argv[2], QSettings.Format.IniFormat)
    doc = Doc()"""))


def test_autosave_killed_mid_write_is_recovered_by_the_window(tmp_path: Path, qtbot) -> None:
    pytest.importorskip("PySide6")
    from PySide6.QtCore import QSettings

    from studio.gui.main_window import MainWindow

    project_file = tmp_path / "dance.studio.json"
    ini = tmp_path / "settings.ini"
    save = ("doc.project = project; project.path = Path(target); "
            "autosaver = globals().get('autosaver') or Autosaver(doc, settings, Path(target).parent); "
            "autosaver.autosave()")
    fingerprint = _expected_pose().fingerprint()
    rng = random.Random(5)
    for _ in range(4):
        proc = _start(_AUTOSAVER.format(n=N_FRAMES, save=save), project_file, ini)
        time.sleep(rng.uniform(0.0, 0.5))
        _kill(proc)
        asked: list[Path] = []
        w = MainWindow(settings=QSettings(str(ini), QSettings.Format.IniFormat), data_dir=tmp_path / "data",
                       ask_save=lambda parent: "discard", ask_recover=lambda parent, path: asked.append(path) or True)
        qtbot.addWidget(w)
        try:
            assert w.offer_recovery() is True
            assert asked == [tmp_path / "dance.autosave.json"]
            _check_whole(w.doc.project, fingerprint)
            assert w.doc.project.path == project_file and w.doc.dirty  # recovered, still to be saved
        finally:
            w.autosaver.stop()
            w.doc.undo_stack.setClean()
            w.doc._dirty = False  # noqa: SLF001 - close without asking
            w.close()


# -- renders ---------------------------------------------------------------------------------------
SAMPLE = REPO / "resources" / "sample"


def _render_args(project: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "studio", "render", "--project", str(project), "-o", str(out),
            "--size", "128x224", "--no-progress", *extra]


def _pngs(folder: Path) -> dict[str, np.ndarray]:
    from studio.core.files import read_png

    out = {}
    for p in sorted(folder.glob("frame_*.png")):
        img = read_png(p)
        assert img is not None and img.shape == (224, 128, 3), p  # whole, decodable frames only
        out[p.name] = img
    return out


def test_killed_render_keeps_whole_frames_and_resume_completes_it(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), STUDIO_CACHE_DIR=str(tmp_path / "cache"))
    work = tmp_path / "work"
    shutil.copytree(SAMPLE, work)
    project = work / "sample.studio.json"
    renders = work / "sample.renders"
    out = tmp_path / "out"
    proc = subprocess.Popen(_render_args(project, out / "a.mp4"), env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while len(list(renders.glob("frame_*.png"))) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the render finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    kept = _pngs(renders)
    assert 10 <= len(kept) < 48
    stamps = {name: (renders / name).stat().st_mtime_ns for name in kept}

    done = subprocess.run(_render_args(project, out / "a.mp4", "--resume"), env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    resumed = _pngs(renders)
    assert len(resumed) == 48
    assert all((renders / n).stat().st_mtime_ns == t for n, t in stamps.items())  # not rendered again
    assert (out / "a.mp4").stat().st_size > 0

    fresh = tmp_path / "fresh"
    done = subprocess.run(_render_args(project, out / "b.mp4", "--render-dir", str(fresh)), env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-2000:]
    again = _pngs(fresh)
    assert again.keys() == resumed.keys()
    assert all(np.array_equal(again[n], resumed[n]) for n in again)  # the same frames as one clean run


def test_killed_export_never_touches_the_existing_file(tmp_path: Path) -> None:
    from studio.media.exporters import export_frames

    src = tmp_path / "frames"
    noise = np.random.default_rng(0).integers(0, 256, (90, 240, 320, 3), np.uint8)
    export_frames(list(noise), 25, str(src) + "/")
    target = tmp_path / "final.mp4"
    export_frames(list(noise[:3]), 25, str(target))
    before = target.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    for delay in (0.3, 0.9):
        proc = subprocess.Popen([sys.executable, "-m", "studio", "export", str(src), "-o", str(target), "--no-progress"],
                                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(".final.partial") for p in tmp_path.iterdir()):
            assert proc.poll() is None and time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.01)
        time.sleep(delay)
        assert proc.poll() is None, "the export finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert target.read_bytes() == before
