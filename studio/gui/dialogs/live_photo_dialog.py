"""Asks for a live photo's length and frame rate."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QWidget

from studio.extract.live_photo import MAX_SECONDS


class LivePhotoDialog(QDialog):
    """Length (seconds) and frame rate of a live photo: the photo's own pose held, no video."""

    def __init__(self, seconds: float = 4.0, fps: float = 25.0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Live photo")
        self.setObjectName("LivePhotoDialog")
        self.seconds = QDoubleSpinBox()
        self.seconds.setRange(0.5, MAX_SECONDS)
        self.seconds.setDecimals(1)
        self.seconds.setSuffix(" s")
        self.seconds.setValue(seconds)
        self.fps = QDoubleSpinBox()
        self.fps.setRange(1.0, 60.0)
        self.fps.setDecimals(2)
        self.fps.setSuffix(" fps")
        self.fps.setValue(fps)
        note = QLabel("The person holds the photo's pose; X-Dyna adds scene and hair motion, the draft "
                      "renderer breathing, a sway and a head tilt (how much: Live motion in the Render panel). No driving "
                      "video is needed.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow(note)
        form.addRow("Length", self.seconds)
        form.addRow("Frame rate", self.fps)
        form.addRow(buttons)

    def values(self) -> tuple[float, float]:
        """``(seconds, fps)`` as chosen."""
        return float(self.seconds.value()), float(self.fps.value())
