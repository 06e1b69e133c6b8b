"""The window's :class:`Document`: the Qt-free :class:`~studio.document.model.DocumentModel`
with its signals declared as Qt signals.

The model emits its signals by name; this subclass declares the same names as Qt signals, so
widgets connect to them as to any Qt signal (and are disconnected when they are destroyed) and
tests wait on them with ``qtbot.waitSignals``. The one thing Qt adds: frame-cache writes, which
happen on the render thread, reach :attr:`cache_changed` on the GUI thread (a queued hop).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from studio.core.frame_cache import FrameCache
from studio.document.model import CACHE_BUDGET, DocumentModel
from studio.document.rendering import backend_named
from studio.document.states import DrivingState, ReferenceState, describe_range_change

__all__ = ["CACHE_BUDGET", "Document", "DrivingState", "ReferenceState", "backend_named", "describe_range_change"]


class Document(DocumentModel, QObject):
    """The project being edited, observed by the window's widgets (signals as in
    :class:`~studio.document.model.DocumentModel`, here Qt signals; :attr:`cache_changed` is
    emitted on the GUI thread)."""

    project_replaced = Signal()
    reference_changed = Signal()
    driving_changed = Signal()
    pose_edited = Signal(int, int)
    settings_changed = Signal()
    keys_changed = Signal()
    cache_changed = Signal(int, int)
    inflight_changed = Signal()
    path_changed = Signal(object)
    weights_preference_changed = Signal(str, object)
    _cache_from_any_thread = Signal(object, int, int)

    def __init__(self, parent: QObject | None = None, cache_dir: Path | None = None) -> None:
        QObject.__init__(self, parent)
        self._cache_from_any_thread.connect(self._relay_cache, Qt.ConnectionType.QueuedConnection)
        DocumentModel.__init__(self, cache_dir=cache_dir)

    def _cache_written(self, cache: FrameCache, start: int, stop: int) -> None:
        """Any thread: hop to the GUI thread, where the model checks the cache is still current."""
        self._cache_from_any_thread.emit(cache, start, stop)

    def _relay_cache(self, cache: FrameCache, start: int, stop: int) -> None:
        DocumentModel._cache_written(self, cache, start, stop)
