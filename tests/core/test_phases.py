"""Phase marks (studio.core.phases): written only while STUDIO_PHASE_LOG is set, from every
process that inherits it, and turned into phases with wall and CPU seconds."""

from __future__ import annotations

import multiprocessing as mp
import os

from studio.core.phases import PHASE_LOG, Mark, mark, phase_table, read_marks


def _child_marks() -> None:  # a spawned process: inherits the variable
    sum(i * i for i in range(200_000))
    mark("child worked")


def test_marks_are_written_only_while_the_variable_is_set(tmp_path, monkeypatch) -> None:
    log = tmp_path / "phases.jsonl"
    monkeypatch.delenv(PHASE_LOG, raising=False)
    mark("ignored")
    assert not log.exists()
    monkeypatch.setenv(PHASE_LOG, str(log))
    mark("start")
    proc = mp.get_context("spawn").Process(target=_child_marks)
    proc.start()
    proc.join(60)
    mark("end")
    marks = read_marks(log)
    assert [m.name for m in marks] == ["start", "child worked", "end"]
    assert marks[0].pid == marks[2].pid == os.getpid() != marks[1].pid
    assert marks[1].cpu > 0 and marks[0].wall <= marks[1].wall <= marks[2].wall


def test_a_broken_line_or_missing_log_is_skipped(tmp_path) -> None:
    log = tmp_path / "phases.jsonl"
    assert read_marks(log) == []
    log.write_text('{"name": "a", "pid": 1, "wall": 2.0, "cpu": 0.5}\nnot json\n{"name": "b"}\n')
    assert read_marks(log) == [Mark("a", 1, 2.0, 0.5)]


def test_phases_take_wall_between_marks_and_cpu_of_the_ending_process() -> None:
    marks = [Mark("open", 1, 10.0, 1.0), Mark("spawn", 1, 10.5, 1.2), Mark("started", 2, 11.5, 0.4),
             Mark("noise", 1, 11.8, 1.3), Mark("detected", 2, 14.0, 2.4), Mark("shown", 1, 14.5, 1.5),
             Mark("started", 2, 20.0, 3.0)]
    table = phase_table(marks, ["open", "spawn", "started", "detected", "shown"])
    assert [p.name for p in table] == ["open", "spawn", "started", "detected", "shown"]  # first per process
    walls = [round(p.wall, 6) for p in table]
    cpus = [round(p.cpu, 6) for p in table]
    assert walls == [0.0, 0.5, 1.0, 2.5, 0.5]
    # a helper's first mark: all its CPU; later ones: since its previous mark; the window's
    # last phase counts its CPU since its latest mark before the phase began (noise at 11.8)
    assert cpus == [0.0, 0.2, 0.4, 2.0, 0.2]
    assert [p.name for p in phase_table(marks, None, until=11.6)] == ["open", "spawn", "started"]
