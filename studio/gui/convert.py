"""numpy <-> Qt image conversion. ``QImage`` may be built on any thread; ``QPixmap`` only on the
GUI thread (:func:`to_pixmap` checks)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QThread
from PySide6.QtGui import QImage, QPixmap


def to_qimage(rgb: np.ndarray) -> QImage:
    """An ``(H, W, 3)`` uint8 RGB (or ``(H, W)`` grey) array as a QImage that owns its pixels."""
    a = np.ascontiguousarray(rgb)
    if a.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {a.dtype}")
    if a.ndim == 2:
        h, w = a.shape
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise ValueError(f"expected (H, W, 3) pixels, got {a.shape}")
    h, w, c = a.shape
    fmt = QImage.Format.Format_RGB888 if c == 3 else QImage.Format.Format_RGBA8888
    return QImage(a.data, w, h, a.strides[0], fmt).copy()


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    """A QPixmap of ``rgb``; GUI thread only."""
    app = QCoreApplication.instance()
    if app is not None and QThread.currentThread() is not app.thread():
        raise RuntimeError("QPixmap may only be made on the GUI thread")
    return QPixmap.fromImage(to_qimage(rgb))


def from_qimage(img: QImage) -> np.ndarray:
    """A QImage as an ``(H, W, 3)`` uint8 RGB array (copied)."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()
