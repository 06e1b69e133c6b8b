"""Renderers behind the :class:`~studio.core.backend.Backend` protocol.

:func:`get_backend` imports a backend only when it is asked for, so the draft renderer works
without torch and the X-Dyna backend's heavy imports happen only when it is chosen.
"""

from __future__ import annotations

import importlib
import sys

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


def xdyna_install_hint(missing: list[str] | None = None) -> str:
    """What to tell a person when the X-Dyna dependencies (``missing``) cannot be imported: in a
    packaged draft build they are left out on purpose; in a Python install they can be added."""
    names = ", ".join(missing or ["torch"])
    if getattr(sys, "frozen", False):
        return (
            f"The X-Dyna renderer is not included in this build of the studio (it has no {names}). "
            "Use the full build to render with X-Dyna, or use the draft renderer."
        )
    return (
        f"{names} not installed. Install the X-Dyna extras (pip install 'xdyna-studio[xdyna]') "
        "or use the draft renderer."
    )


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
        hint = f" {xdyna_install_hint()}" if name == "xdyna" else ""
        raise StudioError(
            f"The {name} renderer is not available",
            f"{module_name}.{class_name} could not be loaded in this installation.{hint}",
            repr(exc),
        ) from exc
    return cls()
