"""The farm on Ray's local mode with 2 CPU actors (tiny X-Dyna weights, 64x64, 2 steps).

* a reference-schedule clip split across the 2 actors gives the same bytes as a local render;
* an actor killed (SIGKILL) mid-render: the job is requeued and completed, with no frame
  missing and none rendered twice.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time

import numpy as np
import pytest

ray = pytest.importorskip("ray")
torch = pytest.importorskip("torch")

# The whole file is slow (a local Ray cluster starts in about 5 s, then tiny X-Dyna renders of 3-11 s
# each); CI's slow call runs it. The default run covers the queue, requeue and cancel with the local
# executor (tests/farm/test_queue.py).
pytestmark = pytest.mark.slow

from fakes import make_job  # noqa: E402
from farm_helpers import tiny_xdyna_factory, xdyna_job  # noqa: E402
from slow_backend import SlowBackend  # noqa: E402

from studio.core.events import Finished, FramesReady  # noqa: E402
from studio.core.render import run_job  # noqa: E402
from studio.farm.ray_executor import RayExecutor  # noqa: E402
from studio.farm.runner import QueueRunner  # noqa: E402


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    """2 CPU actors on a local Ray cluster; draft jobs use the slow logging test renderer."""
    log = tmp_path_factory.mktemp("farm") / "renders.txt"
    ex = RayExecutor(workers=2, num_cpus=2, factories={
        "xdyna": tiny_xdyna_factory(),
        "draft": functools.partial(SlowBackend, 2, 0.4, str(log)),
    })
    ex.log = log
    yield ex
    ex.close()


def _frames(events) -> tuple[dict[int, np.ndarray], object]:
    out: dict[int, np.ndarray] = {}
    last = None
    for ev in events:
        if isinstance(ev, FramesReady):
            for k, f in zip(ev.indices, ev.frames):
                assert k not in out, f"frame {k} delivered twice"
                out[k] = f
        last = ev
    return out, last


def test_split_reference_render_gives_the_local_bytes(farm, tmp_path):
    n = 20  # two wrap-around windows (16 frames, overlap 4): one per actor, sharing frames 0-3
    job = xdyna_job(n, tmp_path / "split")
    lease = farm.acquire_split("xdyna")
    assert lease is not None and lease.backend.pool.size == 2
    try:
        split, last = _frames(run_job(job, lease.backend))
    finally:
        lease.release()
    assert isinstance(last, Finished), last
    # the same thread count as an actor (Ray gives a 1-CPU actor one torch thread): float
    # reductions may group differently with more threads
    threads = torch.get_num_threads()
    torch.set_num_threads(int(ray.get(lease.slots[0].handle.compute_threads.remote("xdyna"))))
    try:
        local, last = _frames(run_job(xdyna_job(n, tmp_path / "local"), tiny_xdyna_factory()()))
    finally:
        torch.set_num_threads(threads)
    assert isinstance(last, Finished), last
    assert sorted(split) == sorted(local) == list(range(n))
    for k in range(n):
        assert split[k].tobytes() == local[k].tobytes(), f"frame {k} differs"
    assert lease.backend.last_step_bytes > 0
    assert sorted(p.name for p in (tmp_path / "split").glob("frame_*.png")) == [f"frame_{i:06d}.png" for i in range(n)]


def test_killed_actor_requeues_the_job_and_no_frame_is_lost_or_doubled(farm, queue, tmp_path):
    n = 12
    farm.log.write_text("")
    job_id = queue.add(make_job(n, output_dir=tmp_path / "r"), tmp_path / "r")
    runner = QueueRunner(queue, farm)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while queue.entry(job_id).done_frames < 4:
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
        on_disk = {int(p.stem.split("_")[1]) for p in (tmp_path / "r").glob("frame_*.png")}
        busy = [s for s in farm.slots if s.busy]
        assert len(busy) == 1
        os.kill(ray.get(busy[0].handle.pid.remote()), signal.SIGKILL)
        thread.join(180)
    finally:
        runner.stop()
        thread.join(30)
    assert job_id in runner.summary.requeued and runner.summary.done == [job_id]
    e = queue.entry(job_id)
    assert (e.state, e.attempts, e.done_frames) == ("done", 1, n)
    renders = [[int(v) for v in line.split(",")] for line in farm.log.read_text().splitlines()]
    assert len(renders) == 2 and renders[0] == list(range(n))
    assert not set(renders[1]) & on_disk and set(renders[1]) | on_disk == set(range(n))
    files = sorted(p.name for p in (tmp_path / "r").glob("frame_*.png"))
    assert files == [f"frame_{i:06d}.png" for i in range(n)]
    assert all(not s.busy for s in farm.slots)
    assert all(ray.get(s.handle.ping.remote(), timeout=60) for s in farm.slots)  # the dead actor was replaced


def test_cancel_reaches_the_actor_within_a_chunk(farm, queue, tmp_path):
    n = 40
    job_id = queue.add(make_job(n, output_dir=tmp_path / "c"), tmp_path / "c")
    runner = QueueRunner(queue, farm)
    thread = threading.Thread(target=runner.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while queue.entry(job_id).done_frames < 2:
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.05)
        queue.cancel(job_id)
        thread.join(60)
    finally:
        runner.stop()
        thread.join(30)
    e = queue.entry(job_id)
    assert runner.summary.cancelled == [job_id] and e.state == "cancelled" and e.done_frames < n
    assert all(not s.busy for s in farm.slots)
