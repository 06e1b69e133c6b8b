"""Write a synthetic X-Dyna release: random weights in the exact official layout and formats.

The tree, file formats and key names are those of the official release (README of
bytedance/X-Dyna and Hugging Face ``Boese0601/X-Dyna``; see ``studio/backends/xdyna/layout.py``):
SD1.5 folders (``unet`` with ``config.json``, ``diffusion_pytorch_model.safetensors`` and
``animatediff_v15_v1_ipplus.pth``; ``vae``; ``text_encoder``; ``tokenizer``), IP-Adapter's
``models/image_encoder`` (CLIP ViT-H) and ``ip-adapter-plus_sd15.bin`` (``image_proj`` and
``ip_adapter`` sections), both ControlNet initialisation folders, and the three X-Dyna ``.ckpt``
files (torch zip pickles of plain state dicts). Every tensor is drawn from a generator seeded by
``(seed, file, key)``, so :func:`effective_state_dicts` rebuilds exactly what a correct loader
must end up with, in memory, without reading the files.

* ``--partial-unet``: the X-Dyna UNet checkpoint holds only what X-Dyna trains (motion modules,
  Dynamics-Adapter ``to_q_ff``/``to_out_ff``, IP-Adapter ``to_k_ip``/``to_v_ip``); every other
  UNet tensor must come from ``animatediff_v15_v1_ipplus.pth``.
* ``--fp16``: every floating tensor is stored as float16 (half the size).
* ``--scale small``: the same generator with 32-channel models (what the tests use).

The ``.pth`` and the SD1.5 UNet weights hold values different from the X-Dyna checkpoint's,
so a loader that takes a tensor from the wrong file gives different latents. A full-size fp32
release is about 23 GB (about 11.5 GB with ``--fp16``). Usage::

    python tools/make_synthetic_release.py /tmp/release [--partial-unet] [--fp16] [--scale small]

``--backend stableanimator`` writes a StableAnimator release instead
(``tools/synthetic_releases/stableanimator.py``), ``--backend dynamictrl`` a DynamiCtrl one
(``tools/synthetic_releases/dynamictrl.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.backends.xdyna import components as C  # noqa: E402
from studio.backends.xdyna.layout import RELEASE_FILES, TOKENIZER_DIR, UNET_BASES  # noqa: E402
from studio.backends.xdyna.loading import empty_parameters  # noqa: E402
from studio.backends.xdyna.resampler import OFFICIAL_KWARGS  # noqa: E402

SPEC_FILE = "synthetic_release.json"

#: Keys of the UNet3D that X-Dyna trains (held by a partial UNet checkpoint).
TRAINED = ("motion_modules.", "attn1.to_q_ff.", "attn1.to_out_ff.", "attn2.to_k_ip.", "attn2.to_v_ip.")


def _sd_unet(channels: list[int], heads: int, cross: int, layers: int) -> dict:
    return {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
        "attention_head_dim": heads, "block_out_channels": channels, "center_input_sample": False,
        "cross_attention_dim": cross,
        "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], "downsample_padding": 1,
        "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": layers,
        "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
        "sample_size": 64, "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3,
    }


def _controlnet(unet: dict, conditioning: int, embedding: list[int]) -> dict:
    keep = ("act_fn", "attention_head_dim", "block_out_channels", "cross_attention_dim", "down_block_types",
            "downsample_padding", "flip_sin_to_cos", "freq_shift", "in_channels", "layers_per_block",
            "mid_block_scale_factor", "norm_eps", "norm_num_groups")
    return {"_class_name": "ControlNetModel", "_diffusers_version": "0.16.0.dev0",
            **{k: unet[k] for k in keep}, "conditioning_channels": conditioning,
            "conditioning_embedding_out_channels": embedding, "controlnet_conditioning_channel_order": "rgb",
            "class_embed_type": None, "global_pool_conditions": False, "only_cross_attention": False,
            "resnet_time_scale_shift": "default", "upcast_attention": False, "use_linear_projection": False}


def _vae(channels: list[int], groups: int, layers: int) -> dict:
    return {"_class_name": "AutoencoderKL", "_diffusers_version": "0.6.0", "act_fn": "silu",
            "block_out_channels": channels, "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3,
            "latent_channels": 4, "layers_per_block": layers, "norm_num_groups": groups, "out_channels": 3,
            "sample_size": 512, "up_block_types": ["UpDecoderBlock2D"] * 4}


def _text(hidden: int, inter: int, heads: int, layers: int, vocab: int) -> dict:
    return {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
            "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": hidden, "initializer_factor": 1.0,
            "initializer_range": 0.02, "intermediate_size": inter, "layer_norm_eps": 1e-05,
            "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": heads,
            "num_hidden_layers": layers, "pad_token_id": 1, "projection_dim": hidden, "torch_dtype": "float32",
            "vocab_size": vocab}


def _vision(hidden: int, inter: int, heads: int, layers: int, projection: int) -> dict:
    return {"architectures": ["CLIPVisionModelWithProjection"], "attention_dropout": 0.0, "dropout": 0.0,
            "hidden_act": "gelu", "hidden_size": hidden, "image_size": 224, "initializer_factor": 1.0,
            "initializer_range": 0.02, "intermediate_size": inter, "layer_norm_eps": 1e-05,
            "model_type": "clip_vision_model", "num_attention_heads": heads, "num_channels": 3,
            "num_hidden_layers": layers, "patch_size": 14, "projection_dim": projection, "torch_dtype": "float32"}


def scale_spec(scale: str) -> dict:
    """Configs of every model: ``full`` (SD1.5, CLIP ViT-H, official Resampler) or ``small``."""
    if scale == "full":
        unet = _sd_unet([320, 640, 1280, 1280], 8, 768, 2)
        return {"unet": unet, "controlnet": _controlnet(unet, 3, [16, 32, 96, 256]),
                "controlnet_face": _controlnet(unet, 6, [16, 32, 96, 256]),
                "vae": _vae([128, 256, 512, 512], 32, 2), "text_encoder": _text(768, 3072, 12, 12, 49408),
                "image_encoder": _vision(1280, 5120, 16, 32, 1024),
                "resampler_kwargs": {**OFFICIAL_KWARGS, "embedding_dim": 1280},
                "motion_module_kwargs": dict(C.OFFICIAL_MOTION_MODULE_KWARGS)}
    if scale == "small":
        unet = _sd_unet([32, 32, 64, 64], 2, 32, 1)
        return {"unet": unet, "controlnet": _controlnet(unet, 3, [16, 16, 16, 16]),
                "controlnet_face": _controlnet(unet, 6, [16, 16, 16, 16]),
                "vae": _vae([16, 16, 16, 16], 8, 1), "text_encoder": _text(32, 64, 2, 2, 514),
                "image_encoder": _vision(40, 64, 2, 2, 16),
                "resampler_kwargs": {"dim": 32, "depth": 2, "dim_head": 8, "heads": 4, "num_queries": 16,
                                     "embedding_dim": 40, "output_dim": 32, "ff_mult": 4},
                "motion_module_kwargs": dict(C.OFFICIAL_MOTION_MODULE_KWARGS)}
    raise ValueError(f"unknown scale {scale!r} (full or small)")


def _empty(name: str, spec: dict, config_dir: Path) -> torch.nn.Module:
    """Model ``name`` with meta parameters and real buffers (the positional encodings)."""
    with empty_parameters():
        if name in ("controlnet", "controlnet_face"):
            return C.build_controlnet(spec[name], None, name)
        if name == "unet":
            return C.build_unet(spec["unet"], spec["motion_module_kwargs"], None, name)
        if name == "vae":
            return C.build_vae(spec["vae"], None, name)
        if name in ("text_encoder", "image_encoder"):
            path = config_dir / f"{name}.json"
            path.write_text(json.dumps(spec[name]))
            build = C.build_text_encoder if name == "text_encoder" else C.build_image_encoder
            return build(path, None, name)
        return C.build_resampler(spec["resampler_kwargs"], None, name)


def random_tensor(seed: int, file: str, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A float32 tensor for ``key`` of ``file``: the same on every call, independent of order.

    Weights are scaled by 1/sqrt(fan-in) so that activations keep their size through the full
    networks; norm weights are near 1, biases and embeddings small.
    """
    gen = torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(f"{file}|{key}".encode())) % 2**63)
    x = torch.randn(shape, generator=gen)
    leaf = key.rsplit(".", 1)[-1]
    if len(shape) >= 2:
        fan_in = 1
        for d in shape[1:]:
            fan_in *= d
        return x * (0.02 if "embedding" in key or leaf == "latents" else fan_in ** -0.5)
    if leaf == "weight":  # 1-D weights are norm scales
        return 1.0 + 0.05 * x
    return 0.02 * x


def _state_dict(model: torch.nn.Module, seed: int, file: str, keys=None) -> dict[str, torch.Tensor]:
    buffers = dict(model.named_buffers())
    out = {}
    for key, value in model.state_dict(keep_vars=True).items():
        if keys is not None and not keys(key):
            continue
        out[key] = buffers[key].detach().clone() if key in buffers else random_tensor(seed, file, key, tuple(value.shape))
    return out


def _cast(sd: dict[str, torch.Tensor], fp16: bool) -> dict[str, torch.Tensor]:
    return {k: v.to(torch.float16) if fp16 and v.is_floating_point() else v.contiguous() for k, v in sd.items()}


def _trained(key: str) -> bool:
    return any(t in key for t in TRAINED)


def _ff(key: str) -> bool:
    return "attn1.to_q_ff." in key or "attn1.to_out_ff." in key


def _ip_adapter_section(unet_sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """IP-Adapter's own ``ip_adapter`` section (``{n}.to_k_ip.weight``, odd n), which X-Dyna does not read."""
    keys = [k for k in unet_sd if k.endswith("attn2.to_k_ip.weight")]
    order = [k for k in keys if k.startswith("down_blocks")] + [k for k in keys if k.startswith("up_blocks")] + [
        k for k in keys if k.startswith("mid_block")]
    out = {}
    for i, k in enumerate(order):
        out[f"{2 * i + 1}.to_k_ip.weight"] = unet_sd[k]
        out[f"{2 * i + 1}.to_v_ip.weight"] = unet_sd[k.replace("to_k_ip", "to_v_ip")]
    return out


def _files(spec: dict, seed: int, partial_unet: bool, config_dir: Path,
           loaded_only: bool = False) -> Iterator[tuple[str, str, dict]]:
    """``(component, release-relative path, state dict or sections)`` for every weight file, one at a time.

    ``loaded_only`` skips the files a correct loader never takes a tensor from (the SD1.5 UNet
    weights, the ControlNet initialisations, and the ``.pth`` when the UNet checkpoint is full).
    """
    rel = {name: path for name, (path, _) in RELEASE_FILES.items()}
    unet = _empty("unet", spec, config_dir)
    # SD1.5 UNet weights: the 2-D model's keys only (no motion modules, no X-Dyna or IP layers)
    if not loaded_only:
        yield "unet_sd", UNET_BASES["unet_sd"] + ".safetensors", _state_dict(
            unet, seed, "unet_sd", lambda k: not _trained(k))
    # I2V-Adapter's AnimateDiff v1 + IP-Adapter-Plus UNet: everything but the Dynamics-Adapter
    if not loaded_only or partial_unet:
        base = (lambda k: not _trained(k)) if loaded_only else (lambda k: not _ff(k))
        yield "unet_motion", UNET_BASES["unet_motion"], _state_dict(unet, seed, "unet_motion", base)
    yield "unet", rel["unet"], _state_dict(unet, seed, "unet", _trained if partial_unet else None)
    del unet
    for name in ("controlnet", "controlnet_face"):
        model = _empty(name, spec, config_dir)
        if not loaded_only:
            init = str(Path(RELEASE_FILES[name][1]).parent / "diffusion_pytorch_model.safetensors")
            yield name + "_init", init, _state_dict(model, seed, name + "_init")
        yield name, rel[name], _state_dict(model, seed, name)
    for name in ("vae", "text_encoder", "image_encoder"):
        yield name, rel[name] + ".safetensors", _state_dict(_empty(name, spec, config_dir), seed, name)
    proj = _state_dict(_empty("image_proj", spec, config_dir), seed, "image_proj")
    ip = _state_dict(_empty("unet", spec, config_dir), seed, "ip_adapter", lambda k: "_ip." in k)
    yield "image_proj", rel["image_proj"], {"image_proj": proj, "ip_adapter": _ip_adapter_section(ip)}


def _tokenizer(folder: Path) -> None:
    """A byte-level CLIP tokenizer (every byte a token, no merges) with SD1.5's special tokens."""
    # GPT-2/CLIP byte-level alphabet: printable bytes stand for themselves, the rest map past 255
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    chars = [chr(b) if b in printable else chr(next(extra)) for b in range(256)]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": i + len(chars) for i, c in enumerate(chars)})
    vocab.update({"<|startoftext|>": len(vocab), "<|endoftext|>": len(vocab) + 1})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
               "unk_token": "<|endoftext|>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special))
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {**special, "model_max_length": 77, "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"}))


def _save(path: Path, sd: dict, fp16: bool) -> int:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".safetensors":
        save_file(_cast(sd, fp16), str(path))
    elif "image_proj" in sd:
        torch.save({k: _cast(v, fp16) for k, v in sd.items()}, path)
    else:
        torch.save(_cast(sd, fp16), path)
    return path.stat().st_size


def write_release(folder: str | Path, scale: str = "full", partial_unet: bool = False, fp16: bool = False,
                  seed: int = 0, progress=None) -> dict:
    """Write the release under ``folder/pretrained_weights``; returns (and writes) its description."""
    folder = Path(folder)
    root = folder / "pretrained_weights"
    spec = scale_spec(scale)
    scratch = folder / ".configs"
    scratch.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, rel, sd in _files(spec, seed, partial_unet, scratch):
        if progress is not None:
            progress(rel)
        sizes[rel] = _save(root / rel, sd, fp16)
        del sd
    for name, (_, crel) in RELEASE_FILES.items():
        if crel is not None:
            (root / crel).parent.mkdir(parents=True, exist_ok=True)
            cfg = spec["unet"] if name == "unet" else spec[name]
            (root / crel).write_text(json.dumps(cfg, indent=1))
    _tokenizer(root / TOKENIZER_DIR)
    for p in scratch.iterdir():
        p.unlink()
    scratch.rmdir()
    info = {"scale": scale, "partial_unet": partial_unet, "fp16": fp16, "seed": seed, "sizes": sizes,
            "resampler_kwargs": spec["resampler_kwargs"], "motion_module_kwargs": spec["motion_module_kwargs"]}
    (folder / SPEC_FILE).write_text(json.dumps(info, indent=1))
    return info


def effective_state_dicts(scale: str = "full", partial_unet: bool = False, fp16: bool = False,
                          seed: int = 0, scratch: str | Path | None = None) -> Iterator[tuple[str, dict]]:
    """``(component, state dict)`` a correct loader ends up with, built in memory, one at a time.

    The UNet is the ``.pth`` overridden by the X-Dyna checkpoint (for a full checkpoint simply
    the checkpoint); every other component is its release file. Nothing is read from disk.
    """
    import tempfile

    spec = scale_spec(scale)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        motion = None
        for name, _, sd in _files(spec, seed, partial_unet, Path(tmp), loaded_only=True):
            if name == "unet_motion":
                motion = sd
            elif name == "unet":
                yield name, _cast({**motion, **sd} if partial_unet else sd, fp16)
                motion = None
            elif name == "image_proj":
                yield name, _cast(sd["image_proj"], fp16)
            elif name in ("controlnet", "controlnet_face", "vae", "text_encoder", "image_encoder"):
                yield name, _cast(sd, fp16)


def components_in_memory(scale: str = "full", partial_unet: bool = False, fp16: bool = False, seed: int = 0,
                         device: str = "cpu", dtype: torch.dtype = torch.float32, face: bool = False):
    """:class:`~studio.backends.xdyna.components.Components` built straight from
    :func:`effective_state_dicts` (no release file is read), each moved to ``device``/``dtype``
    before the next is generated."""
    import tempfile

    from studio.backends.xdyna.loading import load_into, materialise

    spec = scale_spec(scale)
    models = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, sd in effective_state_dicts(scale, partial_unet, fp16, seed):
            if name == "controlnet_face" and not face:
                continue
            model = load_into(_empty(name, spec, tmp), sd, f"in-memory {name}")
            del sd
            models[name] = materialise(model, device, dtype)
        _tokenizer(tmp / "tokenizer")
        tokenizer = C.load_tokenizer(tmp / "tokenizer")
    return C.Components(
        unet=models["unet"], controlnet=models["controlnet"], controlnet_face=models.get("controlnet_face"),
        vae=models["vae"], text_encoder=models["text_encoder"], tokenizer=tokenizer,
        image_encoder=models["image_encoder"], image_proj=models["image_proj"],
        provenance={name: {"memory": len(m.state_dict())} for name, m in models.items()},
    )


#: ``--backend`` name -> module under tools/synthetic_releases/ with its own ``main(argv)``.
OTHER_BACKENDS = {"stableanimator": "synthetic_releases.stableanimator",
                  "dynamictrl": "synthetic_releases.dynamictrl"}


def main(argv: list[str] | None = None) -> int:
    """Command line: write a synthetic release into DIR (X-Dyna unless ``--backend`` names another)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--backend", default="xdyna", choices=("xdyna", *OTHER_BACKENDS))
    known, rest = pre.parse_known_args(argv)
    if known.backend != "xdyna":
        import importlib

        sys.path.insert(0, str(ROOT / "tools"))
        return importlib.import_module(OTHER_BACKENDS[known.backend]).main(rest)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", default="xdyna", choices=("xdyna", *OTHER_BACKENDS),
                    help="whose release to write (the other backends take their own options)")
    ap.add_argument("folder", type=Path, metavar="DIR", help="where to write (pretrained_weights/ goes inside)")
    ap.add_argument("--partial-unet", action="store_true", help="UNet checkpoint holds only the trained keys")
    ap.add_argument("--fp16", action="store_true", help="store float16 tensors")
    ap.add_argument("--scale", choices=("full", "small"), default="full")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if (args.folder / "pretrained_weights").exists():
        print(f"{args.folder / 'pretrained_weights'} exists; choose a new folder", file=sys.stderr)
        return 2
    info = write_release(args.folder, args.scale, args.partial_unet, args.fp16, args.seed,
                         progress=lambda rel: print(f"writing {rel}", file=sys.stderr, flush=True))
    total = sum(info["sizes"].values())
    print(f"wrote {args.folder} ({args.scale}, {'partial' if args.partial_unet else 'full'} UNet checkpoint, "
          f"{'float16' if args.fp16 else 'float32'}): {len(info['sizes'])} weight files, {total / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
