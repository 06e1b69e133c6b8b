"""The open project as the editor sees it, without Qt (napari's ``components`` to the window's
``_qt``): :class:`~.model.DocumentModel` and its undo stack (:mod:`.undo`, :mod:`.commands`).
The window adapts the model to Qt signals in :mod:`studio.gui.document`."""
