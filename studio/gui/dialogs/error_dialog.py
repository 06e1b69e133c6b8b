"""The one dialog every :class:`~studio.core.errors.StudioError` is shown in: a title, a
description a person can act on, and the technical details folded away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QStyle, QVBoxLayout, QHBoxLayout,
    QWidget,
)

from studio.core.errors import StudioError


class ErrorDialog(QDialog):
    """Shows ``err``; the details (if any) sit in a fold-out with a copy button."""

    def __init__(self, err: StudioError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(err.title)
        self.setObjectName("ErrorDialog")
        icon = QLabel()
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(40, 40))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"<b>{_escape(err.title)}</b>")
        title.setObjectName("title")
        desc = QLabel(err.description)
        desc.setObjectName("description")
        desc.setWordWrap(True)
        desc.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(desc)
        top = QHBoxLayout()
        top.addWidget(icon)
        top.addLayout(text, 1)

        self.details = QPlainTextEdit(err.details)
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        self.details.setMinimumHeight(140)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        self.toggle = QPushButton("Show details")
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._fold)
        copy = QPushButton("Copy")
        copy.setToolTip("Copy the error and its details to the clipboard")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(str(err)))
        buttons.addButton(self.toggle, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        self.toggle.setVisible(bool(err.details))  # after addButton, which shows it

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.details, 1)
        lay.addWidget(buttons)
        self.setMinimumWidth(440)

    def _fold(self, open_: bool) -> None:
        self.details.setVisible(open_)
        self.toggle.setText("Hide details" if open_ else "Show details")
        self.adjustSize()


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
