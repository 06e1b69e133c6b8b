"""Cheap RGB previews of SD1.5 latents without the VAE (a fixed linear projection).

Each pixel's RGB is ``latent @ FACTORS`` (4 latent channels -> 3 colours, roughly in [-1, 1]),
the approximation community tools use for live sampler previews of SD1.5 (scaled latents, the
space the sampler works in). Good enough to watch a clip sharpen step by step; final frames
always go through the VAE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from studio.core.errors import StudioError

#: rows: latent channels 0..3; columns: R, G, B.
SD15_LATENT_RGB_FACTORS = np.array(
    [
        [0.3512, 0.2297, 0.3227],
        [0.3250, 0.4974, 0.2350],
        [-0.2829, 0.1762, 0.2721],
        [-0.2120, -0.2616, -0.7177],
    ],
    dtype=np.float32,
)


def latents_to_rgb_preview(latents: Any, size: tuple[int, int] | None = None) -> np.ndarray:
    """``(1, 4, N, h, w)`` or ``(4, N, h, w)`` latents (numpy or torch) -> ``(N, h, w, 3)`` uint8.

    ``size=(height, width)`` resizes the previews (nearest neighbour keeps it cheap).
    """
    if hasattr(latents, "detach"):
        latents = latents.detach().float().cpu().numpy()
    arr = np.asarray(latents, dtype=np.float32)
    if arr.ndim == 5:
        if arr.shape[0] != 1:
            raise StudioError("Invalid latents", f"Preview expects one clip, got a batch of {arr.shape[0]}.")
        arr = arr[0]
    if arr.ndim != 4 or arr.shape[0] != 4:
        raise StudioError("Invalid latents", f"Latents of shape {arr.shape}; expected (4, frames, h, w).")
    rgb = np.einsum("cnhw,cr->nhwr", arr, SD15_LATENT_RGB_FACTORS)
    frames = np.clip((rgb + 1.0) * 127.5, 0, 255).astype(np.uint8)
    if size is not None and tuple(size) != frames.shape[1:3]:
        import cv2

        frames = np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_NEAREST) for f in frames])
    return frames


def to_uint8(video: np.ndarray) -> np.ndarray:
    """[0, 1] float frames -> uint8 (rounded)."""
    return np.clip(np.rint(video * 255.0), 0, 255).astype(np.uint8)
