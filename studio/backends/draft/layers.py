"""Cut the person into one RGBA layer per body part (set up once per reference photo).

Two things keep the layers clean when the parts move apart:

- **Edge colours.** A soft mask edge mixes the person with the old background; moved onto a
  new background that shows as a pale fringe. Edge pixels take the colour of the person just
  inside the edge instead (normalised convolution).
- **The torso behind the limbs.** Where an arm covered the torso in the photo, or a sleeve
  overlapped the shoulder, the torso layer would have a hole once the arm moves. The torso
  layer therefore covers the whole shoulder-to-hip outline (widened at the shoulders), with the
  hidden part filled from the torso's own nearby colours.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.backends.draft.skeleton import L_HIP, L_SHOULDER, NECK, PARTS, R_HIP, R_SHOULDER


def _smooth_fill(rgb: np.ndarray, known: np.ndarray, sigma: float) -> np.ndarray:
    """Colours spread from the ``known`` pixels into the rest (normalised Gaussian blur)."""
    m = known.astype(np.float32)
    num = cv2.GaussianBlur(rgb.astype(np.float32) * m[..., None], (0, 0), sigma)
    den = cv2.GaussianBlur(m, (0, 0), sigma)[..., None]
    return num / np.maximum(den, 1e-4)


def clean_edges(rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tighten the soft mask a little and give its edge pixels interior colours; returns
    ``(rgb float32, alpha float32)``."""
    tight = np.clip((alpha - 0.15) / 0.8, 0.0, 1.0).astype(np.float32)
    inner = tight > 0.97
    if not inner.any():
        return rgb.astype(np.float32), tight
    spread = _smooth_fill(rgb, inner, 2.0)
    edge = (tight > 0) & ~inner
    out = rgb.astype(np.float32)
    out[edge] = spread[edge]
    return out, tight


def torso_outline(ref: np.ndarray, w: int, h: int, widen: float) -> np.ndarray:
    """``(H, W)`` bool: the shoulder-neck-hip polygon, the shoulders pushed out by ``widen``
    pixels and the hips by half that (where the body's outline usually is)."""
    def out(joint: int, other: int, amount: float) -> np.ndarray:
        d = ref[joint] - ref[other]
        n = float(np.hypot(*d))
        return ref[joint] + (d / n * amount if n > 1e-6 else 0.0)

    poly = np.array([
        out(R_SHOULDER, L_SHOULDER, widen), ref[NECK], out(L_SHOULDER, R_SHOULDER, widen),
        out(L_HIP, R_HIP, widen / 2), out(R_HIP, L_HIP, widen / 2),
    ])
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return mask.astype(bool)


def part_layers(rgb: np.ndarray, alpha: np.ndarray, labels: np.ndarray, ref: np.ndarray,
                widen: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per part name, ``(rgb float32, alpha float32)`` of its layer (parts with no pixels are
    left out). ``labels`` indexes :data:`PARTS` per pixel."""
    h, w = alpha.shape
    colour, alpha = clean_edges(rgb, alpha)
    person = alpha > 0.02
    overlap = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for k, part in enumerate(PARTS):
        region = (labels == k) & person
        if not region.any():
            continue
        # A 2-pixel overlap into neighbouring parts hides seams; front layers cover it.
        a = alpha * cv2.dilate(region.astype(np.uint8), overlap).astype(np.float32)
        c = colour
        if part == "torso":
            own = region & (alpha > 0.97)
            hidden = torso_outline(ref, w, h, widen) & person & ~region
            if own.any() and hidden.any():
                filled = _smooth_fill(colour, own, max(widen / 2, 2.0))
                c = colour.copy()
                c[hidden] = filled[hidden]
                outline = cv2.GaussianBlur(hidden.astype(np.float32), (0, 0), 1.0)
                a = np.maximum(a, np.minimum(outline, alpha))
        out[part] = (c, a)
    return out
