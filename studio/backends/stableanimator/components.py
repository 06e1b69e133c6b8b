"""Build StableAnimator's models from a release folder: diffusers/transformers classes + our modules.

Models are built with their parameters on the ``meta`` device and the checkpoint tensors are
assigned in (memory-mapped, ``weights_only`` for the ``.pth`` files), so nothing is initialised
twice. The face encoder's width is the UNet's cross-attention width and its CLIP width the image
encoder's projection (both 1024 in the release; the official script hard-codes 1024).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from studio.backends.stableanimator.attention import install_id_adapter
from studio.backends.stableanimator.face_encoder import FaceEncoder
from studio.backends.stableanimator.layout import ARCFACE_FILE, missing_files, release_files
from studio.backends.stableanimator.pose_net import PoseNet
from studio.backends.xdyna.loading import check_state_dict, empty_parameters, read_state_dict
from studio.core.errors import StudioError


@dataclass
class Components:
    """Every model StableAnimator runs, plus the scheduler config."""

    unet: nn.Module
    vae: nn.Module
    image_encoder: nn.Module
    pose_net: nn.Module
    face_encoder: nn.Module
    scheduler_config: dict
    #: ArcFace iresnet100 of the HJB face optimisation (None when ``glintr100_torch.pth`` is absent)
    arcface: nn.Module | None = None

    def make_scheduler(self):
        """A fresh Euler scheduler (Karras sigmas, v-prediction, as SVD-xt's config says)."""
        from diffusers import EulerDiscreteScheduler

        return EulerDiscreteScheduler.from_config(self.scheduler_config)


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise StudioError("Cannot read a config file", f"{path} is missing or not valid JSON. Download the "
                          "StableAnimator / SVD-xt release again.", str(err)) from err


def _load(model: nn.Module, path: Path, prefixes: tuple[str, ...] = ()) -> nn.Module:
    sd = read_state_dict(path)
    try:
        sd = check_state_dict(model, sd, path, prefixes)
    except StudioError as err:
        raise StudioError(err.title, err.description.replace("X-Dyna release", "StableAnimator release"),
                          err.details) from err
    model.load_state_dict(sd, strict=True, assign=True)
    return model.requires_grad_(False).eval()


def empty_models(unet_config: dict, vae_config: dict, clip_config) -> dict[str, nn.Module]:
    """Every model with its parameters on the ``meta`` device, keyed by release file name.

    ``clip_config`` is a transformers ``CLIPVisionConfig``; the face encoder's widths follow the
    UNet's cross-attention width and the CLIP projection.
    """
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionModelWithProjection

    with empty_parameters():
        unet = UNetSpatioTemporalConditionModel.from_config({k: v for k, v in unet_config.items() if k[0] != "_"})
        install_id_adapter(unet)
        return {
            "unet": unet,
            "vae": AutoencoderKLTemporalDecoder.from_config({k: v for k, v in vae_config.items() if k[0] != "_"}),
            "image_encoder": CLIPVisionModelWithProjection(clip_config),
            "pose_net": PoseNet(unet.config.block_out_channels[0]),
            "face_encoder": FaceEncoder(unet.config.cross_attention_dim, 512, clip_config.projection_dim),
        }


def read_clip_config(path: Path):
    """The image encoder's ``CLIPVisionConfig``, or a StudioError naming the file."""
    from transformers import CLIPVisionConfig

    try:
        return CLIPVisionConfig.from_json_file(str(path))
    except (OSError, ValueError, TypeError) as err:
        raise StudioError("Cannot read a config file", f"{path} is not a CLIP vision config. Download the SVD-xt "
                          "image_encoder folder again.", str(err)) from err


def load_components(folder: str | Path, arcface: bool | None = None) -> Components:
    """Every model of the release in ``folder`` on the CPU, in the checkpoints' dtype.

    ``arcface``: load ``Animation/glintr100_torch.pth`` for HJB (True: required, a StudioError naming it
    when absent; None: when present; False: never)."""
    root = Path(folder)
    missing = missing_files(root)
    if missing:
        raise StudioError("StableAnimator weights incomplete", f"{root} lacks {len(missing)} of the release's files: "
                          f"{', '.join(missing)}. Put the StableAnimator release (Animation/) and SVD-xt "
                          "(SVD/) in this folder as the official README lays them out.")
    p = {k: root / v for k, v in release_files(root).items()}
    models = empty_models(_json(p["unet_config"]), _json(p["vae_config"]), read_clip_config(p["image_encoder_config"]))
    return Components(
        unet=_load(models["unet"], p["unet"]), vae=_load(models["vae"], p["vae"]),
        image_encoder=_load(models["image_encoder"], p["image_encoder"], prefixes=("vision_model.",)),
        pose_net=_load(models["pose_net"], p["pose_net"]), face_encoder=_load(models["face_encoder"], p["face_encoder"]),
        scheduler_config=_json(p["scheduler_config"]),
        arcface=_arcface(root, arcface),
    )


def _arcface(root: Path, wanted: bool | None) -> nn.Module | None:
    from studio.backends.stableanimator.iresnet import load_arcface

    path = root / ARCFACE_FILE
    if wanted is False or (wanted is None and not path.is_file()):
        return None
    return load_arcface(path)
