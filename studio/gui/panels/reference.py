"""Reference panel: open or drop the photo to animate; shows it with its detected skeleton.
Loading and detection run off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from studio.core.tracks import FLAG_NO_PERSON
from studio.gui.errors import hub
from studio.gui.panels.drop import DropTarget
from studio.gui.tasks import Task
from studio.gui.widgets.pose_overlay import PoseCanvas

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def load_reference(path: Path):
    """Worker function: decode ``path`` and detect the person in it."""
    from studio.extract import detect_image
    from studio.media.image import load_image

    rgb = load_image(path).pixels
    pose, face = detect_image(rgb)
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
        self.open_btn = QPushButton("Open photo…")
        self.open_btn.clicked.connect(self.choose)
        self.status = QLabel()
        self.status.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.open_btn)
        top.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.canvas, 1)
        self.task: Task | None = None
        document.reference_changed.connect(self.refresh)
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

    def _failed(self, err) -> None:
        self.refresh()
        hub().report(err)

    def refresh(self) -> None:
        """Show the document's reference."""
        p = self.doc.project
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
