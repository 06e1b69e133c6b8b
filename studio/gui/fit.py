"""Keeping the main window on the screen it opens on, down to a 1280x720 screen.

Three pieces, each small:

* :class:`PanelScroller` wraps a dock's panel in a scroll area whose minimum size is fixed when
  it is made, so a panel that grows (a long file name, a summary line) scrolls instead of
  widening or heightening the whole window past the screen;
* :func:`let_shrink` lets a one-line readout (the transport's time, the viewer's status) be cut
  instead of setting the window's minimum width;
* :func:`fit_rect` / :class:`ScreenFit` cap the window's size to the available geometry of its
  screen (the screen minus task bars) and move it inside, at start and whenever it is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QBoxLayout, QFrame, QLabel, QScrollArea, QSizePolicy, QStyle, QWidget

#: The smallest screen the window is laid out for (a 1280x720 laptop panel).
SMALLEST_SCREEN = QSize(1280, 720)

#: Height below which a panel scrolls rather than squeezing its rows.
SCROLL_MIN_HEIGHT = 90


class PanelScroller(QScrollArea):
    """A frameless scroll area around ``panel``.

    The panel fills the viewport and shrinks to its own minimum height for that width; below
    that it scrolls. (Qt's resizable scroll area keeps a panel with word-wrapped labels at its
    preferred height, so such panels scrolled long before their rows were squeezed.)

    ``min_width``: the narrowest the dock may become; default: the panel's minimum width when
    wrapped plus a vertical scroll bar, so the panel never scrolls sideways at its first size and
    later growth scrolls instead of pushing the window wider.
    """

    def __init__(self, panel: QWidget, min_width: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{panel.objectName() or 'panel'}Scroller")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(False)  # placed by _place
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setWidget(panel)
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)
        self._min_width = int(min_width) if min_width is not None else panel.minimumSizeHint().width() + bar
        panel.installEventFilter(self)
        self._placing = False

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._min_width, SCROLL_MIN_HEIGHT)

    def sizeHint(self) -> QSize:  # noqa: N802
        hint = self.widget().sizeHint() if self.widget() is not None else QSize()
        return QSize(max(self._min_width, hint.width()), max(SCROLL_MIN_HEIGHT, hint.height()))

    def panel_min_height(self, width: int) -> int:
        """The panel's smallest height at ``width`` (word-wrapped labels taken into account)."""
        panel = self.widget()
        lay = panel.layout()
        if lay is not None and lay.hasHeightForWidth():
            return lay.totalMinimumHeightForWidth(width)
        return panel.minimumSizeHint().height()

    def _place(self) -> None:
        panel = self.widget()
        if panel is None or self._placing:
            return
        self._placing = True
        try:
            vp = self.viewport().size()
            w = max(vp.width(), panel.minimumSizeHint().width())
            h = max(vp.height(), self.panel_min_height(w))
            if panel.size() != QSize(w, h):
                panel.resize(w, h)
        finally:
            self._placing = False

    def resizeEvent(self, e) -> None:  # noqa: N802
        super().resizeEvent(e)
        self._place()

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802
        handled = super().eventFilter(obj, e)
        if obj is self.widget() and e.type() == QEvent.Type.LayoutRequest:
            self._place()
        return handled


class _Elider(QObject):
    """Paints a label's text elided at the right when it is wider than the label."""

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802
        if e.type() != QEvent.Type.Paint or not isinstance(obj, QLabel):
            return False
        rect = obj.contentsRect()
        fm = obj.fontMetrics()
        if fm.horizontalAdvance(obj.text()) <= rect.width():
            return False  # fits: QLabel paints it as usual
        p = QPainter(obj)
        try:
            p.setPen(obj.palette().color(obj.foregroundRole()))
            p.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                       fm.elidedText(obj.text(), Qt.TextElideMode.ElideRight, rect.width()))
        finally:
            p.end()
        return True


def let_shrink(label: QLabel) -> QLabel:
    """Let a one-line ``label`` be narrower than its text (elided at the right, with "…"): its
    text no longer sets the window's width. In a box layout it takes the row's spare width
    (before a stretch would), its text right-aligned when it fits."""
    label.setMinimumWidth(0)
    label.setContentsMargins(8, 0, 0, 0)  # apart from the widget before it when cut
    label.setSizePolicy(QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    label.installEventFilter(_Elider(label))
    parent = label.parentWidget()
    layouts = ([parent.layout(), *parent.findChildren(QBoxLayout)]) if parent is not None else []
    for lay in layouts:
        if isinstance(lay, QBoxLayout) and lay.indexOf(label) >= 0:
            lay.setStretchFactor(label, 1000)
    return label


def fit_rect(rect: QRect, available: QRect, minimum: QSize | None = None) -> QRect:
    """``rect`` with its size capped to ``available`` (never below ``minimum``) and moved so it
    lies inside ``available`` (its top-left corner at least, when the minimum is larger)."""
    w = min(rect.width(), available.width())
    h = min(rect.height(), available.height())
    if minimum is not None:
        w, h = max(w, minimum.width()), max(h, minimum.height())
    x = min(max(rect.x(), available.left()), available.left() + max(0, available.width() - w))
    y = min(max(rect.y(), available.top()), available.top() + max(0, available.height() - h))
    return QRect(x, y, w, h)


def fit_to_screen(window: QWidget) -> QRect:
    """Resize and move ``window`` (a top-level widget) to fit its screen's available geometry
    (window frame included once it has one); returns the new frame-less geometry."""
    screen = window.screen()
    if screen is None:
        return window.geometry()
    avail = screen.availableGeometry()
    frame = window.frameGeometry()
    margins = QSize(frame.width() - window.width(), frame.height() - window.height())
    inner = QRect(avail.x(), avail.y(), avail.width() - margins.width(), avail.height() - margins.height())
    geo = fit_rect(window.geometry(), inner, window.minimumSizeHint())
    if geo != window.geometry():
        window.setGeometry(geo)
    return geo


class ScreenFit(QObject):
    """Event filter that fits a top-level window to its screen each time it is shown."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self._window and event.type() == QEvent.Type.Show:
            fit_to_screen(self._window)
        return False
