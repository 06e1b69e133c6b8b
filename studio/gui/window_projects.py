"""The main window's project files: New, Open, Open Recent, Save, Save As, crash recovery, the
live photo and the export dialog (:class:`ProjectFiles`, a part of
:class:`~studio.gui.main_window.MainWindow`), and the two questions they ask.

Unsaved changes are never dropped silently: every action that replaces the project asks first
(:data:`SaveAsker`; tests pass their own answer). Problems reach the error hub, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from studio.core.errors import StudioError
from studio.core.project import PROJECT_SUFFIX, Project
from studio.gui.errors import hub

if TYPE_CHECKING:
    from studio.gui.document import Document


#: Asks whether to save unsaved changes: returns "save", "discard" or "cancel".
SaveAsker = Callable[[QWidget], str]
#: Asks whether to recover an autosave: returns True to recover.
RecoverAsker = Callable[[QWidget, Path], bool]


def ask_save(parent: QWidget) -> str:
    """The default unsaved-changes question."""
    b = QMessageBox.question(
        parent, "Unsaved changes", "Save the changes to this project first?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
    )
    return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(b, "cancel")


def ask_recover(parent: QWidget, path: Path) -> bool:
    """The default crash-recovery question."""
    return QMessageBox.question(
        parent, "Recover unsaved work?",
        f"The studio did not close properly last time. Recover the autosaved project ({path.name})?",
    ) == QMessageBox.StandardButton.Yes


class ProjectFiles:
    """File-menu actions of the main window (which provides ``doc``, ``controller``, ``frames``,
    ``viewer``, ``driving_panel``, ``recent``, ``autosaver``, ``m_recent`` and the two askers)."""

    doc: Document
    ask_save: SaveAsker
    ask_recover: RecoverAsker

    def _title(self) -> None:
        self.setWindowTitle(f"{self.doc.title()} — X-Dyna Studio")

    def _confirm_discard(self) -> bool:
        """True when unsaved changes may be dropped (after saving them if asked to)."""
        if not self.doc.dirty:
            return True
        answer = self.ask_save(self)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_project(self) -> None:
        """File > New."""
        if self._confirm_discard():
            self.controller.cancel()
            self.doc.new_project()
            self.frames.set_video(None)

    def open_dialog(self) -> None:
        """File > Open…"""
        path, _ = QFileDialog.getOpenFileName(self, "Open a project", "", f"Studio projects (*{PROJECT_SUFFIX} *.json)")
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path, confirm: bool = True) -> bool:
        """Open the project at ``path``; problems are shown, never raised."""
        if confirm and not self._confirm_discard():
            return False
        self.controller.cancel()
        try:
            missing = self.doc.open(path)
        except StudioError as err:
            hub().report(err)
            return False
        self._after_load()
        self.recent.add(Path(path))
        if missing:
            lines = "; ".join(f"{name.replace('_', ' ')}: {p}" for name, p in missing)
            hub().report(StudioError(
                "Some files are missing",
                f"The project refers to files that are not there any more ({lines}). Open them again "
                "from the Reference or Driving panel.",
            ))
        return True

    def _after_load(self) -> None:
        video = self.doc.project.driving_video
        self.frames.set_video(video if video is not None and Path(video).exists() else None)
        self.viewer.refresh()
        self.driving_panel.refresh()
        if self.doc.project.pose is None and video is not None and Path(video).exists():
            self.driving_panel.open_path(Path(video))  # tracks not in the file: extract (disk-cached)

    def save(self) -> bool:
        """File > Save (asks for a file the first time)."""
        if self.doc.project.path is None:
            return self.save_as()
        return self._save_to(self.doc.project.path)

    def save_as(self) -> bool:
        """File > Save As…"""
        path, _ = QFileDialog.getSaveFileName(self, "Save the project", f"untitled{PROJECT_SUFFIX}",
                                              f"Studio projects (*{PROJECT_SUFFIX})")
        if not path:
            return False
        if not path.endswith(".json"):
            path += PROJECT_SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.doc.save(path)
        except StudioError as err:
            hub().report(err)
            return False
        self.autosaver.discard()
        self.recent.add(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _fill_recent(self) -> None:
        self.m_recent.clear()
        paths = self.recent.paths()
        for p in paths:
            self.m_recent.addAction(p.name, lambda p=p: self.open_project(p)).setToolTip(str(p))
        if not paths:
            self.m_recent.addAction("(none)").setEnabled(False)

    def offer_recovery(self) -> bool:
        """At start: offer the autosave a crashed session left behind; True when recovered."""
        pending = self.autosaver.pending_recovery()
        if pending is None:
            return False
        file, original = pending
        if not self.ask_recover(self, file):
            self.autosaver.discard()
            return False
        try:
            project = Project.load(file)
        except StudioError as err:
            hub().report(err)
            return False
        project.path = original
        self.doc.set_project(project)
        self.doc.mark_dirty()
        self._after_load()
        return True

    def make_live_photo(self, seconds: float | None = None, fps: float | None = None) -> bool:
        """File > Make a Live Photo…: asks for the length and frame rate (unless ``seconds`` is
        given) and holds the photo's pose for it (undoable)."""
        if seconds is None:
            from studio.gui.dialogs.live_photo_dialog import LivePhotoDialog

            dlg = LivePhotoDialog(self.doc.project.live_seconds or 4.0, fps or self.doc.project.fps or 25.0, self)
            if dlg.exec() != dlg.DialogCode.Accepted:
                return False
            seconds, fps = dlg.values()
        try:
            self.doc.set_live_photo(seconds, fps)
        except StudioError as err:
            hub().report(err)
            return False
        self.frames.set_video(None)
        return True

    def export_dialog(self):
        """File > Export…"""
        from studio.gui.dialogs.export_dialog import ExportDialog

        dlg = ExportDialog(self.doc, self)
        dlg.open()
        return dlg
