"""The StableAnimator backend's manifest (registered as the ``stableanimator`` entry point).

Imports without torch: the running backend (:class:`~.backend.StableAnimatorBackend`) is imported
only when built.
"""

from __future__ import annotations

from pathlib import Path

from studio.backends.stableanimator.layout import (ANIMATION_FILES, ARCFACE_FILE, FACE_FILES, SVD_DIRS, SVD_FILES,
                                                   face_problems, missing_files)
from studio.backends.stableanimator.options import StableAnimatorOptions
from studio.core.backend import BackendSpec, Capabilities, Estimate, WeightsSpec

REQUIRES = ("torch", "diffusers", "transformers", "safetensors", "onnxruntime")
LICENCE = ("StableAnimator code and weights: MIT (Francis-Rings/StableAnimator). SVD-xt: Stability AI Community "
           "licence (non-commercial and limited commercial use). insightface antelopev2 face models: "
           "non-commercial research use only.")


def install_hint(missing: list[str] | None = None) -> str:
    """How to get the diffusion stack StableAnimator needs."""
    names = ", ".join(missing or ["torch"])
    return (f"{names} not installed. Install the studio's xdyna extra (torch, diffusers, transformers, and "
            "onnxruntime for the face models: pip install -e '.[xdyna]') or use the draft renderer.")


def hjb_missing(folder: Path | str) -> str:
    """Why HJB cannot run from ``folder`` (its ArcFace file is absent)."""
    return (f"{ARCFACE_FILE} (torch ArcFace iresnet100: HJB face optimisation is unavailable without it; "
            f"put it in {folder} or switch HJB off)")


def check(folder: Path, options: StableAnimatorOptions | None = None) -> list[str]:
    """Problems with a weights folder (files only), each naming what is missing."""
    problems = [*missing_files(folder), *face_problems(folder, runtime=False)]
    if options is not None and getattr(options, "hjb", False) and not (Path(folder) / ARCFACE_FILE).is_file():
        problems.append(hjb_missing(folder))
    return problems


#: Peak GiB at 16 frames 512x512 float16 (bench/vram_model.py --backend stableanimator [--hjb]): without HJB,
#: every model resident / with model offload, and with HJB by decode chunk (measured at chunks of 1 and 4).
VRAM_GIB = 7.00
OFFLOAD_VRAM_GIB = 5.54
HJB_VRAM_GIB = {1: 9.72, 4: 24.75}
OFFLOAD_HJB_VRAM_GIB = {1: 5.54, 4: 20.51}
#: The HJB phase alone with model offload at chunks of 1 (below the UNet's 5.54 GiB; the growth per frame of
#: chunk is measured from it).
OFFLOAD_HJB_PHASE_GIB_1 = 5.48


def _hjb_gib(chunk: int, offload: bool) -> float:
    table = OFFLOAD_HJB_VRAM_GIB if offload else HJB_VRAM_GIB
    if chunk in table:
        return table[chunk]
    first = OFFLOAD_HJB_PHASE_GIB_1 if offload else table[1]
    per_frame = (table[4] - first) / 3  # the decode graph of one chunk grows with its frames
    return max(OFFLOAD_VRAM_GIB if offload else table[1], first + per_frame * (chunk - 1))


def estimate(settings, n_frames: int) -> Estimate | None:
    """GPU memory from the meta-device model (bench/vram_model.py --backend stableanimator [--hjb])."""
    o = getattr(settings, "options", None)
    offload = bool(getattr(o, "model_offload", False))
    models = "model offload" if offload else "every model resident"
    if getattr(o, "hjb", False):
        chunk = int(getattr(o, "decode_chunk_size", 4))
        return Estimate(vram_gib=round(_hjb_gib(chunk, offload), 2), note=f"HJB face optimisation, decode chunks of "
                        f"{chunk}, {models}: float16 at 512x512, 16 frames (bench/vram_model.py --backend "
                        "stableanimator --hjb; measured at chunks of 1 and 4); the decode with gradients also grows "
                        "with the clip length")
    if offload:
        return Estimate(vram_gib=OFFLOAD_VRAM_GIB, note="float16, model offload (each model on the GPU only for its "
                        "phase: the UNet's while denoising), 16-frame tiles at 512x512 (bench/vram_model.py --backend "
                        "stableanimator; 7.00 GiB with every model resident); grows with the output size, and only a "
                        "little with the clip length (5.78 GiB at 32 frames)")
    return Estimate(vram_gib=VRAM_GIB, note="float16, every model resident, 16-frame tiles at 512x512 "
                    "(bench/vram_model.py --backend stableanimator; 5.54 GiB with model offload); grows with the "
                    "output size, and only a little with the clip length (7.24 GiB at 32 frames)")


SPEC = BackendSpec(
    name="stableanimator",
    label="StableAnimator (identity-preserving diffusion)",
    description="SVD-xt + PoseNet + face encoder + ID adapter: keeps the photo's face through the clip",
    capabilities=Capabilities(needs_weights=True, step_previews=True, independent_frames=False, streaming=True,
                              face_input=False, live_photo=False, split_render=False),
    options=StableAnimatorOptions,
    factory="studio.backends.stableanimator.backend:StableAnimatorBackend",
    weights=WeightsSpec(
        env_var="STUDIO_STABLEANIMATOR_WEIGHTS",
        layout=(*ANIMATION_FILES.values(), *(f"{SVD_DIRS[1]}/{v}" for v in SVD_FILES.values()), *FACE_FILES),
        check=check,
        licence=LICENCE,
        source="https://huggingface.co/FrancisRing/StableAnimator (Animation/, SVD/, models/antelopev2/ as its README "
        "lays them out)",
    ),
    requires=REQUIRES,
    install_hint=install_hint,
    estimate=estimate,
    photo_note="studio.backends.stableanimator.face_models:detect_for_display",
    order=20,
)
