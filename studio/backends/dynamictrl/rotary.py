"""3D rotary tables for the DynamiCtrl transformer, as the official pipeline builds them.

CogVideoX 1.5-style checkpoints (``patch_size_t`` set) use the "slice" grid over the
transformer's ``sample_height/width`` (divided by the patch size) and the number of temporal
patches; 1.0-style ones use the "linspace" grid over the crop region of the grid resized into
the base size.
"""

from __future__ import annotations

import torch
from diffusers.models.embeddings import get_3d_rotary_pos_embed


def _crop_region(grid: tuple[int, int], base_w: int, base_h: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where a grid of ``grid`` (h, w) lands when resized to fit (base_h, base_w), centred."""
    h, w = grid
    if h / w > base_h / base_w:
        rh, rw = base_h, int(round(base_h / h * w))
    else:
        rw, rh = base_w, int(round(base_w / w * h))
    top, left = int(round((base_h - rh) / 2.0)), int(round((base_w - rw) / 2.0))
    return (top, left), (top + rh, left + rw)


def rotary_embedding(config, latent_h: int, latent_w: int, latent_frames: int,
                     device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin), each (tokens, head_dim), for a latent video of the given size."""
    p, p_t = config.patch_size, config.patch_size_t
    grid = (latent_h // p, latent_w // p)
    base_w, base_h = config.sample_width // p, config.sample_height // p
    if p_t is None:
        cos, sin = get_3d_rotary_pos_embed(
            embed_dim=config.attention_head_dim, crops_coords=_crop_region(grid, base_w, base_h),
            grid_size=grid, temporal_size=latent_frames)
    else:
        cos, sin = get_3d_rotary_pos_embed(
            embed_dim=config.attention_head_dim, crops_coords=None, grid_size=grid,
            temporal_size=(latent_frames + p_t - 1) // p_t, grid_type="slice", max_size=(base_h, base_w))
    return cos.to(device), sin.to(device)
