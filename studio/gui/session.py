"""Preferences, recent files and autosave with crash recovery, on QSettings.

Autosave writes the project every minute (when it has unsaved changes) to a side file: beside the
project as ``<name>.autosave.json``, or in the app data folder for an untitled project. The side
file's path is recorded in QSettings and removed on a clean save or exit, so finding it at start
means the studio did not shut down cleanly: the window then offers to recover it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from studio.core.project import PROJECT_SUFFIX, Project

log = logging.getLogger("studio.gui")

MAX_RECENT = 8
AUTOSAVE_MS = 60_000


def app_settings() -> QSettings:
    """The studio's QSettings (user scope)."""
    return QSettings("xdyna-studio", "studio")


class RecentFiles:
    """The recent-projects list, newest first."""

    KEY = "recent/files"

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[Path]:
        """Recent project paths that still exist."""
        raw = self.settings.value(self.KEY, [])
        if isinstance(raw, str):
            raw = [raw]
        return [Path(p) for p in (raw or []) if Path(p).exists()]

    def add(self, path: Path) -> None:
        """Put ``path`` first."""
        p = str(Path(path).resolve())
        items = [p] + [str(x) for x in self.paths() if str(x) != p]
        self.settings.setValue(self.KEY, items[:MAX_RECENT])


def autosave_path(project_path: Path | None, data_dir: Path) -> Path:
    """Where the autosave of a project at ``project_path`` goes."""
    if project_path is None:
        return data_dir / "autosave" / "untitled.autosave.json"
    name = project_path.name.removesuffix(PROJECT_SUFFIX).removesuffix(".json")
    return project_path.parent / f"{name}.autosave.json"


class Autosaver(QObject):
    """Saves a copy of the document's project every ``interval_ms`` while it has unsaved changes.

    Signals
    -------
    saved(object): an autosave was written (its path).
    """

    saved = Signal(object)
    KEY_FILE = "autosave/file"
    KEY_PROJECT = "autosave/project"

    def __init__(self, document, settings: QSettings, data_dir: Path, interval_ms: int = AUTOSAVE_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.settings = settings
        self.data_dir = Path(data_dir)
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.autosave)
        self.timer.start()
        self._last: Path | None = None

    def autosave(self) -> Path | None:
        """Write the side file now (when there are unsaved changes)."""
        if not self.doc.dirty:
            return None
        project: Project = self.doc.project
        target = autosave_path(project.path, self.data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        original = project.path
        try:
            project.save(target)
        except Exception:  # noqa: BLE001 - autosave must never interrupt work
            log.exception("autosave to %s failed", target)
            return None
        finally:
            project.path = original
        if self._last is not None and self._last != target:
            self._last.unlink(missing_ok=True)
        self._last = target
        self.settings.setValue(self.KEY_FILE, str(target))
        self.settings.setValue(self.KEY_PROJECT, str(original) if original else "")
        self.settings.sync()
        self.saved.emit(target)
        return target

    def discard(self) -> None:
        """Remove the side file (after a real save, or a clean exit)."""
        f = self.settings.value(self.KEY_FILE, "")
        for p in {self._last, Path(f) if f else None}:
            if p is not None:
                p.unlink(missing_ok=True)
        self._last = None
        self.settings.remove(self.KEY_FILE)
        self.settings.remove(self.KEY_PROJECT)
        self.settings.sync()

    def pending_recovery(self) -> tuple[Path, Path | None] | None:
        """``(autosave file, original project path or None)`` left by a session that crashed."""
        f = self.settings.value(self.KEY_FILE, "")
        if not f or not Path(f).exists():
            return None
        orig = self.settings.value(self.KEY_PROJECT, "")
        return Path(f), (Path(orig) if orig else None)

    def stop(self) -> None:
        """Stop the timer."""
        self.timer.stop()
