"""An undo stack without Qt, with the API of ``QUndoStack`` and ``QUndoCommand``.

The document pushes every edit as a :class:`Command`; the window's Undo/Redo actions and the
tests drive the same :class:`UndoStack` (``push``, ``undo``, ``redo``, ``count``, ``text``,
``undoText``, ``isClean``, ``setClean``, ...), so the names follow Qt's. Semantics follow Qt's too:

* ``push`` runs the command's ``redo`` and drops the commands that were undone;
* a command whose ``id()`` is not -1 and equals the previous command's is offered to that
  command's ``mergeWith`` (not when the stack is at its clean state); a merged command that
  ``isObsolete()`` afterwards is removed, as is one that is obsolete after its own ``redo``;
* the clean state is an index; :attr:`UndoStack.cleanChanged` fires when ``isClean()`` changes,
  :attr:`UndoStack.indexChanged` whenever the index does (pushing, undoing, redoing, clearing).
"""

from __future__ import annotations

from psygnal import Signal


class Command:
    """One undoable edit: subclasses implement :meth:`redo` and :meth:`undo` (``QUndoCommand``'s API)."""

    def __init__(self, text: str = "") -> None:
        self._text = text
        self._obsolete = False

    def text(self) -> str:
        """The edit's menu text, e.g. ``Set steps to 30``."""
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - QUndoCommand's name
        """Change the menu text."""
        self._text = text

    def id(self) -> int:
        """Commands with equal ids other than -1 may merge (:meth:`mergeWith`)."""
        return -1

    def mergeWith(self, other: Command) -> bool:  # noqa: N802 - QUndoCommand's name
        """Fold ``other`` (already done) into this command; ``True`` when it was merged."""
        return False

    def isObsolete(self) -> bool:  # noqa: N802 - QUndoCommand's name
        """Whether the command does nothing any more (it leaves the stack)."""
        return self._obsolete

    def setObsolete(self, obsolete: bool) -> None:  # noqa: N802 - QUndoCommand's name
        """Mark the command as doing nothing."""
        self._obsolete = bool(obsolete)

    def redo(self) -> None:
        """Apply the edit."""

    def undo(self) -> None:
        """Revert the edit."""


class UndoStack:
    """The edits of one document, oldest first, and how many of them are applied (see the
    module docstring)."""

    #: ``isClean()`` changed (the new value).
    cleanChanged = Signal(bool)  # noqa: N815 - QUndoStack's name
    #: The index changed (the new index).
    indexChanged = Signal(int)  # noqa: N815 - QUndoStack's name

    def __init__(self) -> None:
        self._commands: list[Command] = []
        self._index = 0
        self._clean = 0  # -1: the clean state was dropped

    # -- reading -------------------------------------------------------------------------------
    def count(self) -> int:
        """How many commands are on the stack (applied or undone)."""
        return len(self._commands)

    def index(self) -> int:
        """How many commands are applied."""
        return self._index

    def text(self, i: int) -> str:
        """The menu text of command ``i`` (``""`` out of range)."""
        return self._commands[i].text() if 0 <= i < len(self._commands) else ""

    def undoText(self) -> str:  # noqa: N802 - QUndoStack's name
        """The text of the command :meth:`undo` would revert."""
        return self.text(self._index - 1)

    def redoText(self) -> str:  # noqa: N802 - QUndoStack's name
        """The text of the command :meth:`redo` would apply."""
        return self.text(self._index)

    def canUndo(self) -> bool:  # noqa: N802 - QUndoStack's name
        """Whether there is an edit to undo."""
        return self._index > 0

    def canRedo(self) -> bool:  # noqa: N802 - QUndoStack's name
        """Whether there is an undone edit to redo."""
        return self._index < len(self._commands)

    def isClean(self) -> bool:  # noqa: N802 - QUndoStack's name
        """Whether the document is as it was when last marked clean (saved)."""
        return self._clean == self._index

    # -- changing ------------------------------------------------------------------------------
    def push(self, command: Command) -> None:
        """Apply ``command`` and put it on the stack (or merge it into the previous one)."""
        was_clean = self.isClean()
        command.redo()
        del self._commands[self._index :]
        if self._clean > self._index:
            self._clean = -1  # the saved state was undone and is now unreachable
        last = self._commands[-1] if self._commands else None
        if (last is not None and last.id() != -1 and last.id() == command.id()
                and self._index != self._clean and last.mergeWith(command)):
            if last.isObsolete():
                self._commands.pop()
                self._set_index(self._index - 1, was_clean)
            else:
                self.indexChanged.emit(self._index)
            return
        if command.isObsolete():
            return
        self._commands.append(command)
        self._set_index(self._index + 1, was_clean)

    def undo(self) -> None:
        """Revert the newest applied edit."""
        if not self.canUndo():
            return
        was_clean = self.isClean()
        i = self._index - 1
        command = self._commands[i]
        if not command.isObsolete():
            command.undo()
        if command.isObsolete():
            del self._commands[i]
            if self._clean > i:
                self._clean = -1
        self._set_index(i, was_clean)

    def redo(self) -> None:
        """Apply the oldest undone edit again."""
        if not self.canRedo():
            return
        was_clean = self.isClean()
        i = self._index
        command = self._commands[i]
        if not command.isObsolete():
            command.redo()
        if command.isObsolete():
            del self._commands[i]
            if self._clean > i:
                self._clean = -1
                if was_clean:
                    self.cleanChanged.emit(False)
            return
        self._set_index(i + 1, was_clean)

    def setClean(self) -> None:  # noqa: N802 - QUndoStack's name
        """Mark the current state as clean (the document was saved)."""
        was_clean = self.isClean()
        self._clean = self._index
        if not was_clean:
            self.cleanChanged.emit(True)

    def clear(self) -> None:
        """Forget every edit; the empty stack is clean."""
        was_clean = self.isClean()
        self._commands.clear()
        self._clean = 0
        self._set_index(0, was_clean)

    def _set_index(self, index: int, was_clean: bool) -> None:
        self._index = index
        self.indexChanged.emit(index)
        if self.isClean() != was_clean:
            self.cleanChanged.emit(self.isClean())
