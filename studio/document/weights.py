"""Which weights folder a render of the document uses, per backend: the project's own (an undoable
edit), else the folder the window remembers for that backend, else the backend's environment
variable, else its default folder (:func:`studio.core.weights_folder.resolve_weights_dir`).

:class:`DocumentWeights` is that part of :class:`~studio.document.model.DocumentModel`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.core.weights_folder import WeightsFolder, resolve_weights_dir
from studio.document.commands import StateCommand

if TYPE_CHECKING:
    from studio.core.project import Project
    from studio.document.undo import UndoStack


class DocumentWeights:
    """Weights folders of a document (see the module docstring). Expects the model's
    ``project``, ``undo_stack``, ``_keys`` and its ``settings_changed``, ``keys_changed`` and
    ``weights_preference_changed(str, object)`` signals; :attr:`weights_preferences` is set by
    the model."""

    project: Project
    undo_stack: UndoStack
    _keys: list[str] | None
    settings_changed: Any
    keys_changed: Any
    weights_preference_changed: Any
    #: The window's remembered weights folder per backend name.
    weights_preferences: dict[str, Path]

    def set_weights_dir(self, path: Path | None) -> None:
        """The project's weights folder for the chosen backend (changes its cache keys; undoable);
        a folder chosen here is also remembered as that backend's preference for projects that
        name none."""
        new = Path(path) if path else None
        if new == self.project.weights_dir:
            return
        if path:
            self.set_weights_preference(path)
        name = self.project.settings.backend
        text = f"Use the weights in {new.name or new}" if new is not None else "Clear the weights folder"
        self.undo_stack.push(StateCommand(text, lambda p: self._apply_weights_dir(p, name), self.project.weights_dir,
                                          new))

    def _apply_weights_dir(self, path: Path | None, backend: str | None = None) -> None:
        name = backend or self.project.settings.backend
        if path is None:
            self.project.weights_dirs.pop(name, None)
        else:
            self.project.weights_dirs[name] = Path(path)
        self._keys = None
        self.settings_changed.emit()
        self.keys_changed.emit()

    @property
    def weights_preference(self) -> Path | None:
        """The window's remembered weights folder for the chosen backend (see
        :mod:`studio.core.weights_folder`); :attr:`weights_preferences` holds every backend's."""
        return self.weights_preferences.get(self.project.settings.backend)

    @weights_preference.setter
    def weights_preference(self, path: Path | None) -> None:
        name = self.project.settings.backend
        if path is None:
            self.weights_preferences.pop(name, None)
        else:
            self.weights_preferences[name] = Path(path)

    def set_weights_preference(self, path: Path | None, backend: str | None = None) -> None:
        """Remember ``path`` as ``backend``'s (default: the chosen one's) weights folder of projects
        that name none; emits ``weights_preference_changed(name, path)``."""
        new = Path(path) if path else None
        name = backend or self.project.settings.backend
        if new == self.weights_preferences.get(name):
            return
        if new is None:
            self.weights_preferences.pop(name, None)
        else:
            self.weights_preferences[name] = new
        self._keys = None
        self.weights_preference_changed.emit(name, new)
        self.settings_changed.emit()
        self.keys_changed.emit()

    def weights_folder(self) -> WeightsFolder:
        """The chosen backend's weights folder a render would use: the project's, else the
        remembered one, else the backend's environment variable, else its default folder."""
        return resolve_weights_dir(None, self.project.weights_dir, self.weights_preference,
                                   backend=self.project.settings.backend)
