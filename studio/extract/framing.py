"""Framing presets: where the photo and the driving video sit on the output canvas.

Framing is five render settings (:class:`~studio.core.settings.RenderSettings`):
``photo_offset`` and ``photo_scale`` place the photo (on top of the official centre fit, see
:meth:`studio.extract.fit.CanvasFit.placed`), ``video_fit`` crops the driving frames and
``video_offset``/``video_scale`` move and scale them after the crop. The presets (which reset
the offsets):

* ``official``: the official X-Dyna placement (photo centre-cropped to fill the canvas, driving
  frames top-cropped as in its S-Face mode);
* ``center``: driving frames centre-cropped (for clips whose dancer is not near the top);
* ``fit``: nothing cropped: the whole photo and the whole driving frame are shown, with the
  photo's edges repeated and the video letterboxed.
"""

from __future__ import annotations

from typing import Any

from studio.core.errors import StudioError

PRESETS = ("official", "center", "fit")


def fit_scale(photo_size: tuple[int, int], canvas: tuple[int, int]) -> float:
    """The ``photo_scale`` at which the whole photo fits inside the canvas (1 when it has the
    canvas's aspect)."""
    (w, h), (cw, ch) = photo_size, canvas
    if min(w, h, cw, ch) <= 0:
        raise StudioError("Invalid size", f"Photo {w}x{h} and canvas {cw}x{ch} must be positive.")
    cover, contain = max(cw / w, ch / h), min(cw / w, ch / h)
    return contain / cover


def preset_changes(name: str, photo_size: tuple[int, int] | None, canvas: tuple[int, int]) -> dict[str, Any]:
    """The settings changes of preset ``name`` for a photo of ``photo_size`` on ``canvas``."""
    if name not in PRESETS:
        raise StudioError("Unknown framing preset", f"{name!r} is not one of {', '.join(PRESETS)}.")
    still = {"photo_offset": (0.0, 0.0), "video_offset": (0.0, 0.0), "video_scale": 1.0}
    if name == "official":
        return {**still, "photo_scale": 1.0, "video_fit": "top"}
    if name == "center":
        return {**still, "photo_scale": 1.0, "video_fit": "center"}
    scale = fit_scale(photo_size, canvas) if photo_size is not None else 1.0
    return {**still, "photo_scale": round(max(0.25, scale), 4), "video_fit": "fit"}


def parse_offset(text: str) -> tuple[float, float]:
    """``"0.1,-0.05"`` -> ``(0.1, -0.05)`` (fractions of the canvas, each -1..1)."""
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise StudioError("Invalid photo offset", f"{text!r} is not X,Y (fractions of the canvas, e.g. 0.1,-0.05).") \
            from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise StudioError("Invalid photo offset", f"{text!r}: X and Y must be between -1 and 1 (fractions of the canvas).")
    return x, y
