"""Cheap per-step previews of SVD latents (the SD VAE latent space) without the VAE."""

from __future__ import annotations

import numpy as np
import torch

from studio.backends.xdyna.preview import latents_to_rgb_preview, to_uint8

__all__ = ["preview_frames", "to_uint8"]


def preview_frames(latents: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """(1, F, 4, h, w) scaled latents -> (F, H, W, 3) uint8 previews at ``size`` = (H, W)."""
    return latents_to_rgb_preview(latents[0].permute(1, 0, 2, 3), size)
