"""Cheap step previews: predicted clean latents shown in false colour at latent resolution.

CogVideoX latents have 16 channels and no published RGB projection; the preview maps channels
0-2 of the predicted x0 to R, G, B, each stretched over its own range in the segment (no VAE, a
few microseconds). Latent frame 0 shows output frame 0; latent frame j > 0 covers output frames
4j-3 .. 4j (the VAE's temporal groups), so each output frame shows its group's latent.
"""

from __future__ import annotations

import numpy as np
import torch


def latent_frame_of(k: int) -> int:
    """The latent frame that covers output frame ``k`` of a pass."""
    return 0 if k == 0 else (k - 1) // 4 + 1


def preview_frames(x0: torch.Tensor, n_frames: int) -> np.ndarray:
    """``(n_frames, h, w, 3)`` uint8 false-colour previews of ``x0`` (1, F, 16, h, w)."""
    rgb = x0[0, :, :3].float()                                  # F x 3 x h x w
    lo = rgb.amin(dim=(0, 2, 3), keepdim=True)
    hi = rgb.amax(dim=(0, 2, 3), keepdim=True)
    img = ((rgb - lo) / (hi - lo).clamp_min(1e-6) * 255).round().clamp(0, 255).to(torch.uint8)
    img = img.permute(0, 2, 3, 1).cpu().numpy()                 # F x h x w x 3
    return np.stack([img[latent_frame_of(k)] for k in range(n_frames)])
