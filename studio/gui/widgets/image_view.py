"""A widget that shows one image scaled to fit (aspect kept), with a placeholder text when empty,
and maps between widget and normalised image coordinates (for overlays)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.gui.convert import to_pixmap


class ImageView(QWidget):
    """Shows a pixmap fitted into the widget; subclasses paint overlays in :meth:`paint_overlay`."""

    #: Scaled pixmaps kept for keyed images.
    KEEP = 64

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._scaled: QPixmap | None = None
        self._key: Hashable | None = None
        self._kept: OrderedDict[Hashable, tuple[QPixmap, QPixmap | None]] = OrderedDict()
        self._aspect = (16, 9)
        self.placeholder = placeholder
        self.caption = ""
        self.dim = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(320, 240)

    def set_image(self, rgb: np.ndarray | None, key: Hashable | None = None) -> None:
        """Show ``rgb`` ((H, W, 3) uint8) or nothing. With a ``key`` naming the pixels, the
        converted and scaled pixmap is kept, so showing the same frame again (playback loops,
        scrubbing back and forth) costs nothing. A key shown without pixels (``rgb`` was
        ``None``, e.g. the pose map was not ready) names nothing: the same key with pixels later
        shows them, instead of the pane staying blank."""
        if key is not None and key == self._key and self._pixmap is not None:
            return
        self._key = key
        hit = self._kept.get(key) if key is not None else None
        if hit is not None:
            self._kept.move_to_end(key)
            self._pixmap, self._scaled = hit
        else:
            self._pixmap = to_pixmap(rgb) if rgb is not None else None
            self._scaled = None
            self._keep()
        if rgb is not None:
            self._aspect = (rgb.shape[1], rgb.shape[0])
        self.update()

    def _keep(self) -> None:
        if self._key is not None and self._pixmap is not None:
            self._kept[self._key] = (self._pixmap, self._scaled)
            self._kept.move_to_end(self._key)
            while len(self._kept) > self.KEEP:
                self._kept.popitem(last=False)

    def forget(self) -> None:
        """Drop the kept pixmaps (their keys may mean other pixels now)."""
        self._kept.clear()
        self._key = None

    def set_aspect(self, width: int, height: int) -> None:
        """The aspect used when there is no image (overlay only)."""
        self._aspect = (max(1, int(width)), max(1, int(height)))
        self.update()

    def has_image(self) -> bool:
        """Whether an image is shown."""
        return self._pixmap is not None

    def image_rect(self) -> QRectF:
        """Where the image is drawn, in widget coordinates."""
        w, h = self._aspect
        avail = QRectF(self.rect()).adjusted(4, 4, -4, -4)
        s = min(avail.width() / w, avail.height() / h)
        dw, dh = w * s, h * s
        return QRectF(avail.center().x() - dw / 2, avail.center().y() - dh / 2, dw, dh)

    def to_widget(self, x: float, y: float) -> QPointF:
        """Normalised image coordinates -> widget coordinates."""
        r = self.image_rect()
        return QPointF(r.left() + x * r.width(), r.top() + y * r.height())

    def to_image(self, p: QPointF) -> tuple[float, float]:
        """Widget coordinates -> normalised image coordinates."""
        r = self.image_rect()
        return (p.x() - r.left()) / r.width(), (p.y() - r.top()) / r.height()

    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), QColor(24, 25, 28))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.image_rect()
        if self._pixmap is not None:
            size = r.size().toSize()
            if self._scaled is None or self._scaled.size() != size:
                # scale once per image and widget size, not on every repaint
                self._scaled = self._pixmap.scaled(size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                   Qt.TransformationMode.SmoothTransformation)
                self._keep()
            p.drawPixmap(r.topLeft(), self._scaled)
            if self.dim:
                p.fillRect(r, QColor(0, 0, 0, 110))
        elif self.placeholder and not self.has_overlay():
            p.setPen(QColor(150, 152, 160))
            p.drawText(self.rect().adjusted(12, 12, -12, -12),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        self.paint_overlay(p, r)
        if self.caption:
            fm = p.fontMetrics()
            tw = fm.horizontalAdvance(self.caption) + 12
            box = QRectF(r.left() + 6, r.top() + 6, tw, fm.height() + 6)
            p.fillRect(box, QColor(0, 0, 0, 150))
            p.setPen(QColor(235, 235, 235))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.caption)

    def has_overlay(self) -> bool:
        """Whether :meth:`paint_overlay` draws something (then the placeholder is hidden)."""
        return False

    def paint_overlay(self, p: QPainter, r: QRectF) -> None:
        """Draw on top of the image (``r`` is the image rectangle); nothing by default."""
