"""The Queue dock and "Add to queue": jobs queued from the window, their progress, cancel,
reorder and "open result", all through the queue file a runner would use."""

from __future__ import annotations

import pytest

from studio.farm.queue import RenderQueue

pytestmark = pytest.mark.gui


def _row(panel, job_id: int) -> int:
    return next(r for r, e in enumerate(panel.entries) if e.id == job_id)


def test_add_to_queue_cancel_reorder_and_progress(make_window, sample_project, errors, tmp_path):
    w = make_window()
    assert w.open_project(sample_project)
    panel = w.queue_panel
    assert w.docks["queue"].widget() is panel
    w.doc.timeline.set_in(0)
    w.doc.timeline.set_out(7)
    first = w.add_to_queue()
    w.render_panel.queue_btn.click()
    second = panel.entries[-1].id
    assert first is not None and second != first and not errors
    q = RenderQueue(panel.queue.path)  # what `studio queue run` would open
    job = q.job(first)
    assert job.frames == tuple(range(0, 8)) and job.output_dir.name.startswith("queue-")
    assert job.output_dir.parent == sample_project.parent / "sample.renders"

    panel.table.selectRow(_row(panel, second))
    assert panel.up_btn.isEnabled() and not panel.open_btn.isEnabled()
    panel.up_btn.click()
    assert [e.id for e in q.entries()] == [second, first]

    # a runner elsewhere makes progress; the dock shows it at its next refresh
    claimed = q.claim()
    q.progress(claimed.id, 3, "3/8 frames")
    panel.refresh()
    bar = panel.table.cellWidget(_row(panel, claimed.id), 2)
    assert (bar.value(), bar.maximum()) == (3, 8)
    assert panel.table.item(_row(panel, claimed.id), 1).text() == "running"

    panel.table.selectRow(_row(panel, first))
    panel.cancel_btn.click()
    assert q.entry(first).state == "cancelled"
    panel.table.selectRow(_row(panel, claimed.id))
    panel.cancel_btn.click()
    assert q.entry(claimed.id).cancel_requested  # the runner stops it within a step


def test_open_result_opens_the_finished_jobs_output(make_window, sample_project, monkeypatch, tmp_path):
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    w = make_window()
    assert w.open_project(sample_project)
    panel = w.queue_panel
    job_id = w.add_to_queue()
    q = panel.queue
    out = q.job(job_id).output_dir
    out.mkdir(parents=True)
    q.claim(job_id)
    q.finish(job_id, "done", "ok", 48)
    panel.refresh()
    panel.table.selectRow(_row(panel, job_id))
    assert panel.open_btn.isEnabled() and panel.open_result()
    assert opened == [str(out)]


def test_add_to_queue_without_a_photo_is_a_clear_error(make_window, errors):
    w = make_window()
    assert w.add_to_queue() is None and errors  # nothing to render yet: a clear error, nothing queued
    assert w.queue_panel.entries == []


@pytest.mark.slow  # 9 s: the runner starts a local Ray cluster; tests/farm/test_queue.py runs the runner in process
# by default, CI's slow call runs this one
def test_run_queue_starts_a_runner_process_that_renders_the_job(make_window, sample_project, qtbot):
    w = make_window()
    assert w.open_project(sample_project)
    w.doc.timeline.set_in(0)
    w.doc.timeline.set_out(1)
    job_id = w.add_to_queue()
    panel = w.queue_panel
    panel.run_btn.click()
    assert not panel.run_btn.isEnabled()  # one runner at a time
    qtbot.waitUntil(lambda: panel.queue.entry(job_id).state == "done", timeout=180_000)
    qtbot.waitUntil(lambda: panel.run_btn.isEnabled(), timeout=60_000)  # the runner ends when the queue is empty
    out = panel.queue.job(job_id).output_dir
    assert sorted(p.name for p in out.glob("frame_*.png")) == ["frame_000000.png", "frame_000001.png"]


def test_runner_command_in_a_packaged_app_uses_studio_cli(monkeypatch, tmp_path):
    import sys

    from studio.gui.queue_dock import runner_command

    program, args = runner_command(tmp_path / "q.sqlite")
    assert (program, args[:2]) == (sys.executable, ["-m", "studio"]) and args[-1] == "run"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bundle" / "studio"))
    program, args = runner_command(tmp_path / "q.sqlite")
    assert program.startswith(str(tmp_path / "bundle" / "studio-cli"))
    assert args == ["queue", "--queue-file", str(tmp_path / "q.sqlite"), "run"]
