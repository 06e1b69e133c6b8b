"""``import_mediapipe()``: MediaPipe with its native start-up log lines kept off the terminal.

Every MediaPipe graph (the solutions Pose, Hands, FaceMesh, FaceDetection, SelfieSegmentation
and the studio's own hand landmark graph) is a ``mediapipe.python.solution_base.SolutionBase``;
its native code logs while the graph is built and while its calculators first see data. Once
imported through here, building a graph and running it happen inside
:func:`studio.core.native_logs.quiet_native_logs`, so those lines are dropped (``studio -v``
keeps them). Everything else on stderr still arrives.
"""

from __future__ import annotations

import functools
from typing import Any

from studio.core.native_logs import quiet_native_logs

_installed = False


def _quiet(method: Any) -> Any:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        with quiet_native_logs():
            return method(*args, **kwargs)

    call.__studio_quiet__ = True  # type: ignore[attr-defined]
    return call


def install_quiet_graphs() -> None:
    """Wrap ``SolutionBase.__init__``, ``process`` and ``reset`` once (raises ImportError without
    mediapipe)."""
    global _installed
    if _installed:
        return
    from mediapipe.python.solution_base import SolutionBase

    for name in ("__init__", "process", "reset"):
        method = getattr(SolutionBase, name)
        if not getattr(method, "__studio_quiet__", False):
            setattr(SolutionBase, name, _quiet(method))
    _installed = True


def import_mediapipe() -> Any:
    """The ``mediapipe`` module, its graphs quiet (raises ImportError when it is missing)."""
    with quiet_native_logs():  # TensorFlow Lite announces itself on import on some systems
        import mediapipe as mp

    install_quiet_graphs()
    return mp
