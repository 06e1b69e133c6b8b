"""The ``stream`` schedule: finish one window before starting the next, so frames arrive early.

Windows are the plan's static (no-wrap) windows, denoised one after another through every
step. While window k is denoised, each of its frames that an earlier window already finished
is *held*: before every UNet call its latent is replaced by that earlier result re-noised to
the current timestep with the frame's own initial noise, so the new window continues the motion
instead of inventing its own. When a window is done its latents are fused into the clip with
the plan's per-position weights (flat: average); every frame that no later window covers is
then final and is decoded and handed to ``window_callback``.

Resuming: ``window_callback`` receives each window's own final latents; pass the ones already
saved back as ``finished_windows={index: latents}`` and those windows are skipped. Because a
window depends only on the finished windows before it and on the render's draws, the result
is byte-identical to an uninterrupted render with the same draws.

``callback(step_index, t, x0)`` runs after every step of every window with a global step index
(``window * steps + step``) and an x0 canvas of all N frames: finished frames, the current
window's prediction, and the clean blurred-reference mix for frames not started yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from studio.backends.xdyna.denoise import Denoiser
from studio.backends.xdyna.draws import Draws
from studio.backends.xdyna.preview import to_uint8
from studio.core.errors import StudioError
from studio.core.windows import WindowPlan, window_weights


@dataclass(frozen=True, eq=False)
class WindowDone:
    """What ``window_callback`` receives when window ``index`` is finished.

    ``frames`` are the clip indices that became final with it and ``video`` their decoded
    ``(len(frames), H, W, 3)`` uint8 frames; ``window_frames``/``latents`` are the window's
    own frames and final latents ``(1, 4, F, h, w)`` (save them to resume).
    """

    index: int
    frames: tuple[int, ...]
    video: np.ndarray
    window_frames: tuple[int, ...]
    latents: np.ndarray


WindowCallback = Callable[[WindowDone], None]


def _given_latents(finished: dict[int, np.ndarray], k: int, frames: list[int], like: torch.Tensor) -> torch.Tensor:
    arr = np.asarray(finished[k], dtype=np.float32)
    shape = (1, like.shape[1], len(frames), like.shape[3], like.shape[4])
    if arr.shape != shape:
        raise StudioError(
            "Cannot resume the render",
            f"The saved latents of window {k} have shape {arr.shape}; this render needs {shape}. "
            "Render again from the start.",
        )
    return torch.from_numpy(arr).to(like.device)


def denoise_stream(
    den: Denoiser,
    latents: torch.Tensor,
    clean: torch.Tensor,
    plan: WindowPlan,
    draws: Draws,
    steps: int,
    decode: Callable[[torch.Tensor], np.ndarray] | None,
    window_callback: WindowCallback | None = None,
    finished_windows: dict[int, np.ndarray] | None = None,
) -> tuple[torch.Tensor, dict[int, np.ndarray]]:
    """Denoise window by window. ``latents`` (1, 4, N+1, h, w) are the initial latents (frame 0
    the reference), ``clean`` the un-noised mix of the same shape (used for previews).

    Returns the fused final latents (1, 4, N, h, w) and ``{frame: decoded float video frame}``
    (empty when ``decode`` is None: then nothing is decoded and ``window_callback`` is not used).
    """
    sched = den.schedule
    finished = finished_windows or {}
    ref = latents[:, :, 0]
    x_all = latents[:, :, 1:].float().clone()
    noise = draws.init_noise[:, :, 1:].to(x_all.device, torch.float32)
    canvas = clean[:, :, 1:].float().clone()
    acc = torch.zeros_like(x_all)
    wsum = np.zeros(plan.n_frames, np.float64)
    windows = plan.windows()
    timesteps = sched.timesteps(steps)
    video: dict[int, np.ndarray] = {}
    for k, frames in enumerate(windows):
        held = [j for j, f in enumerate(frames) if wsum[f] > 0]
        held_frames = [frames[j] for j in held]
        if k in finished:
            final = _given_latents(finished, k, frames, x_all)
        else:
            if held:
                scale = torch.as_tensor(wsum[held_frames], dtype=torch.float32, device=x_all.device)
                target = acc[:, :, held_frames] / scale.view(1, 1, -1, 1, 1)
            for i, t in enumerate(timesteps):
                den.check_cancel()
                if held:
                    x_all[:, :, held_frames] = sched.add_noise(target, noise[:, :, held_frames], t)
                res = den.residuals(x_all, t, [frames])
                pred = den.predict(ref, x_all[:, :, frames], t, res, frames)
                eps = den.guide(pred[:, :, 1:])
                x_new, x0 = sched.step(eps, t, x_all[:, :, frames], steps)
                x_all[:, :, frames] = x_new
                if den.callback is not None:
                    canvas[:, :, frames] = x0
                    den.callback(k * steps + i, t, canvas)
            final = x_all[:, :, frames].clone()
        weights = window_weights(len(frames), plan.weighting)
        w = torch.as_tensor(weights, dtype=torch.float32, device=x_all.device)
        acc[:, :, frames] += w.view(1, 1, -1, 1, 1) * final
        np.add.at(wsum, frames, weights)
        later = {f for w_ in windows[k + 1 :] for f in w_}
        done = [f for f in frames if f not in later]
        scale = torch.as_tensor(wsum[done], dtype=torch.float32, device=x_all.device).view(1, 1, -1, 1, 1)
        fused = acc[:, :, done] / scale
        x_all[:, :, done] = fused
        canvas[:, :, done] = fused
        if k in finished or decode is None:
            continue
        decoded = decode(fused)
        for j, f in enumerate(done):
            video[f] = decoded[j]
        if window_callback is not None:
            window_callback(WindowDone(k, tuple(done), to_uint8(decoded), tuple(frames), final.cpu().numpy()))
    return x_all, video
