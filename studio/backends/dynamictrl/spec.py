"""The DynamiCtrl backend's manifest (registered as the ``dynamictrl`` entry point). Imports
without torch: the running backend (:class:`~.backend.DynamiCtrlBackend`) is imported only when
built."""

from __future__ import annotations

import sys
from pathlib import Path

from studio.backends.dynamictrl.options import DynamiCtrlOptions
from studio.core.backend import BackendSpec, Capabilities, WeightsSpec

#: The published release (a diffusers pipeline folder), as ``studio backends`` shows it.
RELEASE_TREE = (
    "model_index.json",
    "transformer/config.json",
    "transformer/diffusion_pytorch_model*.safetensors",
    "vae/config.json",
    "vae/diffusion_pytorch_model.safetensors",
    "text_encoder/config.json",
    "text_encoder/model*.safetensors",
    "tokenizer/spiece.model",
    "scheduler/scheduler_config.json",
)
REQUIRES = ("torch", "diffusers", "transformers", "safetensors", "sentencepiece")

CAPABILITIES = Capabilities(needs_weights=True, step_previews=True, independent_frames=False, schedules=(),
                            streaming=True, prompt=True, face_input=False, live_photo=True, split_render=False)


def install_hint(missing: list[str] | None = None) -> str:
    """How to get the DynamiCtrl dependencies (``missing``)."""
    names = ", ".join(missing or ["torch"])
    if getattr(sys, "frozen", False):
        return (f"The DynamiCtrl renderer is not included in this build of the studio (it has no {names}). "
                "Use the full build, or the draft renderer.")
    return (f"{names} not installed. Install the model extras (pip install 'xdyna-studio[xdyna]' and "
            "sentencepiece) or use the draft renderer.")


def check(folder: Path, options: DynamiCtrlOptions | None = None) -> list[str]:
    """Problems with a release folder (files only; keys and shapes are checked when loading)."""
    from studio.backends.dynamictrl.loading import check_release

    return check_release(folder)


SPEC = BackendSpec(
    name="dynamictrl",
    label="DynamiCtrl (CogVideoX DiT)",
    description="CogVideoX 1.5 image-to-video transformer with pose-adaptive LayerNorm, guided by a text prompt",
    capabilities=CAPABILITIES,
    options=DynamiCtrlOptions,
    factory="studio.backends.dynamictrl.backend:DynamiCtrlBackend",
    weights=WeightsSpec(
        env_var="STUDIO_DYNAMICTRL_WEIGHTS",
        layout=RELEASE_TREE,
        check=check,
        licence="The DynamiCtrl repository (gulucaptain/DynamiCtrl) has no LICENSE file: no licence is granted for "
        "its code or weights; CogVideoX 1.5 weights are under the CogVideoX licence and T5 under Apache-2.0. Check "
        "the terms before any use beyond research.",
        source="https://huggingface.co/gulucaptain/DynamiCtrl (the whole folder)",
    ),
    requires=REQUIRES,
    install_hint=install_hint,
    order=30,
)
