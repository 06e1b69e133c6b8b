"""The studio window: the only package that imports Qt.

Widgets observe the core models (:class:`~studio.core.timeline.Timeline`,
:class:`~studio.core.frame_cache.FrameCache`, the project held by
:class:`~studio.gui.document.Document`) and call their methods; they hold no logic of their own.
Long work (rendering, pose extraction, export, video decoding) runs on worker threads that send
numpy arrays back as Qt signals. Entry point: :func:`studio.gui.app.run_gui`.
"""
