"""The transport bar under the viewer: buttons for the window's transport actions plus a frame /
time readout."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class TransportBar(QWidget):
    """Buttons bound to ``actions`` (in order) and a readout of the timeline position."""

    def __init__(self, timeline, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline = timeline
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(2)
        self.buttons: list[QToolButton] = []
        for a in actions:
            b = QToolButton()
            b.setDefaultAction(a)
            b.setAutoRaise(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            lay.addWidget(b)
            self.buttons.append(b)
        lay.addStretch(1)
        self.readout = QLabel()
        self.readout.setObjectName("transportReadout")
        lay.addWidget(self.readout)
        for sig in (timeline.current_changed, timeline.range_changed, timeline.frame_count_changed):
            sig.connect(lambda *_: self.refresh())
        self.refresh()

    def refresh(self) -> None:
        """Update the readout."""
        tl = self.timeline
        if tl.frame_count == 0:
            self.readout.setText("")
            return
        t = tl.current / tl.fps
        self.readout.setText(
            f"frame {tl.current} / {tl.frame_count - 1}   {int(t // 60)}:{t % 60:05.2f}   "
            f"in {tl.in_point} · out {tl.out_point}   {tl.fps:g} fps"
        )
