"""Accepting dropped files on a panel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QWidget


class DropTarget(QWidget):
    """A widget that calls ``on_drop(path)`` for a dropped local file whose suffix is in
    ``suffixes`` (lower case, with dot)."""

    def __init__(self, suffixes: tuple[str, ...], on_drop: Callable[[Path], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._suffixes = suffixes
        self._on_drop = on_drop
        self.setAcceptDrops(True)

    def _path(self, e: QDragEnterEvent | QDropEvent) -> Path | None:
        md = e.mimeData()
        if not md.hasUrls():
            return None
        for url in md.urls():
            if url.isLocalFile():
                p = Path(url.toLocalFile())
                if p.suffix.lower() in self._suffixes:
                    return p
        return None

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:  # noqa: N802
        if self._path(e) is not None:
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:  # noqa: N802
        p = self._path(e)
        if p is not None:
            e.acceptProposedAction()
            self._on_drop(p)
