"""The persistent render queue: one sqlite file in the user data folder.

Each entry is a frozen :class:`RenderJob` (encoded by :mod:`studio.farm.codec`, never pickled)
plus the project it came from, the output the artist asked for, and its state::

    queued -> running -> done | failed | cancelled
       ^         |
       +---------+  (requeue: the worker died, or the runner that held it is gone)

Every change is one sqlite transaction, so a crash (even a SIGKILL of ``studio queue run``)
leaves the file consistent. A job that was ``running`` under a runner process that no longer
exists comes back as ``queued`` (:meth:`RenderQueue.recover`); its finished frames are on disk in
its render folder and are reused by :func:`studio.core.render.run_job`'s resume path.

Several processes may use the file at once (the GUI's Queue dock, ``studio queue add`` and a
runner): each call opens its own connection; writes wait up to :data:`BUSY_TIMEOUT` seconds.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.farm.codec import decode_job, encode_job

#: Environment variable naming the queue file (tests, several queues side by side).
QUEUE_ENV = "STUDIO_QUEUE"
APP_NAME = "xdyna-studio"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0
#: A job whose worker died this many times is marked failed instead of requeued.
MAX_ATTEMPTS = 3

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    position REAL NOT NULL,
    state TEXT NOT NULL,
    project TEXT,
    output TEXT NOT NULL,
    render_dir TEXT NOT NULL,
    fps REAL NOT NULL DEFAULT 25.0,
    backend TEXT NOT NULL,
    n_frames INTEGER NOT NULL,
    split INTEGER NOT NULL DEFAULT 0,
    job TEXT NOT NULL,
    done_frames INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    runner_pid INTEGER,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
"""

_COLUMNS = ("id", "position", "state", "project", "output", "render_dir", "fps", "backend", "n_frames", "split",
            "done_frames", "message", "attempts", "cancel_requested", "runner_pid", "created", "updated")


def default_queue_path() -> Path:
    """``$STUDIO_QUEUE``, else ``queue.sqlite`` in the user data folder
    (``~/.local/share/xdyna-studio`` on Linux)."""
    env = os.environ.get(QUEUE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME)) / "queue.sqlite"


@dataclass(frozen=True)
class QueueEntry:
    """One row of the queue (without the encoded job; see :meth:`RenderQueue.job`)."""

    id: int
    position: float
    state: str
    project: str | None
    output: str
    render_dir: str
    fps: float
    backend: str
    n_frames: int
    split: bool
    done_frames: int
    message: str
    attempts: int
    cancel_requested: bool
    runner_pid: int | None
    created: float
    updated: float

    @property
    def finished(self) -> bool:
        """Whether the job reached ``done``, ``failed`` or ``cancelled``."""
        return self.state in FINISHED


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RenderQueue:
    """The queue file at ``path`` (default :func:`default_queue_path`), created on first use."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_queue_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.executescript(_SCHEMA)
                row = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if row is None:
                    con.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                elif int(row[0]) != SCHEMA_VERSION:
                    raise StudioError(
                        "Render queue from another version",
                        f"The queue file {self.path} has format {row[0]}; this studio reads format "
                        f"{SCHEMA_VERSION}. Move the file away to start a new queue.",
                    )
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc) from exc

    # -- plumbing -------------------------------------------------------------------------------
    def _error(self, exc: BaseException) -> StudioError:
        return StudioError(
            "Cannot use the render queue",
            f"The queue file {self.path} cannot be read or written ({exc}). Check that its folder is "
            f"writable, or set {QUEUE_ENV} to another file.",
            repr(exc),
        )

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: claims cannot race)."""
        try:
            con = self._connect()
            try:
                con.execute("BEGIN IMMEDIATE")
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    @staticmethod
    def _entry(row: tuple) -> QueueEntry:
        d = dict(zip(_COLUMNS, row))
        d["split"] = bool(d["split"])
        d["cancel_requested"] = bool(d["cancel_requested"])
        return QueueEntry(**d)

    def _get(self, con: sqlite3.Connection, job_id: int) -> QueueEntry:
        row = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        if row is None:
            raise StudioError("No such job", f"The render queue {self.path} has no job {job_id}; "
                              "`studio queue list` shows the jobs.")
        return self._entry(row)

    # -- adding and reading -----------------------------------------------------------------------
    def add(self, job: RenderJob, output: Path | str, project: Path | str | None = None, *,
            fps: float = 25.0, split: bool = False) -> int:
        """Queue ``job`` (its frames go to ``job.output_dir``, the export to ``output``); returns
        the new job's id. ``split`` asks for one clip across several workers (reference and static
        schedules of X-Dyna)."""
        if job.output_dir is None:
            raise StudioError("No render folder", "A queued job needs a render folder for its frames.")
        text = encode_job(job)
        now = time.time()
        with self._tx() as con:
            top = con.execute("SELECT COALESCE(MAX(position), 0) FROM jobs").fetchone()[0]
            cur = con.execute(
                "INSERT INTO jobs (position, state, project, output, render_dir, fps, backend, n_frames, split, job, "
                "created, updated) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (top + 1, str(project) if project else None, str(output), str(Path(job.output_dir).absolute()),
                 float(fps), job.settings.backend,
                 job.n_frames, int(split), text, now, now),
            )
            return int(cur.lastrowid)

    def entries(self) -> list[QueueEntry]:
        """Every job, in queue order (unfinished first by position, then finished by id)."""
        try:
            con = self._connect()
            try:
                rows = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs").fetchall()
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        out = [self._entry(r) for r in rows]
        return sorted(out, key=lambda e: (e.finished, e.position if not e.finished else 0, e.id))

    def entry(self, job_id: int) -> QueueEntry:
        """The row of job ``job_id``."""
        with self._tx() as con:
            return self._get(con, job_id)

    def job(self, job_id: int) -> RenderJob:
        """The frozen job of entry ``job_id``."""
        with self._tx() as con:
            self._get(con, job_id)
            text = con.execute("SELECT job FROM jobs WHERE id = ?", (int(job_id),)).fetchone()[0]
        return decode_job(text, f"the render queue {self.path} (job {job_id})")

    # -- the runner's side ------------------------------------------------------------------------
    def recover(self) -> list[int]:
        """Requeue every ``running`` job whose runner process is gone (a crash, a kill, a
        restart); returns their ids. Their finished frames are reused on the next run."""
        with self._tx() as con:
            rows = con.execute("SELECT id, runner_pid FROM jobs WHERE state = 'running'").fetchall()
            lost = [i for i, pid in rows if pid == os.getpid() or not _pid_alive(pid)]
            for i in lost:
                con.execute(
                    "UPDATE jobs SET state = 'queued', runner_pid = NULL, updated = ?, message = ? WHERE id = ?",
                    (time.time(), "requeued: the runner that held it stopped", i),
                )
        return lost

    def claim(self, job_id: int | None = None) -> QueueEntry | None:
        """Mark job ``job_id`` (default: the first queued job) ``running`` under this process and
        return it; ``None`` when it is no longer queued (or nothing is)."""
        with self._tx() as con:
            if job_id is None:
                row = con.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY position, id").fetchone()
                if row is None:
                    return None
                job_id = int(row[0])
            e = self._get(con, job_id)
            if e.state != "queued":
                return None
            con.execute(
                "UPDATE jobs SET state = 'running', runner_pid = ?, updated = ?, message = 'starting' WHERE id = ?",
                (os.getpid(), time.time(), e.id),
            )
            return self._get(con, e.id)

    def unclaim(self, job_id: int, message: str) -> None:
        """Put a running job back in the queue without counting an attempt (the runner stopped)."""
        with self._tx() as con:
            e = self._get(con, job_id)
            state = "cancelled" if e.cancel_requested else "queued"
            con.execute("UPDATE jobs SET state = ?, runner_pid = NULL, message = ?, updated = ? WHERE id = ?",
                        (state, message if state == "queued" else "cancelled", time.time(), e.id))

    def next_queued(self) -> QueueEntry | None:
        """The first queued job, without claiming it."""
        for e in self.entries():
            if e.state == "queued":
                return e
        return None

    def progress(self, job_id: int, done_frames: int, message: str = "") -> bool:
        """Record progress of a running job; returns whether a cancel was requested."""
        with self._tx() as con:
            con.execute("UPDATE jobs SET done_frames = ?, message = ?, updated = ? WHERE id = ?",
                        (int(done_frames), message, time.time(), int(job_id)))
            row = con.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (int(job_id),)).fetchone()
        return bool(row and row[0])

    def finish(self, job_id: int, state: str, message: str = "", done_frames: int | None = None) -> None:
        """End a running job as ``done``, ``failed`` or ``cancelled``."""
        if state not in FINISHED:
            raise ValueError(f"not a final state: {state}")
        with self._tx() as con:
            con.execute(
                "UPDATE jobs SET state = ?, message = ?, runner_pid = NULL, updated = ?, "
                "done_frames = COALESCE(?, done_frames) WHERE id = ?",
                (state, message, time.time(), done_frames, int(job_id)),
            )

    def requeue(self, job_id: int, message: str) -> bool:
        """Put a running job back in the queue after its worker died (it keeps its place);
        after :data:`MAX_ATTEMPTS` deaths it is marked failed instead. Returns whether requeued."""
        with self._tx() as con:
            e = self._get(con, job_id)
            attempts = e.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                con.execute(
                    "UPDATE jobs SET state = 'failed', attempts = ?, runner_pid = NULL, message = ?, updated = ? "
                    "WHERE id = ?",
                    (attempts, f"{message} ({attempts} times; giving up)", time.time(), e.id),
                )
                return False
            state = "cancelled" if e.cancel_requested else "queued"
            con.execute(
                "UPDATE jobs SET state = ?, attempts = ?, runner_pid = NULL, message = ?, updated = ? WHERE id = ?",
                (state, attempts, message, time.time(), e.id),
            )
            return state == "queued"

    # -- the artist's side ------------------------------------------------------------------------
    def cancel(self, job_id: int) -> str:
        """Cancel a job: a queued one at once, a running one within a step (its runner sees the
        request). Returns the job's state after the call."""
        with self._tx() as con:
            e = self._get(con, job_id)
            if e.finished:
                raise StudioError(
                    "Job already finished",
                    f"Job {e.id} is {e.state}; only queued or running jobs can be cancelled.",
                )
            if e.state == "queued":
                con.execute("UPDATE jobs SET state = 'cancelled', message = 'cancelled', updated = ? WHERE id = ?",
                            (time.time(), e.id))
                return "cancelled"
            con.execute("UPDATE jobs SET cancel_requested = 1, message = 'cancelling', updated = ? WHERE id = ?",
                        (time.time(), e.id))
            return "running"

    def move(self, job_id: int, delta: int) -> None:
        """Move a queued job ``delta`` places earlier (negative) or later (positive) among the
        queued jobs."""
        with self._tx() as con:
            e = self._get(con, job_id)
            if e.state != "queued":
                raise StudioError("Only queued jobs move", f"Job {e.id} is {e.state}; only queued jobs can be reordered.")
            order = [r[0] for r in con.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY position, id").fetchall()]
            i = order.index(e.id)
            j = max(0, min(len(order) - 1, i + int(delta)))
            if i == j:
                return
            order.insert(j, order.pop(i))
            for pos, k in enumerate(order, start=1):
                con.execute("UPDATE jobs SET position = ? WHERE id = ?", (float(pos), k))

    def remove_finished(self) -> int:
        """Forget every done, failed or cancelled job; returns how many (their frames stay)."""
        with self._tx() as con:
            cur = con.execute("DELETE FROM jobs WHERE state IN ('done', 'failed', 'cancelled')")
            return int(cur.rowcount)
