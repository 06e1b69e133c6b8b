"""Tiny StableAnimator releases: configs and a deterministic weight writer (torch + safetensors only).

Used twice: by ``run_official.py`` in the official venv (diffusers 0.31, transformers 4.35) to
write the weights the official pipeline runs on, and by the parity tests in the studio venv to
rebuild the very same files from the key/shape manifest committed with each golden case. Every
tensor is drawn from a CPU generator seeded by ``(seed, file, key)``, so the values do not depend
on the order of the keys or on which venv writes them; ``tensor_digest`` fingerprints them so a
test can prove it rebuilt what the official run saw.

The tree is the official one (README of Francis-Rings/StableAnimator)::

    DIR/stable-video-diffusion-img2vid-xt/{model_index.json, unet/, vae/, image_encoder/,
                                           scheduler/, feature_extractor/}
    DIR/Animation/{pose_net.pth, face_encoder.pth, unet.pth}
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import torch

SVD_DIR = "stable-video-diffusion-img2vid-xt"
ANIMATION_DIR = "Animation"

#: The scheduler config of stabilityai/stable-video-diffusion-img2vid-xt (scheduler/scheduler_config.json).
SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0",
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "v_prediction",
    "set_alpha_to_one": False, "sigma_max": 700.0, "sigma_min": 0.002, "skip_prk_steps": True,
    "steps_offset": 1, "timestep_spacing": "leading", "timestep_type": "continuous", "trained_betas": None,
    "use_karras_sigmas": True,
}

#: feature_extractor/preprocessor_config.json of SVD-xt (the CLIP normalisation the pipeline uses).
FEATURE_EXTRACTOR = {
    "crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True, "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_processor_type": "CLIPImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 224},
}

MODEL_INDEX = {
    "_class_name": "StableVideoDiffusionPipeline", "_diffusers_version": "0.24.0.dev0",
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "unet": ["diffusers", "UNetSpatioTemporalConditionModel"],
    "vae": ["diffusers", "AutoencoderKLTemporalDecoder"],
}


def tiny_configs(cross: int = 64) -> dict:
    """Configs of a tiny SVD-xt (32/64-channel UNet, 32-channel VAE, 2-layer CLIP) and face encoder.

    Channels stay multiples of 32 (the temporal blocks hard-code GroupNorm(32)); ``cross`` is the
    cross-attention width, the CLIP projection and the face encoder width (1024 in the release);
    it must be a multiple of 64 because the face perceiver uses ``cross // 64`` heads of 64.
    """
    unet = {
        "_class_name": "UNetSpatioTemporalConditionModel", "_diffusers_version": "0.24.0.dev0",
        "addition_time_embed_dim": 8, "block_out_channels": [32, 64], "cross_attention_dim": cross,
        "down_block_types": ["CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"],
        "in_channels": 8, "layers_per_block": 1, "num_attention_heads": [2, 4], "num_frames": 16,
        "out_channels": 4, "projection_class_embeddings_input_dim": 24, "sample_size": 8,
        "transformer_layers_per_block": 1,
        "up_block_types": ["UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"],
    }
    vae = {
        "_class_name": "AutoencoderKLTemporalDecoder", "_diffusers_version": "0.24.0.dev0",
        "block_out_channels": [32, 32, 32, 32], "down_block_types": ["DownEncoderBlock2D"] * 4,
        "force_upcast": True, "in_channels": 3, "latent_channels": 4, "layers_per_block": 1,
        "out_channels": 3, "sample_size": 64, "scaling_factor": 0.18215,
    }
    image_encoder = {
        "architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip_vision_model",
        "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
        "image_size": 224, "patch_size": 32, "projection_dim": cross, "hidden_act": "gelu",
        "layer_norm_eps": 1e-05, "num_channels": 3, "initializer_range": 0.02, "initializer_factor": 1.0,
        "attention_dropout": 0.0, "dropout": 0.0, "torch_dtype": "float32",
    }
    face_encoder = {"cross_attention_dim": cross, "id_embeddings_dim": 512, "clip_embeddings_dim": cross,
                    "num_tokens": 4}
    return {"unet": unet, "vae": vae, "image_encoder": image_encoder, "face_encoder": face_encoder,
            "scheduler": SCHEDULER, "feature_extractor": FEATURE_EXTRACTOR}


#: release file -> (folder relative to the release root, file name)
FILES = {
    "unet": f"{SVD_DIR}/unet/diffusion_pytorch_model.safetensors",
    "vae": f"{SVD_DIR}/vae/diffusion_pytorch_model.safetensors",
    "image_encoder": f"{SVD_DIR}/image_encoder/model.safetensors",
    "pose_net": f"{ANIMATION_DIR}/pose_net.pth",
    "face_encoder": f"{ANIMATION_DIR}/face_encoder.pth",
    "animation_unet": f"{ANIMATION_DIR}/unet.pth",
}


def random_tensor(seed: int, file: str, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor for ``key`` of ``file``, the same on every call and in every venv.

    Every parameter is redrawn (the official initialisation zeroes PoseNet's and the face encoder's
    output layers, which would hide them): weights scaled by 1/sqrt(fan-in) (sqrt(2/fan-in) in
    PoseNet), 1-D weights (norm scales) near 1, biases and scalar gates small; PoseNet's ``scale``
    near 1.
    """
    gen = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(f"{file}|{key}".encode())) % 2**63)
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    leaf = key.rsplit(".", 1)[-1]
    if len(shape) >= 2:
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        gain = 2.0**0.5 if file == "pose_net" else 1.0  # He gain: its 8 SiLU convs would shrink the features ~50x
        return x * (0.02 if "position_embedding" in key else gain * fan_in ** -0.5)
    if leaf in ("weight", "scale"):
        return 1.0 + 0.05 * x
    return 0.02 * x


def state_dict_from_manifest(seed: int, file: str, shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """The state dict of release file ``file`` for the ``{key: shape}`` manifest."""
    return {key: random_tensor(seed, file, key, tuple(shape)) for key, shape in shapes.items()}


def tensor_digest(sd: dict[str, torch.Tensor]) -> str:
    """sha256 over the sorted keys, shapes and float32 bytes of a state dict."""
    h = hashlib.sha256()
    for key in sorted(sd):
        t = sd[key].detach().to(torch.float32).contiguous()
        h.update(key.encode())
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def write_release(root: str | Path, manifest: dict, seed: int, configs: dict, skip: tuple[str, ...] = (),
                  dtype: torch.dtype = torch.float32, progress=None) -> dict[str, str]:
    """Write a release in the official layout; returns ``{file: tensor_digest}``.

    ``manifest`` maps each name of :data:`FILES` to ``{key: shape}``; names in ``skip`` are not
    written. The ``.pth`` files are torch zip pickles of plain state dicts (as published); the SVD
    folders hold safetensors. ``dtype`` float16 halves the files (digests are of the float32 draws).
    """
    from safetensors.torch import save_file

    root = Path(root)
    svd = root / SVD_DIR
    for sub, name, cfg in (("unet", "config.json", configs["unet"]), ("vae", "config.json", configs["vae"]),
                           ("image_encoder", "config.json", configs["image_encoder"]),
                           ("scheduler", "scheduler_config.json", configs["scheduler"]),
                           ("feature_extractor", "preprocessor_config.json", configs["feature_extractor"])):
        (svd / sub).mkdir(parents=True, exist_ok=True)
        (svd / sub / name).write_text(json.dumps(cfg, indent=2))
    (svd / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2))
    (root / ANIMATION_DIR).mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, rel in FILES.items():
        if name in skip:
            continue
        if progress is not None:
            progress(rel)
        sd = state_dict_from_manifest(seed, name, manifest[name])
        digests[name] = tensor_digest(sd)
        sd = {k: v.to(dtype) for k, v in sd.items()}
        path = root / rel
        if rel.endswith(".safetensors"):
            save_file({k: v.contiguous() for k, v in sd.items()}, str(path), metadata={"format": "pt"})
        else:
            torch.save(sd, path)
    return digests


#: Where the release keeps the torch ArcFace of the HJB path (insightface iresnet100, glint360k).
ARCFACE_FILE = f"{ANIMATION_DIR}/glintr100_torch.pth"


def arcface_tensor(seed: int, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A tensor of an iresnet state dict (official key layout), the same in every venv.

    Convolutions and the final linear layer 1/sqrt(fan-in) (He gain for the convolutions),
    BatchNorm scales near 1 and shifts near 0, running means near 0 and variances in [0.9, 1.4],
    PReLU slopes near 0.25 (torch's init), ``num_batches_tracked`` 0.
    """
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    gen = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(f"arcface|{key}".encode())) % 2**63)
    x = torch.randn(shape, generator=gen, dtype=torch.float32)
    leaf = key.rsplit(".", 1)[-1]
    if len(shape) >= 2:
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        return x * ((2.0 if len(shape) == 4 else 1.0) / fan_in) ** 0.5
    if "prelu" in key:
        return 0.25 + 0.05 * x
    if leaf == "running_var":
        return 0.9 + 0.5 * torch.rand(shape, generator=gen)
    if leaf == "running_mean":
        return 0.05 * x
    if leaf == "weight":
        return 1.0 + 0.05 * x
    return 0.05 * x


def arcface_state_dict(seed: int, shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """The iresnet state dict of the ``{key: shape}`` manifest (official key layout)."""
    return {key: arcface_tensor(seed, key, tuple(shape)) for key, shape in shapes.items()}
