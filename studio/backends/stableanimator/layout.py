"""The official StableAnimator release layout (README of Francis-Rings/StableAnimator). Torch-free.

::

    WEIGHTS/SVD/                                  SVD-xt as published by Stability AI (also accepted:
        unet/ vae/ image_encoder/                 SVD/stable-video-diffusion-img2vid-xt/, as the
        scheduler/ feature_extractor/             official command line names it, or
                                                  stable-video-diffusion-img2vid-xt/)
    WEIGHTS/Animation/pose_net.pth                PoseNet
    WEIGHTS/Animation/face_encoder.pth            face encoder (FusionFaceId)
    WEIGHTS/Animation/unet.pth                    the whole trained UNet with the ID-adapter weights
    WEIGHTS/Animation/glintr100_torch.pth         torch ArcFace iresnet100 (only for the HJB option)
    WEIGHTS/models/antelopev2/                    insightface antelopev2 (the official README keeps
        scrfd_10g_bnkps.onnx                      models/ beside checkpoints/; here it is inside):
        glintr100.onnx                            the face detector and ArcFace, the two the renderer
                                                  reads (1k3d68, 2d106det, genderage are not needed)

The ``.pth`` files are torch zip pickles of plain state dicts. The SVD folder's own UNet weights
are not read: ``Animation/unet.pth`` holds the whole UNet.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: Where the SVD-xt folder may sit, in the order they are looked for.
SVD_DIRS = ("SVD/stable-video-diffusion-img2vid-xt", "SVD", "stable-video-diffusion-img2vid-xt")

#: name -> path inside the SVD folder.
SVD_FILES: dict[str, str] = {
    "unet_config": "unet/config.json",
    "vae_config": "vae/config.json",
    "vae": "vae/diffusion_pytorch_model.safetensors",
    "image_encoder_config": "image_encoder/config.json",
    "image_encoder": "image_encoder/model.safetensors",
    "scheduler_config": "scheduler/scheduler_config.json",
}

#: name -> path inside the weights folder.
ANIMATION_FILES: dict[str, str] = {
    "pose_net": "Animation/pose_net.pth",
    "face_encoder": "Animation/face_encoder.pth",
    "unet": "Animation/unet.pth",
}


#: The torch ArcFace (iresnet100) the HJB face optimisation needs; optional (HJB is off by default).
ARCFACE_FILE = "Animation/glintr100_torch.pth"


#: The insightface antelopev2 face models (detector and ArcFace) the official code reads.
FACE_FILES = ("models/antelopev2/scrfd_10g_bnkps.onnx", "models/antelopev2/glintr100.onnx")


def svd_dir(folder: str | Path) -> str:
    """The SVD-xt folder of a weights folder, relative to it (the first layout that has a UNet config)."""
    root = Path(folder)
    for rel in SVD_DIRS:
        if (root / rel / SVD_FILES["unet_config"]).is_file():
            return rel
    return SVD_DIRS[1]


def release_files(folder: str | Path) -> dict[str, str]:
    """name -> path relative to ``folder`` of every file the renderer reads."""
    svd = svd_dir(folder)
    return {**{k: f"{svd}/{v}" for k, v in SVD_FILES.items()}, **ANIMATION_FILES}


def missing_files(folder: str | Path) -> list[str]:
    """Relative paths of the release files absent from ``folder``."""
    root = Path(folder)
    return [rel for rel in release_files(root).values() if not (root / rel).is_file()]


def face_problems(folder: Path | str | None, runtime: bool = True) -> list[str]:
    """What the face embedding lacks: onnxruntime (when ``runtime``), or an antelopev2 file (each
    named with where it goes). Empty when the face path can run."""
    problems = []
    if runtime and importlib.util.find_spec("onnxruntime") is None:
        problems.append("onnxruntime is not installed (the face models run on it: pip install onnxruntime, "
                        "or install the studio's xdyna extra)")
    if folder is not None:
        problems += [f"{rel} is missing (insightface's antelopev2 face models, which the official setup keeps in "
                     f"StableAnimator/models/antelopev2/ beside checkpoints/; put it at {Path(folder) / rel})"
                     for rel in FACE_FILES if not (Path(folder) / rel).is_file()]
    return problems
