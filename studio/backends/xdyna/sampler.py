"""DDIM (eta 0) with X-Dyna's schedule, and the initial latents built from the reference.

Schedule (``configs/x_dyna.yaml``): 1000 training steps, ``linear`` betas 0.00085..0.012 (not SD's
``scaled_linear``), ``steps_offset`` 1, "leading" spacing, final alpha 1. With S steps the
timesteps are ``arange(S) * (1000 // S)`` reversed, plus 1 (25 steps: 961, 921, ..., 1).

    x0     = (x - sqrt(1 - abar_t) * eps) / sqrt(abar_t)
    x_prev = sqrt(abar_prev) * x0 + sqrt(1 - abar_prev) * eps,   prev = t - 1000 // S

Initial latents: the reference latent is repeated over N+1 frames, mixed per element with a
Gaussian-blurred copy (9x9, reflect padding) by the mask ``u >= 0.5``, noised to the first
timestep, and frame 0 is reset to the clean reference latent.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from studio.core.errors import StudioError

BLUR_KERNEL = 9


class DDIMSchedule:
    """Deterministic DDIM over the official linear beta schedule."""

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 0.00085,
        beta_end: float = 0.012,
        steps_offset: int = 1,
    ) -> None:
        self.num_train_timesteps = num_train_timesteps
        self.steps_offset = steps_offset
        betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
        self.alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)

    def timesteps(self, steps: int) -> list[int]:
        """The ``steps`` timesteps, noisiest first."""
        if not 1 <= steps <= self.num_train_timesteps:
            raise StudioError(
                "Invalid step count", f"{steps} denoising steps; use 1 to {self.num_train_timesteps}."
            )
        ratio = self.num_train_timesteps // steps
        return [i * ratio + self.steps_offset for i in reversed(range(steps))]

    def alpha_bar(self, t: int) -> float:
        """Cumulative alpha at ``t`` (1 before the first training step)."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    def predict_x0(self, x: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
        """The clean latents implied by noise prediction ``eps`` at ``t``."""
        a = self.alpha_bar(t)
        return (x - (1.0 - a) ** 0.5 * eps) / a**0.5

    def step(self, eps: torch.Tensor, t: int, x: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """One DDIM step from ``t``: ``(x_prev, x0)``."""
        x0 = self.predict_x0(x, eps, t)
        a_prev = self.alpha_bar(t - self.num_train_timesteps // steps)
        return a_prev**0.5 * x0 + (1.0 - a_prev) ** 0.5 * eps, x0

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: int) -> torch.Tensor:
        """``x0`` diffused to timestep ``t`` with ``noise``."""
        a = self.alpha_bar(t)
        return a**0.5 * x0 + (1.0 - a) ** 0.5 * noise


def gaussian_blur(x: torch.Tensor, sigma: float, kernel: int = BLUR_KERNEL) -> torch.Tensor:
    """Normalised ``kernel`` x ``kernel`` Gaussian blur of ``(B, C, h, w)`` with reflect padding."""
    h, w = x.shape[-2:]
    half = (kernel - 1) / 2
    if min(h, w) <= kernel // 2:
        raise StudioError(
            "Render size too small",
            f"Latents of {h}x{w} are too small for the {kernel}x{kernel} blur of the initial latents; "
            f"render at least {8 * (kernel // 2 + 1)} pixels high and wide.",
        )
    coords = torch.linspace(-half, half, kernel, dtype=torch.float32)
    k1 = torch.exp(-0.5 * (coords / sigma) ** 2)
    k1 = k1 / k1.sum()
    k2 = (k1[:, None] * k1[None, :]).to(x.device, x.dtype)
    c = x.shape[1]
    padded = F.pad(x, (kernel // 2,) * 4, mode="reflect")
    return F.conv2d(padded, k2.expand(c, 1, kernel, kernel), groups=c)


def initial_latents(
    ref_latent: torch.Tensor,
    n_frames: int,
    mask_uniform: torch.Tensor,
    sigma: float,
    noise: torch.Tensor,
    schedule: DDIMSchedule,
    t0: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(blurred_repeated, latents_init)``, both ``(1, 4, N+1, h, w)`` with frame 0 = reference.

    ``ref_latent`` is ``(1, 4, h, w)``; ``mask_uniform`` and ``noise`` are the recorded draws.
    """
    rep = ref_latent[:, :, None].expand(-1, -1, n_frames + 1, -1, -1)
    blurred_ref = gaussian_blur(ref_latent, sigma)[:, :, None]
    mask = (mask_uniform >= 0.5).to(ref_latent.dtype)
    mixed = rep * mask + blurred_ref * (1 - mask)
    mixed[:, :, 0] = ref_latent
    latents = schedule.add_noise(mixed, noise, t0)
    latents[:, :, 0] = ref_latent
    return mixed, latents
