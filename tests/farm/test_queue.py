"""The persistent render queue and its runner on the local helper-process executor (no Ray)."""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fakes import make_job
from slow_backend import SlowBackend, frame_for

from studio.core.errors import StudioError
from studio.core.files import read_png
from studio.farm.codec import decode_job, encode_job
from studio.farm.local_executor import LocalExecutor
from studio.farm.queue import RenderQueue
from studio.farm.runner import QueueRunner


def _dead_pid() -> int:
    p = mp.get_context("spawn").Process(target=int)
    p.start()
    p.join()
    return p.pid


def test_job_round_trips_through_the_queue_file(tmp_path, queue):
    job = make_job(7, seed=3, output_dir=tmp_path / "r", size=64, retarget=False)
    back = decode_job(encode_job(job))
    assert back.fingerprint() == job.fingerprint()
    assert back.frames == job.frames and back.output_dir == job.output_dir
    np.testing.assert_array_equal(back.reference, job.reference)

    job_id = queue.add(job, tmp_path / "out.mp4", tmp_path / "p.studio.json", fps=12.0)
    again = RenderQueue(queue.path)  # another process opening the same file
    (e,) = again.entries()
    assert (e.id, e.state, e.n_frames, e.backend, e.fps) == (job_id, "queued", 7, "draft", 12.0)
    assert again.job(job_id).fingerprint() == job.fingerprint()


def test_a_damaged_job_is_a_clear_error(tmp_path, queue):
    job_id = queue.add(make_job(3, output_dir=tmp_path / "r"), tmp_path / "r")
    with sqlite3.connect(queue.path) as con:
        con.execute("UPDATE jobs SET job = '{\"format\": 1, \"reference\": 5}' WHERE id = ?", (job_id,))
    with pytest.raises(StudioError) as err:
        queue.job(job_id)
    assert str(queue.path) in err.value.description and "studio queue cancel" in err.value.description


def test_a_queue_file_that_is_not_a_database_names_the_file(tmp_path):
    bad = tmp_path / "queue.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StudioError) as err:
        RenderQueue(bad)
    assert str(bad) in err.value.description and "STUDIO_QUEUE" in err.value.description


def test_cancel_move_and_states(tmp_path, queue):
    ids = [queue.add(make_job(3, seed=i, output_dir=tmp_path / f"r{i}"), tmp_path / f"r{i}") for i in range(4)]
    queue.move(ids[3], -3)
    assert [e.id for e in queue.entries()] == [ids[3], ids[0], ids[1], ids[2]]
    assert queue.cancel(ids[1]) == "cancelled"
    running = queue.claim()
    assert running.id == ids[3] and running.state == "running" and running.runner_pid == os.getpid()
    assert queue.cancel(ids[3]) == "running"
    assert queue.progress(ids[3], 1) is True  # the runner sees the request
    with pytest.raises(StudioError, match="Only queued"):
        queue.move(ids[3], 1)
    queue.finish(ids[3], "cancelled")
    with pytest.raises(StudioError, match="already finished"):
        queue.cancel(ids[3])
    with pytest.raises(StudioError, match="no job 999"):
        queue.cancel(999)
    assert [e.state for e in queue.entries()] == ["queued", "queued", "cancelled", "cancelled"]


def test_running_jobs_of_a_dead_runner_come_back_as_queued(tmp_path, queue):
    a = queue.add(make_job(3, output_dir=tmp_path / "a"), tmp_path / "a")
    b = queue.add(make_job(3, output_dir=tmp_path / "b"), tmp_path / "b")
    queue.claim(a)
    queue.claim(b)
    with sqlite3.connect(queue.path) as con:  # job b belongs to a runner that is still alive
        con.execute("UPDATE jobs SET runner_pid = ? WHERE id = ?", (os.getppid(), b))
        con.execute("UPDATE jobs SET runner_pid = ? WHERE id = ?", (_dead_pid(), a))
    assert queue.recover() == [a]
    assert {e.id: e.state for e in queue.entries()} == {a: "queued", b: "running"}


def test_a_worker_that_dies_three_times_fails_the_job(tmp_path, queue):
    job_id = queue.add(make_job(3, output_dir=tmp_path / "a"), tmp_path / "a")
    results = []
    for _ in range(3):
        queue.claim(job_id)
        results.append(queue.requeue(job_id, "worker lost"))
    assert results == [True, True, False]
    e = queue.entry(job_id)
    assert e.state == "failed" and "giving up" in e.message


def _executor(log: Path, pause: float = 0.3) -> LocalExecutor:
    return LocalExecutor({"draft": functools.partial(SlowBackend, 2, pause, str(log))})


def test_runner_renders_jobs_in_order_and_exports(tmp_path, queue):
    out = tmp_path / "clip.gif"
    first = queue.add(make_job(4, seed=1, output_dir=tmp_path / "r1"), out, fps=10.0)
    second = queue.add(make_job(4, seed=2, output_dir=tmp_path / "r2"), tmp_path / "r2")
    ex = _executor(tmp_path / "log.txt", pause=0.05)
    try:
        summary = QueueRunner(queue, ex).run()
    finally:
        ex.close()
    assert summary.done == [first, second]
    assert [e.state for e in queue.entries()] == ["done", "done"]
    assert out.is_file() and out.stat().st_size > 0
    job = queue.job(second)
    for k, i in enumerate(job.frames):
        np.testing.assert_array_equal(read_png(tmp_path / "r2" / f"frame_{i:06d}.png"), frame_for(job, k))


def test_killed_helper_requeues_the_job_and_loses_no_frame(tmp_path, queue):
    n = 12
    job_id = queue.add(make_job(n, output_dir=tmp_path / "r"), tmp_path / "r")
    log = tmp_path / "log.txt"
    ex = _executor(log)
    runner = QueueRunner(queue, ex)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while queue.entry(job_id).done_frames < 4:
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
        on_disk = {int(p.stem.split("_")[1]) for p in (tmp_path / "r").glob("frame_*.png")}
        os.kill(ex.helper_pid(), signal.SIGKILL)
        thread.join(120)
    finally:
        runner.stop()
        thread.join(30)
        ex.close()
    assert job_id in runner.summary.requeued and runner.summary.done == [job_id]
    e = queue.entry(job_id)
    assert (e.state, e.attempts, e.done_frames) == ("done", 1, n)
    renders = [[int(v) for v in line.split(",")] for line in log.read_text().splitlines()]
    assert len(renders) == 2 and renders[0] == list(range(n))
    assert not set(renders[1]) & on_disk  # the second attempt rendered only what was missing
    files = sorted(p.name for p in (tmp_path / "r").glob("frame_*.png"))
    assert files == [f"frame_{i:06d}.png" for i in range(n)]


def test_jobs_sharing_a_render_folder_never_run_at_once(tmp_path, queue):
    log = tmp_path / "log.txt"
    folder = tmp_path / "same"
    a = queue.add(make_job(4, seed=1, output_dir=folder), folder)
    b = queue.add(make_job(4, seed=2, output_dir=folder), folder)

    class TwoSlots:  # an executor with room for two jobs, each on its own helper
        name, capacity = "two", 2

        def __init__(self) -> None:
            self.helpers = [_executor(log, 0.2), _executor(log, 0.2)]

        def acquire(self, backend):
            return next((lease for lease in (h.acquire(backend) for h in self.helpers) if lease), None)

        def can_split(self, backend):
            return False

        def acquire_split(self, backend):
            return None

    ex = TwoSlots()
    seen: list[set[int]] = []
    runner = QueueRunner(queue, ex, on_event=lambda e, ev: seen.append(
        {x.id for x in queue.entries() if x.state == "running"}))
    try:
        summary = runner.run()
    finally:
        for h in ex.helpers:
            h.close()
    assert summary.done == [a, b]
    assert all(len(running) <= 1 for running in seen)
    job = queue.job(b)  # the later job's frames are what the folder holds
    for k, i in enumerate(job.frames):
        np.testing.assert_array_equal(read_png(folder / f"frame_{i:06d}.png"), frame_for(job, k))


def test_cancel_in_the_queue_file_stops_the_running_job_and_keeps_its_frames(tmp_path, queue):
    n = 20
    job_id = queue.add(make_job(n, output_dir=tmp_path / "r"), tmp_path / "r")
    ex = _executor(tmp_path / "log.txt", pause=0.3)
    runner = QueueRunner(queue, ex)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while queue.entry(job_id).done_frames < 2:
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
        assert queue.cancel(job_id) == "running"  # as the Queue dock or `studio queue cancel` does
        thread.join(60)
    finally:
        runner.stop()
        thread.join(30)
        ex.close()
    e = queue.entry(job_id)
    assert runner.summary.cancelled == [job_id] and e.state == "cancelled"
    kept = sorted((tmp_path / "r").glob("frame_*.png"))
    assert 2 <= len(kept) == e.done_frames < n


def test_a_worker_keeps_its_backend_and_pipeline_across_jobs(tmp_path):
    pytest.importorskip("torch")
    from farm_helpers import tiny_xdyna_factory, xdyna_job

    from studio.core.events import FramesReady
    from studio.farm.worker import Worker

    worker = Worker({"xdyna": tiny_xdyna_factory()})
    pipes = []
    for seed in (1, 2):
        events = list(worker.render(xdyna_job(4, seed=seed, steps=1)))
        assert sum(len(ev.indices) for ev in events if isinstance(ev, FramesReady)) == 4
        pipes.append(worker.backend("xdyna")._pipe)  # noqa: SLF001 - the loaded pipeline
    assert pipes[0] is not None and pipes[0] is pipes[1]


def test_a_split_job_runs_on_one_worker_where_it_cannot_be_split(tmp_path, queue):
    job_id = queue.add(make_job(4, output_dir=tmp_path / "r"), tmp_path / "r", split=True)
    ex = _executor(tmp_path / "log.txt", pause=0.05)
    try:
        summary = QueueRunner(queue, ex).run()
    finally:
        ex.close()
    assert summary.done == [job_id] and queue.entry(job_id).state == "done"
