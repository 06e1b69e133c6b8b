"""Scaling an exported frame and laying frames side by side (driving, pose, result in any order)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from studio.core.errors import StudioError

#: What a side-by-side panel can show.
PANEL_NAMES = ("driving", "pose", "result")
#: Export scales the studio offers (the range is 25 % to 200 %).
MIN_SCALE, MAX_SCALE = 0.25, 2.0


def even(x: float) -> int:
    """``x`` rounded to an even number of at least 2 (4:2:0 video needs even sizes)."""
    return max(2, int(round(x / 2)) * 2)


def check_scale(scale: float) -> float:
    """``scale`` if it lies in 25 % .. 200 %, else a :class:`StudioError`."""
    if not MIN_SCALE - 1e-9 <= float(scale) <= MAX_SCALE + 1e-9:
        raise StudioError("Invalid export scale", f"Scale {scale:g} must be between 0.25 and 2 (25 % to 200 %).")
    return float(scale)


def parse_scale(text: str | float) -> float:
    """An export scale written ``0.5`` or ``50%`` (the one parser of ``studio render --scale`` and
    ``studio export --scale``), checked by :func:`check_scale`; else a :class:`StudioError`."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise StudioError("Invalid export scale", f"Scale {text!r} is not a number such as 0.5 or 50%.") from None
    return check_scale(value)


def parse_panels(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"pose,result"`` -> ``("pose", "result")``: known names, each at most once, in order."""
    names = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    bad = [n for n in names if n not in PANEL_NAMES]
    if bad or not names or len(set(names)) != len(names):
        raise StudioError(
            "Invalid side-by-side panels",
            f"{','.join(names) or '(nothing)'} must list some of {', '.join(PANEL_NAMES)}, each once, "
            "in the order to show them (e.g. driving,pose,result).",
        )
    return tuple(names)


def scale_frame(frame: np.ndarray, scale: float) -> np.ndarray:
    """``frame`` resized by ``scale`` with Lanczos filtering, to an even size."""
    h, w = frame.shape[:2]
    out_h, out_w = even(h * scale), even(w * scale)
    if (out_h, out_w) == (h, w):
        return frame
    return cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_LANCZOS4)


def fit_height(img: np.ndarray, height: int) -> np.ndarray:
    """``img`` resized to ``height`` keeping its aspect ratio (even width)."""
    if img.shape[0] == height:
        return img
    w = even(img.shape[1] * height / img.shape[0])
    return cv2.resize(img, (w, height), interpolation=cv2.INTER_LANCZOS4)


def side_by_side(parts: Sequence[np.ndarray], height: int) -> np.ndarray:
    """``parts`` fitted to ``height`` and placed left to right (even total width)."""
    if not parts:
        raise StudioError("Nothing to show side by side", "Choose at least one of driving, pose and result.")
    out = np.concatenate([fit_height(p, height) for p in parts], axis=1)
    if out.shape[1] % 2:
        out = out[:, :-1]
    return np.ascontiguousarray(out)


def compose(panels: dict[str, np.ndarray | None], order: Sequence[str]) -> np.ndarray:
    """The panels named in ``order`` (skipping absent ones) side by side at the height of the
    ``result`` panel (else the first present one); at equal heights nothing is resized."""
    parts = [panels[name] for name in order if panels.get(name) is not None]
    if not parts:
        raise StudioError(
            "Nothing to show side by side",
            f"None of {', '.join(order)} is available for this frame; include the result, or open "
            "the driving video.",
        )
    result = panels.get("result")
    height = result.shape[0] if result is not None and "result" in order else parts[0].shape[0]
    return side_by_side(parts, height)
