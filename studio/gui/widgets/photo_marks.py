"""Drawing a renderer's :class:`~studio.core.backend.PhotoNote` over the photo it was made from:
its boxes (solid gold), its points (gold dots) and its label at the first box. The note's
coordinates are photo pixels; the view maps normalised image coordinates to the widget."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen

from studio.core.backend import PhotoNote

MARK_COLOUR = QColor(255, 200, 60)
_BOX_PEN = QPen(MARK_COLOUR, 2.0)
_DOT_PEN = QPen(QColor(0, 0, 0, 180), 1.0)


def paint_note(p: QPainter, note: PhotoNote | None, size: tuple[int, int],
               to_widget: Callable[[float, float], QPointF]) -> None:
    """Draw ``note`` for a photo of ``size`` (width, height) pixels."""
    if note is None or not (note.boxes or note.points):
        return
    w, h = max(1, size[0]), max(1, size[1])
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.setPen(_BOX_PEN)
    for x0, y0, x1, y1 in note.boxes:
        p.drawRect(QRectF(to_widget(x0 / w, y0 / h), to_widget(x1 / w, y1 / h)))
    p.setPen(_DOT_PEN)
    p.setBrush(MARK_COLOUR)
    for x, y in note.points:
        p.drawEllipse(to_widget(x / w, y / h), 2.5, 2.5)
    if note.label and note.boxes:
        x0, y0 = note.boxes[0][:2]
        corner = to_widget(x0 / w, y0 / h)
        fm = p.fontMetrics()
        tag = QRectF(corner.x(), corner.y() - fm.height() - 4, fm.horizontalAdvance(note.label) + 8, fm.height() + 4)
        p.fillRect(tag, MARK_COLOUR)
        p.setPen(QColor(20, 20, 20))
        p.drawText(tag, Qt.AlignmentFlag.AlignCenter, note.label)
