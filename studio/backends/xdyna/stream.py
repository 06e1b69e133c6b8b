"""The ``stream`` schedule: finish one window before starting the next, so frames arrive early.

Windows are the plan's static (no-wrap) windows, denoised one after another through every
step. While window k is denoised, each of its frames that an earlier window already finished
is *held*: before every UNet call its latent is replaced by that earlier result re-noised to
the current timestep with the frame's own initial noise, so the new window continues the motion
instead of inventing its own. A finished frame is never changed again: when a window is done,
all of its frames that no earlier window finished are final at once, decoded and handed to
``window_callback``. So the first window delivers all of its frames (16 by default) after one
window's worth of work, and the frames of a chunk the artist already sees never change later.
(The fusion weighting of the plan does not apply here: held frames keep the earlier window's
result exactly, which is what makes every chunk final when it arrives.)

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
from studio.core.windows import WindowPlan


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

    Returns the final latents (1, 4, N, h, w) and ``{frame: decoded float video frame}``
    (empty when ``decode`` is None: then nothing is decoded and ``window_callback`` is not used).
    """
    sched = den.schedule
    finished = finished_windows or {}
    ref = latents[:, :, 0]
    x_all = latents[:, :, 1:].float().clone()
    noise = draws.init_noise[:, :, 1:].to(x_all.device, torch.float32)
    canvas = clean[:, :, 1:].float().clone()
    result = torch.zeros_like(x_all)  # the final latents of every finished frame
    is_final = np.zeros(plan.n_frames, bool)
    windows = plan.windows()
    timesteps = sched.timesteps(steps)
    held_of = [[f for f in frames if any(f in w for w in windows[:k])] for k, frames in enumerate(windows)]
    den.prepare(list(windows) + [h for h in held_of if h], timesteps, x_all.device)
    video: dict[int, np.ndarray] = {}
    for k, frames in enumerate(windows):
        held_frames = [f for f in frames if is_final[f]]
        idx = den.index(frames, x_all.device)
        held = den.index(held_frames, x_all.device) if held_frames else None
        changing = [j for j, f in enumerate(frames) if not is_final[f]]  # what previews show
        changing_idx = den.index(changing, x_all.device) if changing else None
        if k in finished:
            final = _given_latents(finished, k, frames, x_all)
        else:
            for i, t in enumerate(timesteps):
                den.check_cancel()
                if held is not None:
                    x_all.index_copy_(2, held, sched.add_noise(
                        result.index_select(2, held), noise.index_select(2, held), t))
                res = den.residuals(x_all, t, [frames])
                current = x_all.index_select(2, idx)
                pred = den.predict(ref, current, t, res, frames)
                eps = den.guide(pred[:, :, 1:])
                x_new, x0 = sched.step(eps, t, current, steps)
                x_all.index_copy_(2, idx, x_new)
                if den.callback is not None:
                    canvas.index_copy_(2, idx, x0)
                    if held is not None:
                        canvas.index_copy_(2, held, result.index_select(2, held))
                    den.callback(k * steps + i, t, canvas)
                if changing_idx is not None:
                    den.emit_preview(k * steps + i, [frames[j] for j in changing],
                                     x0.index_select(2, changing_idx))
            final = x_all.index_select(2, idx)
        new = [j for j, f in enumerate(frames) if not is_final[f]]
        done = [frames[j] for j in new]
        result[:, :, done] = final[:, :, new]
        is_final[done] = True
        x_all[:, :, frames] = result[:, :, frames]
        canvas[:, :, done] = result[:, :, done]
        if k in finished or decode is None or not done:
            continue
        decoded = decode(result[:, :, done])
        for j, f in enumerate(done):
            video[f] = decoded[j]
        if window_callback is not None:
            window_callback(WindowDone(k, tuple(done), to_uint8(decoded), tuple(frames), final.cpu().numpy()))
    return result, video
