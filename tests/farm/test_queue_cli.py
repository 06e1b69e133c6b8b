"""``studio queue`` end to end: a SIGKILL of ``studio queue run`` loses nothing, and the next
``studio queue run`` finishes the job from the frames already on disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from studio.core.project import Project
from studio.core.tracks import PoseTrack
from studio.farm.queue import RenderQueue

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample"
REPEAT = 6  # the 48-frame sample motion 6 times: 288 frames, long enough to kill mid-render


def _long_project(tmp: Path) -> Path:
    """The sample project with its motion repeated, saved in ``tmp``."""
    p = Project.load(SAMPLE / "sample.studio.json")
    shutil.copy(SAMPLE / "reference.png", tmp / "reference.png")
    pose = p.pose
    p.pose = PoseTrack(**{k: np.concatenate([getattr(pose, k)] * REPEAT) for k in PoseTrack._arrays},
                       width=pose.width, height=pose.height, fps=pose.fps)
    p.face = None
    p.reference_image = tmp / "reference.png"
    return p.save(tmp / "long.studio.json")


def _studio(*args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "studio", *args], env=env, capture_output=True, text=True,
                          timeout=600, **kw)


def _frames(folder: Path) -> dict[str, tuple[int, int]]:
    """PNG name -> (inode, mtime ns): a frame written again gets a new inode (atomic rename)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("frame_*.png")}


@pytest.mark.slow  # 9 s of processes; test_queue.py's killed-helper test covers the requeue in process
def test_queue_survives_sigkill_of_queue_run(tmp_path):
    env = {**os.environ, "STUDIO_QUEUE": str(tmp_path / "queue.sqlite"), "QT_QPA_PLATFORM": "offscreen"}
    project = _long_project(tmp_path)
    out = tmp_path / "frames"
    added = _studio("queue", "add", str(project), "-o", str(out), "--size", "512x512", "--backend", "draft", env=env)
    assert added.returncode == 0, added.stderr
    q = RenderQueue(tmp_path / "queue.sqlite")
    (entry,) = q.entries()
    n = entry.n_frames
    assert n == 48 * REPEAT

    def run_until(frames: int, sig: int) -> None:
        """Start `studio queue run`, and send ``sig`` to its process group (the runner and its
        helper, as a terminal's Ctrl-C or a crash would) once ``frames`` frames are done."""
        run = subprocess.Popen([sys.executable, "-m", "studio", "queue", "run", "--local"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while True:
                e = q.entry(entry.id)
                assert e.state in ("queued", "running") and time.monotonic() < deadline, e
                if e.state == "running" and frames <= e.done_frames:
                    os.killpg(run.pid, sig)
                    break
                time.sleep(0.02)
            run.wait(60)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait(30)

    run_until(8, signal.SIGINT)  # Ctrl-C: the job goes back to the queue at once, no attempt counted
    stopped = q.entry(entry.id)
    assert (stopped.state, stopped.attempts) == ("queued", 0) and "runner stopped" in stopped.message
    assert 8 <= stopped.done_frames < n
    run_until(stopped.done_frames + 8, signal.SIGKILL)  # a crash: the job is left 'running'
    killed = q.entry(entry.id)
    assert killed.state == "running" and 0 < killed.done_frames < n  # what the crash left behind
    # frames the manifest recorded before the kill (a PNG renamed into place just before the kill
    # but not yet recorded is rightly rendered again)
    recorded = json.loads((out / "manifest.json").read_text())["frames"]
    kept = {name: v for name, v in _frames(out).items() if str(int(name[6:12])) in recorded}
    assert 0 < len(kept) < n

    listed = _studio("queue", "list", env=env)
    assert listed.returncode == 0 and "running" in listed.stdout

    again = _studio("queue", "run", "--local", env=env)
    assert again.returncode == 0, again.stderr
    assert f"requeued after a restart: jobs {entry.id}" in again.stderr
    done = q.entry(entry.id)
    assert (done.state, done.done_frames, done.attempts) == ("done", n, 0)
    final = _frames(out)
    assert sorted(final) == [f"frame_{i:06d}.png" for i in range(n)]
    assert all(final[name] == kept[name] for name in kept)  # finished frames were reused, not rendered again


def test_queue_commands_in_process(tmp_path, monkeypatch, capsys):
    from studio.cli import main

    monkeypatch.setenv("STUDIO_QUEUE", str(tmp_path / "q.sqlite"))
    assert main(["queue", "list"]) == 0
    assert "the queue is empty" in capsys.readouterr().out
    assert main(["queue", "add", "--sample", "-o", str(tmp_path / "x.mp4"), "--split"]) == 2
    assert "cannot be split" in capsys.readouterr().err
    assert main(["queue", "add", "--sample", "-o", str(tmp_path / "x.avi")]) == 2  # unsupported format, nothing queued
    assert main(["queue", "add", str(tmp_path / "missing.studio.json"), "-o", str(tmp_path / "x.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["queue", "add", "--sample", "-o", str(tmp_path / "a.mp4"), "--frames", "0:4"]) == 0
    assert main(["queue", "add", "--sample", "-o", str(tmp_path / "b"), "--frames", "4:8"]) == 0
    capsys.readouterr()
    q = RenderQueue(tmp_path / "q.sqlite")
    a, b = (e.id for e in q.entries())
    assert q.job(a).output_dir == tmp_path / "a.mp4.frames" and q.job(b).output_dir == tmp_path / "b"
    assert main(["queue", "move", str(b), "-1"]) == 0
    assert [e.id for e in q.entries()] == [b, a]
    assert main(["queue", "cancel", str(a)]) == 0
    assert main(["queue", "cancel", str(a)]) == 2
    assert "already finished" in capsys.readouterr().err
    assert main(["queue", "list"]) == 0
    out = capsys.readouterr().out
    assert "cancelled" in out and "queued" in out and "4/4" not in out


def test_without_ray_the_queue_runs_in_a_local_helper(tmp_path, monkeypatch, capsys):
    import studio.farm.ray_executor as ray_executor
    from studio.cli import main

    monkeypatch.setenv("STUDIO_QUEUE", str(tmp_path / "q.sqlite"))
    monkeypatch.setattr(ray_executor, "ray_available", lambda: False)
    assert main(["queue", "run"]) == 0  # an empty queue: nothing to do, but the fallback is chosen
    err = capsys.readouterr().err
    assert "ray is not installed" in err and "one local helper process" in err
    assert main(["queue", "run", "--address", "head:6379"]) == 2
    assert "farm extra" in capsys.readouterr().err
