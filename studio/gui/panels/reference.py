"""Reference panel: open or drop the photo to animate; shows it with its detected skeleton.
Loading and detection run off the GUI thread.

A pose that fails the reference-pose check (:mod:`studio.document.reference_pose`) is named in a
warning line under the photo; its points can be dragged to fix it (each drag is an undo step).

A renderer whose spec has a ``photo_note`` (:class:`~studio.core.backend.BackendSpec`) is asked,
off the GUI thread, what it sees in the photo -- StableAnimator: the face it will keep -- and its
boxes and points are drawn over the photo, its message in a line under it (a warning in orange,
e.g. no face found)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core import registry
from studio.core.errors import StudioError
from studio.core.tracks import FLAG_NO_PERSON
from studio.gui.errors import hub
from studio.gui.panels.drop import DropTarget
from studio.document.reference_pose import move_reference_point, warning_text
from studio.gui.tasks import Task
from studio.gui.widgets.pose_overlay import PoseCanvas

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def load_reference(path: Path):
    """Worker function: decode ``path`` and detect the person in it."""
    from studio.extract import detect_image
    from studio.media.image import load_image

    from studio.core.phases import mark

    rgb = load_image(path).pixels
    mark("photo decoded")
    pose, face = detect_image(rgb)
    mark("reference pose")
    return path, rgb, pose, face


class ReferencePanel(DropTarget):
    """The reference photo with its skeleton.

    Signals
    -------
    loaded(object): the photo at this path is now the reference.
    """

    loaded = Signal(object)

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(IMAGE_SUFFIXES, self.open_path, parent)
        self.doc = document
        self.setObjectName("ReferencePanel")
        self.canvas = PoseCanvas("Drop a photo of a person here\nor click Open photo…")
        self.canvas.set_layers(face=True)
        self.canvas.editable = True  # drag a wrong point to fix the photo's pose
        self.canvas.keypoint_dragged.connect(self._dragged)
        self.open_btn = QPushButton("Open photo…")
        self.open_btn.clicked.connect(self.choose)
        self.status = QLabel()
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.open_btn)
        top.addWidget(self.status, 1)
        self.warning = QLabel()
        self.warning.setObjectName("poseWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("QLabel#poseWarning { color: #ffb347; }")
        self.warning.setVisible(False)
        self.retarget_btn = QPushButton("Retarget anyway")
        self.retarget_btn.setToolTip("Give the dancer this pose's proportions although it looks wrong")
        self.retarget_btn.clicked.connect(self._retarget_anyway)
        warn_row = QHBoxLayout()
        warn_row.addWidget(self.warning, 1)
        warn_row.addWidget(self.retarget_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(warn_row)
        self.note = QLabel()
        self.note.setObjectName("rendererNote")
        self.note.setWordWrap(True)
        self.note.setVisible(False)
        lay.addWidget(self.note)
        lay.addWidget(self.canvas, 1)
        self.task: Task | None = None
        self.note_task: Task | None = None
        self._note_key: tuple | None = None
        document.reference_changed.connect(self.refresh)
        document.settings_changed.connect(self.refresh_note)
        document.settings_changed.connect(self._show_warning)
        document.driving_changed.connect(self._show_warning)  # a live photo words it differently
        self.refresh()

    def choose(self) -> None:
        """Ask for a photo."""
        pattern = " ".join(f"*{s}" for s in IMAGE_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Open the reference photo", "", f"Images ({pattern})")
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> Task:
        """Load ``path`` and detect the person in it (in the background)."""
        if self.task is not None and self.task.is_running():
            self.task.cancel()
        self.status.setText(f"Reading {Path(path).name}…")
        task = Task(lambda progress, cancel: load_reference(Path(path)), "reference", self)
        task.succeeded.connect(self._loaded)
        task.failed.connect(self._failed)
        self.task = task
        task.start()
        return task

    def _loaded(self, result) -> None:
        path, rgb, pose, face = result
        self.doc.set_reference(path, rgb, pose, face)
        self.loaded.emit(path)

    def _dragged(self, frame: int, part: str, index: int, x: float, y: float) -> None:
        if self.doc.project.reference_pose is not None:
            move_reference_point(self.doc, part, index, x, y)

    def _retarget_anyway(self) -> None:
        self.doc.update_settings(retarget=True)

    def _show_warning(self) -> None:
        """The warning line about the photo's pose (hidden for a good pose)."""
        text, details = warning_text(self.doc)
        self.warning.setText(text)
        self.warning.setToolTip(details)
        self.warning.setVisible(bool(text))
        self.retarget_btn.setVisible(bool(text) and not self.doc.settings.retarget
                                     and not self.doc.project.is_live_photo)

    def _failed(self, err) -> None:
        self.refresh()
        hub().report(err)

    # -- what the renderer sees in the photo ------------------------------------------------------
    def refresh_note(self) -> Task | None:
        """Ask the chosen renderer what it sees in the photo (in the background); only when the
        renderer, its weights folder, the photo or the device changed."""
        rgb, s = self.doc.reference_rgb, self.doc.settings
        try:
            spec = registry.get_spec(s.backend)
        except StudioError:
            spec = None
        folder = self.doc.weights_folder().path if spec is not None and spec.weights is not None else None
        key = (s.backend, str(folder), id(rgb), s.device)
        if key == self._note_key:
            return self.note_task
        self._note_key = key
        if self.note_task is not None and self.note_task.is_running():
            self.note_task.cancel()
        self.note_task = None
        if spec is None or spec.photo_note is None or rgb is None:
            self._show_note(None, "")
            return None
        task = Task(lambda progress, cancel: spec.note_photo(rgb, folder, s.device), "photo note", self)
        task.succeeded.connect(lambda note: self._note_ready(key, spec.label, note))
        task.failed.connect(lambda err: self._note_ready(key, spec.label, None, err))
        self.note_task = task
        task.start()
        return task

    def _note_ready(self, key: tuple, label: str, note, err: StudioError | None = None) -> None:
        if key != self._note_key:
            return  # the photo or the renderer changed meanwhile
        if err is not None:
            self._show_note(None, f"{label}: {err.title}. {err.description}", warning=True)
        else:
            self._show_note(note, note.message if note is not None else "", warning=note is not None and note.warning)

    def _show_note(self, note, text: str, warning: bool = False) -> None:
        self.canvas.set_marks(note)
        self.note.setText(text)
        self.note.setStyleSheet(f"QLabel#rendererNote {{ color: {'#ffb347' if warning else '#ffc83c'}; }}")
        self.note.setVisible(bool(text))

    def refresh(self) -> None:
        """Show the document's reference."""
        p = self.doc.project
        self._show_warning()
        self.refresh_note()
        self.canvas.set_image(self.doc.reference_rgb)
        self.canvas.set_pose(p.reference_pose, p.reference_face, 0)
        if p.reference_image is None:
            self.status.setText("No photo yet.")
        elif self.doc.reference_rgb is None:
            self.status.setText(f"⚠ {Path(p.reference_image).name} is missing; open it again.")
        elif p.reference_pose is not None and int(p.reference_pose.flags[0]) & FLAG_NO_PERSON:
            self.status.setText(f"⚠ No person found in {Path(p.reference_image).name}; use a photo showing the whole body.")
        else:
            h, w = self.doc.reference_rgb.shape[:2]
            self.status.setText(f"{Path(p.reference_image).name} · {w}×{h}")
