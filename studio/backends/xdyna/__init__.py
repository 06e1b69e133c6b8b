"""The X-Dyna renderer: SD1.5 UNet3D + motion modules + Dynamics-Adapter + pose/S-Face ControlNets.

Importing this package does not import torch; the public names below load lazily:

* :class:`XDynaPipeline` (``pipeline.py``) -- ``XDynaPipeline.from_release(folder)`` reads the
  official release layout (or a ``studio weights convert`` copy) and ``pipe(...)`` renders a clip.
* :func:`check_release` (``layout.py``) -- the problems with a weights folder, torch-free.
* :func:`run_case` (``golden.py``) -- replays one golden case through the normal pipeline.
* :class:`Draws` (``draws.py``) -- every random draw of a render, for exact replay.
* :func:`latents_to_rgb_preview` (``preview.py``) -- cheap per-step previews without the VAE.
* :class:`WindowDone` (``stream.py``) -- what the ``stream`` schedule reports per finished window.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from studio.backends.xdyna.draws import Draws
    from studio.backends.xdyna.golden import run_case
    from studio.backends.xdyna.layout import check_release
    from studio.backends.xdyna.pipeline import XDynaPipeline
    from studio.backends.xdyna.preview import latents_to_rgb_preview
    from studio.backends.xdyna.stream import WindowDone

_LAZY = {
    "XDynaPipeline": "studio.backends.xdyna.pipeline",
    "check_release": "studio.backends.xdyna.layout",
    "run_case": "studio.backends.xdyna.golden",
    "Draws": "studio.backends.xdyna.draws",
    "latents_to_rgb_preview": "studio.backends.xdyna.preview",
    "WindowDone": "studio.backends.xdyna.stream",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
