"""Deterministic inputs for a golden case: a reference photo stand-in and pose frames.

``reference.png`` is deliberately not the target size (the official pipeline resizes it straight
to the target with Lanczos, no crop) and not square. ``pose/NNN.png`` are DWPose-like frames at
the target size: coloured limbs and joints on black, moving a little from frame to frame.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

LIMBS = [((0.5, 0.2), (0.5, 0.45), (0, 0, 255)), ((0.5, 0.45), (0.38, 0.8), (255, 85, 0)),
         ((0.5, 0.45), (0.62, 0.8), (0, 255, 85)), ((0.5, 0.28), (0.3, 0.4), (255, 255, 0)),
         ((0.5, 0.28), (0.7, 0.4), (170, 0, 255))]


def reference(width: int, height: int, seed: int) -> Image.Image:
    """A smooth colour field with a bright figure-like blob and some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    img = np.stack([0.3 + 0.5 * xx, 0.2 + 0.6 * yy, 0.5 + 0.3 * np.sin(6 * xx * yy)], -1)
    blob = np.exp(-(((xx - 0.5) / 0.15) ** 2 + ((yy - 0.5) / 0.3) ** 2))
    img = img * (1 - blob[..., None]) + blob[..., None] * np.array([0.9, 0.6, 0.4])
    img = np.clip(img + 0.05 * rng.standard_normal(img.shape), 0, 1)
    return Image.fromarray((img * 255).round().astype(np.uint8))


def pose_frame(width: int, height: int, k: int) -> Image.Image:
    """Frame ``k``: the limbs sway with a phase that grows with k."""
    im = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(im)
    sway = 0.06 * math.sin(0.5 * k)
    for (x0, y0), (x1, y1), colour in LIMBS:
        a = (x0 * width, y0 * height)
        b = ((x1 + sway) * width, (y1 - abs(sway)) * height)
        d.line([a, b], fill=colour, width=max(1, width // 24))
        d.ellipse([b[0] - 1.5, b[1] - 1.5, b[0] + 1.5, b[1] + 1.5], fill=colour)
    return im


def write(folder: Path, frames: int, height: int, width: int, seed: int = 0) -> None:
    """Write ``reference.png`` and ``pose/000.png``.. under ``folder``."""
    (folder / "pose").mkdir(parents=True, exist_ok=True)
    reference(width + 16, height + 8, seed).save(folder / "reference.png")
    for k in range(frames):
        pose_frame(width, height, k).save(folder / "pose" / f"{k:03d}.png")
