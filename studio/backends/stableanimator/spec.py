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


#: HJB peak GiB at 16 frames 512x512 float16 by decode chunk (bench/vram_model.py --backend stableanimator --hjb).
HJB_VRAM_GIB = {1: 9.72, 4: 24.75}


def estimate(settings, n_frames: int) -> Estimate | None:
    """GPU memory from the meta-device model (bench/vram_model.py --backend stableanimator [--hjb])."""
    o = getattr(settings, "options", None)
    if getattr(o, "hjb", False):
        chunk = int(getattr(o, "decode_chunk_size", 4))
        per_frame = (HJB_VRAM_GIB[4] - HJB_VRAM_GIB[1]) / 3  # the decode graph of one chunk grows with its frames
        gib = HJB_VRAM_GIB.get(chunk, HJB_VRAM_GIB[1] + per_frame * (chunk - 1))
        return Estimate(vram_gib=round(gib, 2), note=f"HJB face optimisation, decode chunks of {chunk}: float16 at "
                        "512x512, 16 frames (bench/vram_model.py --backend stableanimator --hjb; measured at chunks of "
                        "1 and 4); the decode with gradients also grows with the clip length")
    return Estimate(vram_gib=7.00, note="float16, every model resident, 16-frame tiles at 512x512 "
                    "(bench/vram_model.py --backend stableanimator); grows with the output size, and only a little "
                    "with the clip length (7.24 GiB at 32 frames)")


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
