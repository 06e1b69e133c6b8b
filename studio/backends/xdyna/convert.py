"""Write a fast-loading safetensors copy of the X-Dyna weights (``studio weights convert``).

The copy is a flat folder: ``<component>.safetensors`` with keys already matched to the
studio's models, ``<component>_config.json``, the tokenizer files, and a manifest
(:data:`~.layout.MANIFEST`) that also records the resampler and motion-module settings.
:meth:`XDynaPipeline.from_release` accepts it like the release tree. Every state dict is
checked against its model (keys and shapes, on the meta device) before anything is written; the
UNet is assembled from its base files and the X-Dyna checkpoint first (:mod:`.assembly`), so the
copy holds the complete UNet even when the release's checkpoint holds only the trained keys.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import torch

from studio.backends.xdyna import components as C
from studio.backends.xdyna.assembly import assemble_unet
from studio.backends.xdyna.layout import MANIFEST, MANIFEST_FORMAT, REQUIRED, resolve
from studio.backends.xdyna.loading import check_state_dict, read_state_dict
from studio.core.errors import StudioError

FORMAT_VERSION = 1


def _model_on_meta(name: str, config_path: Path | None, kwargs: dict) -> torch.nn.Module:
    with torch.device("meta"):
        if name in ("controlnet", "controlnet_face"):
            return C.build_controlnet(C.read_config(config_path), None, config_path)
        if name == "unet":
            return C.build_unet(C.read_config(config_path), kwargs["motion_module_kwargs"], None, config_path)
        if name == "vae":
            return C.build_vae(C.read_config(config_path), None, config_path)
        if name == "text_encoder":
            return C.build_text_encoder(config_path, None, config_path)
        if name == "image_encoder":
            return C.build_image_encoder(config_path, None, config_path)
        return C.build_resampler(kwargs["resampler_kwargs"], None, "image_proj")


def _unshare(sd: dict[str, torch.Tensor], fp16: bool) -> dict[str, torch.Tensor]:
    """Contiguous tensors (float16 if asked) that share no memory, as safetensors requires."""
    out, seen = {}, set()
    for k, v in sd.items():
        if fp16 and v.is_floating_point():
            v = v.to(torch.float16)
        v = v.contiguous()
        if v.untyped_storage().data_ptr() in seen:
            v = v.clone()
        seen.add(v.untyped_storage().data_ptr())
        out[k] = v
    return out


def convert_release(
    src: str | Path,
    dst: str | Path,
    fp16: bool = False,
    resampler_kwargs: dict | None = None,
    motion_module_kwargs: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Convert the weights under ``src`` into ``dst``; returns the manifest path."""
    from safetensors.torch import save_file

    sources = resolve(src)
    missing = [n for n in REQUIRED if not sources.has(n)]
    if missing or sources.tokenizer is None:
        raise StudioError(
            "X-Dyna weights incomplete", f"Cannot convert {sources.root}: " + "; ".join(sources.missing)
        )
    dst = Path(dst).expanduser()
    if dst.resolve() == sources.root.resolve():
        raise StudioError("Invalid destination", f"{dst} is the source folder; choose an empty folder.")
    dst.mkdir(parents=True, exist_ok=True)
    enc_cfg = C.read_config(sources.configs["image_encoder"])
    kwargs = {
        "resampler_kwargs": C.resampler_kwargs_for(sources, int(enc_cfg["hidden_size"]), resampler_kwargs),
        "motion_module_kwargs": motion_module_kwargs
        or sources.manifest.get("motion_module_kwargs")
        or C.OFFICIAL_MOTION_MODULE_KWARGS,
    }
    entries = {}
    for name, weights in sources.weights.items():
        if progress is not None:
            progress(name)
        config = sources.configs.get(name)
        if name == "unet":  # assembled from its base files and the X-Dyna checkpoint (real buffers)
            model = C.build_unet(C.read_config(config), kwargs["motion_module_kwargs"], None, config)
            sd = assemble_unet(model, weights, sources.unet_bases).state_dict
        else:
            model = _model_on_meta(name, config, kwargs)
            sd = read_state_dict(weights, "image_proj" if name == "image_proj" and not sources.converted else None)
            renames = C._VAE_LEGACY if name == "vae" else None
            prefixes = {"text_encoder": ("text_model.",), "image_encoder": ("vision_model.",)}.get(name, ())
            sd = check_state_dict(model, sd, weights, prefixes, renames)
        save_file(_unshare(sd, fp16), str(dst / f"{name}.safetensors"))
        entry = {"weights": f"{name}.safetensors"}
        if config is not None:
            shutil.copyfile(config, dst / f"{name}_config.json")
            entry["config"] = f"{name}_config.json"
        entries[name] = entry
        del sd
    tok = dst / "tokenizer"
    tok.mkdir(exist_ok=True)
    for f in sources.tokenizer.iterdir():
        if f.is_file():
            shutil.copyfile(f, tok / f.name)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": FORMAT_VERSION,
        "dtype": "float16" if fp16 else "source",
        "source": str(sources.root),
        "components": entries,
        **kwargs,
    }
    path = dst / MANIFEST
    path.write_text(json.dumps(manifest, indent=1))
    return path
