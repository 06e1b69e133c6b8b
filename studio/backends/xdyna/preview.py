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


def latents_to_rgb(latents: Any) -> Any:
    """``(1, 4, N, h, w)`` torch latents -> ``(N, h, w, 3)`` uint8 torch tensor on the same device.

    The same projection as :func:`latents_to_rgb_preview`, computed where the latents are, so only
    the small uint8 result crosses to the host.
    """
    import torch

    factors = torch.as_tensor(SD15_LATENT_RGB_FACTORS, device=latents.device)
    rgb = torch.einsum("cnhw,cr->nhwr", latents[0].float(), factors)
    return ((rgb + 1.0) * 127.5).clamp_(0, 255).to(torch.uint8)


class PreviewThrottle:
    """Decides when a step preview is due so previews take at most ``max_share`` of the time.

    After each preview its cost ``c`` is known; the next one is due once at least ``c / max_share``
    seconds of denoising have passed, i.e. every N steps with N chosen from the measured step and
    preview times (every step when previews are cheap enough). ``min_steps`` is a floor on N.
    :attr:`share` is the measured preview share of the time so far.
    """

    def __init__(self, max_share: float = 0.05, min_steps: int = 1, clock: Any = None) -> None:
        if not 0 < max_share < 1:
            raise StudioError("Invalid preview budget", f"max_share={max_share}; use a fraction between 0 and 1.")
        import time

        self.max_share = float(max_share)
        self.min_steps = max(1, int(min_steps))
        self.clock = clock or time.perf_counter
        self.start = self.clock()
        self.last_end = self.start
        self.last_cost = 0.0
        self.steps_since = 0
        self.preview_seconds = 0.0
        self.previews = 0
        self.steps = 0

    def due(self) -> bool:
        """Called once per step: whether this step should make a preview."""
        self.steps += 1
        self.steps_since += 1
        if self.steps_since < self.min_steps:
            return False
        return (self.clock() - self.last_end) * self.max_share >= self.last_cost

    def record(self, started: float) -> None:
        """A preview that started at ``started`` (this clock) has just finished."""
        now = self.clock()
        self.last_cost = now - started
        self.preview_seconds += self.last_cost
        self.previews += 1
        self.last_end = now
        self.steps_since = 0

    @property
    def share(self) -> float:
        """Preview time over total time since the throttle was made."""
        total = self.clock() - self.start
        return self.preview_seconds / total if total > 0 else 0.0


class PreviewSink:
    """Turns a step's predicted clean latents into latent-resolution uint8 previews for ``deliver``.

    ``deliver(step_index, frames, rgb)`` receives the clip indices the step changed and their
    ``(len(frames), h, w, 3)`` uint8 previews (latent resolution: the viewer scales them). The
    projection runs on the device; the uint8 copy to the host is the only wait, and the
    :class:`PreviewThrottle` keeps it to at most ``max_share`` of the render time.
    """

    def __init__(self, deliver: Any, max_share: float = 0.05, throttle: PreviewThrottle | None = None) -> None:
        self.deliver = deliver
        self.throttle = throttle or PreviewThrottle(max_share)

    def due(self) -> bool:
        """Whether the throttle allows a preview after this step."""
        return self.throttle.due()

    def __call__(self, step_index: int, frames: Any, x0: Any) -> None:
        """Preview ``x0`` (1, 4, len(frames), h, w) of clip frames ``frames`` after ``step_index``."""
        started = self.throttle.clock()
        rgb = latents_to_rgb(x0).cpu().numpy()
        self.deliver(step_index, tuple(int(f) for f in frames), rgb)
        self.throttle.record(started)
