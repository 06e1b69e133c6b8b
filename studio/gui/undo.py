"""The document's undo commands (they live in :mod:`studio.document.commands`, without Qt) and
the window's Undo/Redo actions on its :class:`~studio.document.undo.UndoStack`."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from studio.document.commands import (
    MERGE_SECONDS,
    SETTING_LABELS,
    MoveKeypointCommand,
    RangeCommand,
    SettingsCommand,
    StateCommand,
    describe_settings_change,
)
from studio.document.undo import UndoStack

__all__ = ["MERGE_SECONDS", "SETTING_LABELS", "MoveKeypointCommand", "RangeCommand", "SettingsCommand",
           "StateCommand", "describe_settings_change", "undo_actions"]


def undo_actions(stack: UndoStack, parent: QObject, undo_prefix: str = "&Undo",
                 redo_prefix: str = "&Redo") -> tuple[QAction, QAction]:
    """Undo and Redo actions on ``stack``, as ``QUndoStack.createUndoAction`` makes them: the
    text is the prefix and the command's text (``&Undo Set steps to 30``), disabled when there is
    nothing to undo or redo."""
    undo, redo = QAction(undo_prefix, parent), QAction(redo_prefix, parent)
    undo.triggered.connect(stack.undo)
    redo.triggered.connect(stack.redo)

    def update(*_: object) -> None:
        for action, prefix, text, enabled in ((undo, undo_prefix, stack.undoText(), stack.canUndo()),
                                              (redo, redo_prefix, stack.redoText(), stack.canRedo())):
            action.setText(f"{prefix} {text}" if text else prefix)
            action.setEnabled(enabled)

    stack.indexChanged.connect(update)
    undo.destroyed.connect(lambda *_: stack.indexChanged.disconnect(update))  # the window closed
    update()
    return undo, redo
