"""What one X-Dyna render is asked to do, and what it hands back.

* :class:`XDynaCall` -- every input and hook of a render in one frozen object, taken by both
  :meth:`~.pipeline.XDynaPipeline.prepare` and :meth:`~.pipeline.XDynaPipeline.__call__`;
  :meth:`XDynaCall.replace` makes a copy with some fields changed (the backend adds its hooks to
  the call it drew from a job that way).
* :class:`PreparedRender` -- the state the denoising loop starts from.
* :class:`XDynaOutput` -- the video, the final latents and the draws a render used.
* :func:`check_render` -- the size, plan and step checks made before any model runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.backends.xdyna.draws import Draws
from studio.backends.xdyna.preview import to_uint8
from studio.backends.xdyna.residuals import EvalCounts
from studio.core.errors import StudioError
from studio.core.windows import WindowPlan

if TYPE_CHECKING:
    import torch

    from studio.backends.xdyna.denoise import Denoiser, StepCallback
    from studio.backends.xdyna.preview import PreviewSink
    from studio.backends.xdyna.stream import WindowCallback
    from studio.backends.xdyna.trace import Trace
    from studio.core.cancel import CancelToken

Frames = np.ndarray | Sequence[np.ndarray]


@dataclass(frozen=True, eq=False)
class XDynaCall:
    """One render's inputs and hooks.

    Args:
        reference: the photo, (H0, W0, 3) uint8 RGB, any size (centre-cropped and resized).
        pose: pose ControlNet frames, (N, H, W, 3) uint8; their size is the render size
            unless ``height``/``width`` are given (then they are Lanczos-resized).
        face_local, face_global: S-Face frames (N, H, W, 3) uint8; used when ``use_face``
            (default: when both are given and the S-Face ControlNet is loaded).
        num_inference_steps, guidance_scale: DDIM steps and CFG scale.
        prompt, negative_prompt: text for the cond/uncond halves ("" in X-Dyna).
        seed: makes every random draw (ignored when ``draws`` is given).
        draws: recorded draws to replay a render exactly.
        plan: windows and fusion (default: official schedule, 16/4, flat).
        controlnet_conditioning_scale: scale of every ControlNet residual.
        reuse_controlnet: share ControlNet residuals (same result; False = official cost).
        cancel: checked once per denoising step.
        callback: ``callback(step_index, timestep, x0)`` after each step, x0 (1, 4, N, h, w).
        window_callback: ``stream`` schedule only: called with a :class:`~.stream.WindowDone`
            (final frames, their uint8 video, the window's latents) as each window finishes.
        finished_windows: ``stream`` schedule only: ``{window index: latents}`` saved from
            earlier ``WindowDone.latents``; those windows are skipped (resume).
        output_type: ``"np"`` decodes the video; ``"latent"`` skips the VAE decode.
        trace: collects intermediate tensors for parity checks.
        preview: receives latent-resolution RGB previews of the frames each step changed,
            at most as often as its throttle allows (:class:`~.preview.PreviewSink`).

    :meth:`~.pipeline.XDynaPipeline.prepare` reads everything up to ``preview`` except
    ``window_callback``, ``finished_windows`` and ``output_type``, which only the full render uses.
    """

    reference: np.ndarray
    pose: Frames
    face_local: Frames | None = None
    face_global: Frames | None = None
    height: int | None = None
    width: int | None = None
    num_inference_steps: int = 25
    guidance_scale: float = 7.5
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = 42
    draws: Draws | None = None
    plan: WindowPlan | None = None
    controlnet_conditioning_scale: float = 1.0
    use_face: bool | None = None
    reuse_controlnet: bool = True
    cancel: CancelToken | None = None
    callback: StepCallback | None = None
    window_callback: WindowCallback | None = None
    finished_windows: dict[int, np.ndarray] | None = None
    output_type: str = "np"
    trace: Trace | None = None
    preview: PreviewSink | None = None

    def replace(self, **changes: Any) -> XDynaCall:
        """A copy with ``changes`` applied (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


@dataclass(eq=False)
class XDynaOutput:
    """What a render produced."""

    video: np.ndarray  # (N, H, W, 3) float32 in [0, 1]
    latents: np.ndarray  # (1, 4, N, h, w) float32, before the VAE decode
    draws: Draws
    counts: EvalCounts = field(default_factory=EvalCounts)

    @property
    def frames(self) -> np.ndarray:
        """``(N, H, W, 3)`` uint8."""
        return to_uint8(self.video)


@dataclass(eq=False)
class PreparedRender:
    """The state a render's denoising loop starts from (see :meth:`~.pipeline.XDynaPipeline.prepare`)."""

    denoiser: Denoiser
    latents: torch.Tensor  # (1, 4, N + 1, h, w): frame 0 is the clean reference latent
    blurred: torch.Tensor  # the blur-mixed reference latents (stream schedule)
    plan: WindowPlan
    draws: Draws
    n_frames: int
    steps: int


def check_render(n_frames: int, height: int, width: int, steps: int, plan: WindowPlan, window_limit: int) -> None:
    """Raise :class:`StudioError` for a render size, plan or step count the models cannot run;
    ``window_limit`` is the motion modules' longest window."""
    if height % 8 or width % 8 or height < 40 or width < 40:
        raise StudioError(
            "Invalid render size", f"{width}x{height}: width and height must be multiples of 8, at least 40."
        )
    if plan.n_frames != n_frames:
        raise StudioError(
            "Window plan does not match the clip", f"The plan covers {plan.n_frames} frames, the clip has {n_frames}."
        )
    if min(plan.context, n_frames) > window_limit:
        raise StudioError(
            "Window too long", f"Windows of {plan.context} frames exceed the motion modules' {window_limit}-frame limit."
        )
    if steps < 1:
        raise StudioError("Invalid step count", f"{steps} denoising steps; use at least 1.")
