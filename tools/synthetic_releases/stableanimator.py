"""Write a synthetic StableAnimator release: random weights in the official layout and formats.

``SVD/stable-video-diffusion-img2vid-xt``-style folder (written as ``stable-video-diffusion-img2vid-xt/``:
unet/vae/image_encoder/scheduler/feature_extractor configs, VAE and CLIP safetensors) and
``Animation/{pose_net,face_encoder,unet}.pth`` (torch zip pickles of plain state dicts) and
``Animation/glintr100_torch.pth`` (the HJB path's ArcFace iresnet, insightface's key layout). The key
sets are those of the studio's models, which load the official files strictly (see the golden
cases). The SVD folder's own UNet weights are not written (the loader never reads them:
``Animation/unet.pth`` holds the whole UNet).

* ``--scale small``: the golden cases' tiny configs (32/64-channel UNet, cross width 64): renders
  64x64 frames on a CPU in seconds; ArcFace with one block per layer, 16-128 channels.
* ``--scale full``: SVD-xt's real sizes (UNet 320-1280 channels, CLIP ViT-H/14, face encoder 1024,
  ArcFace iresnet100): about 9.9 GB in float32 (``--fp16``: half).

Both scales also write the antelopev2 face models the renderer reads
(``models/antelopev2/scrfd_10g_bnkps.onnx`` and ``glintr100.onnx``), as ONNX stand-ins in the real
graphs' signatures (``tools/synthetic_releases/antelopev2.py``; needs the ``onnx`` package of the
dev extra): the detector's constant outputs decode to one face box with 5 keypoints at a known
place (on the bundled real sample photo: the dancer's head), plus a duplicate NMS removes and a
smaller face the largest-face rule leaves out; the recogniser is a seeded linear map of the
aligned 112x112 crop to 512 values. ``--scale full`` writes them at the real files' sizes
(about 17 MB and 261 MB).

usage: make_synthetic_release.py DIR --backend stableanimator [--scale small|full] [--fp16] [--seed N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools" / "stableanimator_reference"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from sa_tiny_release import (ARCFACE_FILE, FEATURE_EXTRACTOR, SCHEDULER, arcface_state_dict,  # noqa: E402
                             tensor_digest, tiny_configs, write_release)

SPEC_FILE = "synthetic_release.json"


def full_configs() -> dict:
    """The configs of stabilityai/stable-video-diffusion-img2vid-xt and the StableAnimator modules."""
    unet = {
        "_class_name": "UNetSpatioTemporalConditionModel", "_diffusers_version": "0.24.0.dev0",
        "addition_time_embed_dim": 256, "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 1024,
        "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
        "in_channels": 8, "layers_per_block": 2, "num_attention_heads": [5, 10, 20, 20], "num_frames": 25,
        "out_channels": 4, "projection_class_embeddings_input_dim": 768, "sample_size": 96,
        "transformer_layers_per_block": 1,
        "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
    }
    vae = {
        "_class_name": "AutoencoderKLTemporalDecoder", "_diffusers_version": "0.24.0.dev0",
        "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
        "force_upcast": True, "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "out_channels": 3,
        "sample_size": 768, "scaling_factor": 0.18215,
    }
    image_encoder = {
        "architectures": ["CLIPVisionModelWithProjection"], "model_type": "clip_vision_model",
        "hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 16, "num_hidden_layers": 32,
        "image_size": 224, "patch_size": 14, "projection_dim": 1024, "hidden_act": "gelu", "layer_norm_eps": 1e-05,
        "num_channels": 3, "initializer_range": 0.02, "initializer_factor": 1.0, "attention_dropout": 0.0,
        "dropout": 0.0, "torch_dtype": "float32",
    }
    face_encoder = {"cross_attention_dim": 1024, "id_embeddings_dim": 512, "clip_embeddings_dim": 1024,
                    "num_tokens": 4}
    return {"unet": unet, "vae": vae, "image_encoder": image_encoder, "face_encoder": face_encoder,
            "scheduler": SCHEDULER, "feature_extractor": FEATURE_EXTRACTOR}


def manifest(configs: dict) -> dict:
    """``{release file: {key: shape}}`` of the studio's models at ``configs`` (built on ``meta``)."""
    from transformers import CLIPVisionConfig

    from studio.backends.stableanimator.components import empty_models

    clip = {k: v for k, v in configs["image_encoder"].items() if k not in ("architectures", "model_type")}
    models = empty_models(configs["unet"], configs["vae"], CLIPVisionConfig(**clip))
    shapes = {name: {k: list(v.shape) for k, v in m.state_dict().items()} for name, m in models.items()}
    shapes["animation_unet"] = shapes.pop("unet")
    shapes["unet"] = {k: v for k, v in shapes["animation_unet"].items() if ".processor." not in k}
    return shapes


#: The small release's ArcFace: insightface's iresnet key layout, one block per layer, narrow.
ARCFACE_SMALL = {"layers": (1, 1, 1, 1), "widths": (16, 32, 64, 128)}


def arcface_manifest(scale: str) -> dict[str, list[int]]:
    """``{key: shape}`` of the ArcFace of a ``scale`` release (``full``: iresnet100, as glintr100_torch.pth)."""
    from studio.backends.stableanimator.iresnet import IResNet
    from studio.backends.xdyna.loading import empty_parameters

    with empty_parameters():
        model = IResNet(**(ARCFACE_SMALL if scale == "small" else {}))
    return {k: list(v.shape) for k, v in model.state_dict().items()}


def write(folder: str | Path, scale: str = "small", fp16: bool = False, seed: int = 0, progress=None) -> dict:
    """Write the release into ``folder``; returns (and writes) its description."""
    folder = Path(folder)
    configs = tiny_configs() if scale == "small" else full_configs()
    dtype = torch.float16 if fp16 else torch.float32
    digests = write_release(folder, manifest(configs), seed, configs, skip=("unet",), dtype=dtype, progress=progress)
    if progress is not None:
        progress(ARCFACE_FILE)
    sd = arcface_state_dict(seed, arcface_manifest(scale))
    digests["arcface"] = tensor_digest(sd)
    torch.save({k: v.to(dtype) if v.is_floating_point() else v for k, v in sd.items()}, folder / ARCFACE_FILE)
    from antelopev2 import write as write_face_models

    for path in write_face_models(folder, full=scale == "full", seed=seed):
        if progress is not None:
            progress(str(path.relative_to(folder)))
    sizes = {str(p.relative_to(folder)): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    info = {"backend": "stableanimator", "scale": scale, "fp16": fp16, "seed": seed, "digests": digests, "sizes": sizes}
    (folder / SPEC_FILE).write_text(json.dumps(info, indent=1))
    return info


def main(argv: list[str] | None = None) -> int:
    """Command line: write a synthetic StableAnimator release into DIR."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, metavar="DIR")
    ap.add_argument("--scale", choices=("full", "small"), default="full")
    ap.add_argument("--fp16", action="store_true", help="store float16 tensors")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if importlib.util.find_spec("onnx") is None:
        print("the face-model stand-ins (models/antelopev2/*.onnx) are written with the onnx package: "
              "pip install 'onnx>=1.16,<1.18' (in the studio's dev extra: bash tools/install.sh --dev)", file=sys.stderr)
        return 2
    if (args.folder / "Animation").exists():
        print(f"{args.folder / 'Animation'} exists; choose a new folder", file=sys.stderr)
        return 2
    info = write(args.folder, args.scale, args.fp16, args.seed,
                 progress=lambda rel: print(f"writing {rel}", file=sys.stderr, flush=True))
    total = sum(info["sizes"].values())
    print(f"wrote {args.folder} (StableAnimator, {args.scale}, {'float16' if args.fp16 else 'float32'}): "
          f"{len(info['sizes'])} files, {total / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
