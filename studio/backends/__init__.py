"""Renderers behind the :class:`~studio.core.backend.Backend` protocol.

:func:`get_backend` imports a backend only when it is asked for, so the draft renderer works
without torch and the X-Dyna backend's heavy imports happen only when it is chosen.
"""

from __future__ import annotations

import importlib

from studio.core.backend import Backend
from studio.core.errors import StudioError

#: Backend name -> (module, class name).
BACKENDS: dict[str, tuple[str, str]] = {
    "draft": ("studio.backends.draft.backend", "DraftBackend"),
    "xdyna": ("studio.backends.xdyna.backend", "XDynaBackend"),
}


def backend_names() -> tuple[str, ...]:
    """The names :func:`get_backend` accepts."""
    return tuple(BACKENDS)


def get_backend(name: str) -> Backend:
    """A new instance of the backend called ``name`` (``"draft"`` or ``"xdyna"``).

    Raises :class:`StudioError` for an unknown name or a backend that cannot be imported here
    (for X-Dyna typically: torch/diffusers are not installed)."""
    if name not in BACKENDS:
        raise StudioError(
            "Unknown renderer",
            f"There is no renderer called {name!r}; choose one of: {', '.join(BACKENDS)}.",
        )
    module_name, class_name = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
    except (ImportError, AttributeError) as exc:
        hint = (
            " Install the X-Dyna extras (pip install 'xdyna-studio[xdyna]') or use the 'draft' renderer."
            if name == "xdyna"
            else ""
        )
        raise StudioError(
            f"The {name} renderer is not available",
            f"{module_name}.{class_name} could not be loaded in this installation.{hint}",
            repr(exc),
        ) from exc
    return cls()
