"""The timeline under the viewer (mirrors :mod:`studio.core.timeline`): a frame ruler, the
playhead, in/out markers, a cache bar and a strip marking frames with no person or edited.

More strips stack under it as their own widgets that share its frame geometry (:meth:`x_of`,
:meth:`frame_at`): the pose-quality strip (:mod:`studio.gui.widgets.quality_strip`) and the
waveform (:mod:`studio.gui.widgets.waveform`).

It only observes the document's :class:`~studio.core.timeline.Timeline` and cache, and calls
``Timeline.set_current`` while the user drags. Cache bar colours: final = green, preview-only
(per-step or draft) = hatched amber, stale (settings or pose changed since) = dim red, being
rendered now = moving blue stripes, nothing = dark.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.core.frame_cache import FrameState
from studio.core.tracks import FLAG_EDITED, FLAG_NO_PERSON, FLAG_PENDING

COLORS = {
    FrameState.EMPTY: QColor(48, 50, 56),
    FrameState.STALE: QColor(150, 60, 60),
    FrameState.PREVIEW: QColor(214, 160, 40),
    FrameState.FINAL: QColor(70, 180, 90),
}
RENDERING = QColor(70, 130, 230)
#: Frames whose pose is not extracted yet (range-first extraction fills them in the background).
PENDING_COLOR = QColor(110, 112, 124)
_FINAL, _PREVIEW = int(FrameState.FINAL), int(FrameState.PREVIEW)
_FILL = {int(k): v for k, v in COLORS.items()}
_HATCH = QBrush(COLORS[FrameState.PREVIEW].darker(130), Qt.BrushStyle.BDiagPattern)
_RENDERING_BRUSH = QBrush(RENDERING, Qt.BrushStyle.FDiagPattern)


def _runs(codes: np.ndarray) -> list[tuple[int, int, int]]:
    """``(start, stop, code)`` for each run of equal values."""
    if len(codes) == 0:
        return []
    edges = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], edges))
    stops = np.concatenate((edges, [len(codes)]))
    return [(int(a), int(b), int(codes[a])) for a, b in zip(starts, stops)]


STATE_NAMES = {FrameState.EMPTY: "not rendered", FrameState.STALE: "stale",
               FrameState.PREVIEW: "preview", FrameState.FINAL: "final"}


class TimelineWidget(QWidget):
    """Ruler + playhead + in/out + cache bar for a :class:`~studio.gui.document.Document`."""

    MARGIN = 10
    RULER_H = 22
    BAR_H = 10
    FLAG_H = 4

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.setObjectName("Timeline")
        self.setMinimumHeight(self.RULER_H + self.BAR_H + self.FLAG_H + 22)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._states: np.ndarray | None = None
        self._flags: np.ndarray | None = None
        self._phase = 0
        self._anim = QTimer(self)
        self._anim.setInterval(120)
        self._anim.timeout.connect(self._tick)
        tl = document.timeline
        tl.current_changed.connect(self._on_current)
        tl.range_changed.connect(lambda *_: self.update())
        tl.frame_count_changed.connect(lambda *_: self._invalidate())
        document.keys_changed.connect(self._invalidate)
        document.cache_changed.connect(lambda *_: self._invalidate())
        document.inflight_changed.connect(self._on_inflight)
        document.driving_changed.connect(self._invalidate)
        document.pose_edited.connect(lambda *_: self._invalidate())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, self.RULER_H + self.BAR_H + self.FLAG_H + 26)

    # -- model observation -------------------------------------------------------------------------
    def _invalidate(self) -> None:
        self._states = None
        self._flags = None
        self.update()

    def _on_current(self, i: int) -> None:
        self.update()

    def _on_inflight(self) -> None:
        if self.doc.inflight and not self._anim.isActive():
            self._anim.start()
        elif not self.doc.inflight:
            self._anim.stop()
        self._invalidate()

    def _tick(self) -> None:
        self._phase = (self._phase + 2) % 12
        self.update()

    def states(self) -> np.ndarray:
        """The per-frame cache states drawn on the bar (recomputed after any change)."""
        if self._states is None or len(self._states) != self.doc.timeline.frame_count:
            self._states = self.doc.frame_states()
        return self._states

    # -- geometry ------------------------------------------------------------------------------------
    def _track_rect(self) -> QRectF:
        m = self.MARGIN
        return QRectF(m, 0, max(1.0, self.width() - 2 * m), self.height())

    def frame_at(self, x: float) -> int:
        """The frame under widget x-coordinate ``x``."""
        n = self.doc.timeline.frame_count
        r = self._track_rect()
        return int(np.clip((x - r.left()) / r.width() * n, 0, max(0, n - 1)))

    def x_of(self, i: float) -> float:
        """Widget x-coordinate of the centre of frame ``i``."""
        n = max(1, self.doc.timeline.frame_count)
        r = self._track_rect()
        return r.left() + (i + 0.5) * r.width() / n

    # -- input -----------------------------------------------------------------------------------------
    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if e.button() == Qt.MouseButton.LeftButton:
            self.doc.timeline.set_current(self.frame_at(e.position().x()))

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        n = self.doc.timeline.frame_count
        if n:
            i = self.frame_at(e.position().x())
            st = self.states()
            state = STATE_NAMES[FrameState(int(st[i]))] if i < len(st) else ""
            if i in self.doc.inflight:
                state = "rendering"
            self.setToolTip(f"frame {i}: {state}")
        if e.buttons() & Qt.MouseButton.LeftButton:
            self.doc.timeline.set_current(self.frame_at(e.position().x()))

    def wheelEvent(self, e: QWheelEvent) -> None:  # noqa: N802
        d = e.angleDelta().y() or e.angleDelta().x()
        if d:
            self.doc.timeline.step(-1 if d > 0 else 1)

    # -- painting ----------------------------------------------------------------------------------------
    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), self.palette().window())
        tl = self.doc.timeline
        n = tl.frame_count
        r = self._track_rect()
        if n == 0:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Open a driving video to get a timeline")
            return
        fw = r.width() / n
        bar_y = self.RULER_H + 2
        flag_y = bar_y + self.BAR_H + 2
        # in/out range shading on the ruler
        x_in, x_out = r.left() + tl.in_point * fw, r.left() + (tl.out_point + 1) * fw
        p.fillRect(QRectF(r.left(), 0, r.width(), self.RULER_H), QColor(36, 38, 44))
        p.fillRect(QRectF(x_in, 0, x_out - x_in, self.RULER_H), QColor(62, 66, 78))
        self._paint_ruler(p, r, fw, n)
        self._paint_cache(p, r, fw, bar_y)
        self._paint_flags(p, r, fw, flag_y)
        # in/out markers
        pen = QPen(QColor(240, 200, 80), 2)
        p.setPen(pen)
        for x, sign in ((x_in, 1), (x_out, -1)):
            p.drawLine(QPointF(x, 0), QPointF(x, flag_y + self.FLAG_H))
            p.drawLine(QPointF(x, 1), QPointF(x + 5 * sign, 1))
        # playhead
        xc = self.x_of(tl.current)
        p.setPen(QPen(QColor(255, 90, 70), 2))
        p.drawLine(QPointF(xc, 0), QPointF(xc, self.height()))
        label = str(tl.current)
        f = QFont(self.font())
        f.setBold(True)
        p.setFont(f)
        tw = p.fontMetrics().horizontalAdvance(label) + 8
        lx = min(max(xc - tw / 2, 0), self.width() - tw)
        p.fillRect(QRectF(lx, self.height() - 16, tw, 16), QColor(255, 90, 70))
        p.setPen(QColor(255, 255, 255))
        p.drawText(QRectF(lx, self.height() - 16, tw, 16), Qt.AlignmentFlag.AlignCenter, label)

    def _paint_ruler(self, p: QPainter, r: QRectF, fw: float, n: int) -> None:
        fm = p.fontMetrics()
        min_px = fm.horizontalAdvance(str(n)) + 14
        step = 1
        for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
            step = s
            if s * fw >= min_px:
                break
        minor = max(1, step // 5) if step >= 5 else 1
        p.setPen(QColor(120, 124, 134))
        ticks = []
        for i in range(0, n, minor):
            x = r.left() + i * fw
            h = 8 if i % step == 0 else 4
            if minor * fw >= 3 or i % step == 0:
                ticks.append(QLineF(x, self.RULER_H - h, x, self.RULER_H))
        if ticks:
            p.drawLines(ticks)
        p.setPen(QColor(200, 202, 208))
        for i in range(0, n, step):
            x = r.left() + i * fw
            p.drawText(QPointF(x + 2, self.RULER_H - 9), str(i))

    def _paint_cache(self, p: QPainter, r: QRectF, fw: float, y: float) -> None:
        st = self.states()
        n = len(st)
        for i, j, code in _runs(st):  # one rectangle per run of equal states
            rect = QRectF(r.left() + i * fw, y, (j - i) * fw, self.BAR_H)
            p.fillRect(rect, _FILL[code])
            if code == _PREVIEW:
                p.fillRect(rect, _HATCH)
        if self.doc.inflight:
            mask = np.zeros(n, np.uint8)
            idx = np.fromiter((i for i in self.doc.inflight if 0 <= i < n), int)
            mask[idx] = 1
            mask[st == _FINAL] = 0
            p.save()
            p.setBrushOrigin(self._phase, 0)
            for i, j, code in _runs(mask):
                if code:
                    p.fillRect(QRectF(r.left() + i * fw, y, max((j - i) * fw, 1.0), self.BAR_H), _RENDERING_BRUSH)
            p.restore()

    def _paint_flags(self, p: QPainter, r: QRectF, fw: float, y: float) -> None:
        pose = self.doc.pose
        if pose is None:
            return
        if self._flags is None or len(self._flags) != len(pose):
            self._flags = np.asarray(pose.flags).copy()
        for bit, color in ((FLAG_NO_PERSON, QColor(230, 70, 60)), (FLAG_EDITED, QColor(120, 170, 255)),
                           (FLAG_PENDING, PENDING_COLOR)):
            idx = np.flatnonzero(self._flags & bit)
            for i in idx:
                if i < self.doc.timeline.frame_count:
                    p.fillRect(QRectF(r.left() + i * fw, y, max(fw, 1.5), self.FLAG_H), color)
