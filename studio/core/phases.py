"""Phase marks for measuring where the time to the first motion goes (bench/first_motion.py).

When the environment variable :data:`PHASE_LOG` names a file, :func:`mark` appends one JSON
line per call: the phase name, the process id, the wall clock (``time.time()``, comparable
between processes) and the CPU time of the calling process so far (``time.process_time()``).
Helper processes inherit the variable, so the window, the extraction helper and the render
helper write to the same file. Without the variable :func:`mark` does nothing (one dict lookup).

:func:`read_marks` reads such a file; :func:`phase_table` turns consecutive marks into phases
with their wall and CPU seconds.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

#: The environment variable naming the phase log file.
PHASE_LOG = "STUDIO_PHASE_LOG"


@dataclass(frozen=True)
class Mark:
    """One :func:`mark` call: ``wall`` seconds since the epoch, ``cpu`` seconds of process ``pid``."""

    name: str
    pid: int
    wall: float
    cpu: float


def mark(name: str) -> None:
    """Record that phase ``name`` ended now in this process (only while :data:`PHASE_LOG` is set;
    a log that cannot be written is ignored: measuring never breaks the work)."""
    path = os.environ.get(PHASE_LOG)
    if not path:
        return
    line = json.dumps({"name": name, "pid": os.getpid(), "wall": time.time(), "cpu": time.process_time()})
    try:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError:
        pass


def read_marks(path: str | Path) -> list[Mark]:
    """The marks in the log at ``path``, in wall-clock order (unreadable lines skipped)."""
    out: list[Mark] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            d = json.loads(line)
            out.append(Mark(str(d["name"]), int(d["pid"]), float(d["wall"]), float(d["cpu"])))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(out, key=lambda m: m.wall)


@dataclass(frozen=True)
class Phase:
    """The time between two marks: ``wall`` seconds; ``cpu`` seconds the process that wrote the
    ending mark spent in it (all its CPU time when the phase started in another process, e.g. a
    helper's start-up); ``pid`` that process."""

    name: str
    wall: float
    cpu: float
    pid: int


def phase_table(marks: list[Mark], names: list[str] | None = None, until: float | None = None) -> list[Phase]:
    """The phases between consecutive marks in wall-clock order, each named by the mark that
    ends it. With ``names`` only marks of those names count, the first of each name in each
    process; with ``until`` only marks up to that wall time. The first mark is the origin
    (a phase of 0 s)."""
    chosen: list[Mark] = []
    seen: set[tuple[str, int]] = set()
    for m in sorted(marks, key=lambda m: m.wall):
        if (until is not None and m.wall > until) or (names is not None and m.name not in names):
            continue
        if names is not None and (m.name, m.pid) in seen:
            continue
        seen.add((m.name, m.pid))
        chosen.append(m)
    out: list[Phase] = []
    for i, m in enumerate(chosen):
        if i == 0:
            out.append(Phase(m.name, 0.0, 0.0, m.pid))
            continue
        t0 = chosen[i - 1].wall
        earlier = [x for x in marks if x.pid == m.pid and x.wall <= t0]
        cpu = m.cpu - earlier[-1].cpu if earlier else m.cpu
        out.append(Phase(m.name, max(0.0, m.wall - t0), max(0.0, cpu), m.pid))
    return out
