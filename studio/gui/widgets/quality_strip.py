"""A thin strip under the timeline showing the pose quality of every frame (mirrors
:mod:`studio.extract.quality`): one row each for the person, the left hand, the right hand and the
face (dim green = found, amber = filled in from neighbouring frames, red = missing), and a row
marking low confidence (violet). Problem frames are what Alt+Left / Alt+Right jump between.

It shares the frame geometry of the :class:`~studio.gui.widgets.timeline.TimelineWidget` it sits
under (like the waveform strip), so more strips can be stacked the same way.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.extract.quality import FILLED, MISSING

ROWS = ("person", "left hand", "right hand", "face", "low confidence")
FILL_COLOR = QColor(225, 165, 50)
MISSING_COLOR = QColor(230, 70, 60)
LOW_COLOR = QColor(170, 110, 235)
ROW_BG = QColor(40, 42, 48)
FOUND_COLOR = QColor(52, 110, 66)
PLAYHEAD = QColor(255, 90, 70)


def _runs(mask) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of true values."""
    out, start = [], None
    for i, v in enumerate(mask):
        if v and start is None:
            start = i
        elif not v and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(mask)))
    return out


class PoseQualityStrip(QWidget):
    """The pose quality of every frame under ``timeline`` (a ``TimelineWidget``)."""

    ROW_H = 3
    GAP = 1

    def __init__(self, document, timeline, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.timeline = timeline
        self.setObjectName("PoseQualityStrip")
        self.setFixedHeight(self.strip_height())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(True)
        self.setToolTip("Pose quality per frame: person, left hand, right hand, face "
                        "(amber = filled in, red = missing), low confidence (violet). "
                        "Alt+Left / Alt+Right jump to the previous / next problem frame.")
        for sig in (document.driving_changed, document.project_replaced, document.pose_edited):
            sig.connect(lambda *_: self.update())
        document.timeline.current_changed.connect(lambda *_: self.update())
        document.timeline.frame_count_changed.connect(lambda *_: self.update())

    def strip_height(self) -> int:
        """Height in pixels: the rows plus a pixel of margin above and below."""
        return len(ROWS) * (self.ROW_H + self.GAP) + 2

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, self.strip_height())

    def row_masks(self) -> list[tuple[list, list]]:
        """Per row, the ``(filled, missing)`` boolean lists drawn (low confidence: ``([], low)``)."""
        q = self.doc.pose_quality()
        if q is None:
            return []
        rows = [q.person, q.hands[:, 0], q.hands[:, 1], q.face]
        out = [(list(r == FILLED), list(r == MISSING)) for r in rows]
        out.append(([], list(q.low_body | q.low_hands)))
        return out

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        q = self.doc.pose_quality()
        if q is not None and len(q):
            i = min(self.timeline.frame_at(e.position().x()), len(q) - 1)
            self.setToolTip(f"frame {i}: {q.describe(i)}")

    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self.doc.timeline.frame_count:
            self.doc.timeline.set_current(self.timeline.frame_at(e.position().x()))

    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), self.palette().window())
        n = self.doc.timeline.frame_count
        masks = self.row_masks()
        if n == 0 or not masks:
            return
        left = self.timeline.x_of(0) - 0.5 * self._frame_w(n)
        fw = self._frame_w(n)
        for k, (filled, missing) in enumerate(masks):
            y = 1 + k * (self.ROW_H + self.GAP)
            p.fillRect(QRectF(left, y, fw * n, self.ROW_H), FOUND_COLOR if filled else ROW_BG)
            color = LOW_COLOR if k == len(ROWS) - 1 else MISSING_COLOR
            for mask, c in ((filled, FILL_COLOR), (missing, color)):
                for a, b in _runs(mask[:n]):
                    p.fillRect(QRectF(left + a * fw, y, max((b - a) * fw, 1.5), self.ROW_H), c)
        xc = self.timeline.x_of(self.doc.timeline.current)
        p.setPen(QPen(PLAYHEAD, 2))
        p.drawLine(QPointF(xc, 0), QPointF(xc, self.height()))

    def _frame_w(self, n: int) -> float:
        return self.timeline.x_of(1) - self.timeline.x_of(0) if n else 1.0
