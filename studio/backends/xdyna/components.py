"""Build every X-Dyna model from its config and checkpoint (see :mod:`.layout` for the files).

Models are created with empty (meta) parameters and the checkpoint tensors are assigned into
them through :func:`.loading.load_into`, so a mismatch names the file and the keys. The UNet's
state dict is assembled from its base files and the X-Dyna checkpoint in the official order
(:mod:`.assembly`). :func:`load_components` reads one component at a time and moves it to its
device and dtype (:func:`.loading.materialise`) before it reads the next, so no component is
ever held twice; :func:`check_components` does the same key checks on the ``meta`` device and
reports which file provided how many tensors of each component.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from studio.backends.xdyna.assembly import assemble_unet
from studio.backends.xdyna.layout import TOKENIZER_FILES, WeightSources
from studio.backends.xdyna.loading import check_state_dict, empty_parameters, load_into, materialise, read_state_dict
from studio.backends.xdyna.resampler import OFFICIAL_KWARGS, Resampler
from studio.core.errors import StudioError

#: ``configs/x_dyna.yaml`` motion-module settings of the release (AnimateDiff v1 layout).
OFFICIAL_MOTION_MODULE_KWARGS: dict[str, Any] = {
    "num_attention_heads": 8,
    "num_transformer_block": 1,
    "attention_block_types": ["Temporal_Self", "Temporal_Self"],
    "temporal_position_encoding": True,
    "temporal_position_encoding_max_len": 24,
    "temporal_attention_dim_div": 1,
    "zero_initialize": True,
    "cross_id": True,
}

#: Names used by diffusers < 0.14 inside VAE attention blocks.
_VAE_LEGACY = {".query.": ".to_q.", ".key.": ".to_k.", ".value.": ".to_v.", ".proj_attn.": ".to_out.0."}


def read_config(path: Path) -> dict:
    """A JSON config as a dict, or a StudioError naming the file."""
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise _config_error(path, err) from err
    if not isinstance(config, dict):
        raise _config_error(path, TypeError(f"a {type(config).__name__}, not an object"))
    return config


def _config_error(path: Path, err: Exception) -> StudioError:
    return StudioError(
        "Cannot read model config",
        f"{path} is missing or not valid JSON. Download it again from the X-Dyna release.",
        str(err),
    )


def _hf_config(cls: Any, path: Path) -> Any:
    """A transformers config class read from ``path``, or a StudioError naming the file."""
    try:
        return cls.from_json_file(str(path))
    except (OSError, ValueError, TypeError) as err:
        raise _config_error(path, err) from err


@dataclass
class Components:
    """Every model the pipeline runs, on the CPU in the checkpoint dtype until moved."""

    unet: nn.Module
    controlnet: nn.Module
    controlnet_face: nn.Module | None
    vae: nn.Module
    text_encoder: nn.Module
    tokenizer: Any
    image_encoder: nn.Module
    image_proj: Resampler
    #: component -> {source file (or initialisation step): number of tensors it provided}
    provenance: dict[str, dict[str, int]] = field(default_factory=dict)


def build_controlnet(config: dict, sd: dict | None, source: Path | str) -> nn.Module:
    """A diffusers ``ControlNetModel`` from a release config (3 or 6 conditioning channels)."""
    from diffusers import ControlNetModel

    cfg = {k: v for k, v in config.items() if not k.startswith("_")}
    with empty_parameters():
        model = ControlNetModel.from_config(cfg)
    return model if sd is None else load_into(model, sd, source)


def build_unet(sd_unet_config: dict, motion_module_kwargs: dict | None, sd: dict | None, source) -> nn.Module:
    """The X-Dyna UNet3D (SD1.5 config + motion modules) with the release checkpoint."""
    try:
        from studio.backends.xdyna.unet3d import XDynaUNet3D
    except ImportError as err:
        raise StudioError(
            "X-Dyna UNet unavailable", "studio.backends.xdyna.unet3d could not be imported.", str(err)
        ) from err
    with empty_parameters():
        model = XDynaUNet3D.from_config(sd_unet_config, motion_module_kwargs)
    return model if sd is None else load_into(model, sd, source)


def build_resampler(kwargs: dict, sd: dict | None, source) -> Resampler:
    """The IP-Adapter-Plus projection with ``kwargs`` (see :data:`OFFICIAL_KWARGS`)."""
    with empty_parameters():
        model = Resampler(**kwargs)
    return model if sd is None else load_into(model, sd, source)


def build_vae(config: dict, sd: dict | None, source) -> nn.Module:
    """diffusers ``AutoencoderKL`` (legacy attention names are renamed on load)."""
    from diffusers import AutoencoderKL

    with empty_parameters():
        model = AutoencoderKL.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    return model if sd is None else load_into(model, sd, source, renames=_VAE_LEGACY)


def build_text_encoder(config_path: Path, sd: dict | None, source) -> nn.Module:
    """transformers ``CLIPTextModel`` (SD1.5 text encoder)."""
    from transformers import CLIPTextConfig, CLIPTextModel

    config = _hf_config(CLIPTextConfig, config_path)
    with empty_parameters():
        model = CLIPTextModel(config)
    return model if sd is None else load_into(model, sd, source, prefixes=("text_model.",))


def build_image_encoder(config_path: Path, sd: dict | None, source) -> nn.Module:
    """transformers ``CLIPVisionModelWithProjection`` (IP-Adapter's ViT-H/14)."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = _hf_config(CLIPVisionConfig, config_path)
    with empty_parameters():
        model = CLIPVisionModelWithProjection(config)
    return model if sd is None else load_into(model, sd, source, prefixes=("vision_model.",))


def load_tokenizer(folder: Path) -> Any:
    """The SD1.5 ``CLIPTokenizer`` (json/txt files only, nothing executable)."""
    from transformers import CLIPTokenizer

    try:
        return CLIPTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception as err:  # noqa: BLE001 - the tokenizers library raises bare Exceptions
        raise StudioError(
            "Cannot read the tokenizer",
            f"{folder} holds no usable CLIP tokenizer (vocab.json, merges.txt). Download the "
            "tokenizer folder again from the SD1.5 release.",
            str(err),
        ) from err


def resampler_kwargs_for(src: WeightSources, image_encoder_hidden: int, given: dict | None) -> dict:
    """Resampler hyper-parameters: explicit > converted manifest > official (with the encoder width)."""
    if given is not None:
        return dict(given)
    if src.manifest.get("resampler_kwargs"):
        return dict(src.manifest["resampler_kwargs"])
    return {**OFFICIAL_KWARGS, "embedding_dim": image_encoder_hidden}


#: Components in the order they are read; the UNet (the largest) first.
ORDER = ("unet", "controlnet", "controlnet_face", "image_encoder", "image_proj", "vae", "text_encoder")

#: How checkpoint names are matched to each model: (prefixes that may differ, legacy renames).
_MATCH: dict[str, tuple[tuple[str, ...], dict[str, str] | None]] = {
    "vae": ((), _VAE_LEGACY),
    "text_encoder": (("text_model.",), None),
    "image_encoder": (("vision_model.",), None),
}


@dataclass(frozen=True)
class _Plan:
    """What every component needs besides its own files."""

    src: WeightSources
    names: tuple[str, ...]
    motion_module_kwargs: dict
    resampler_kwargs: dict


def _plan(src: WeightSources, face: bool | None, resampler_kwargs: dict | None,
          motion_module_kwargs: dict | None) -> _Plan:
    """Which components to read and with what settings; every missing file is one StudioError."""
    required = ["unet", "controlnet", "vae", "text_encoder", "image_encoder", "image_proj"]
    if face:
        required.append("controlnet_face")
    no_tokenizer = src.tokenizer is None or any(not (src.tokenizer / f).is_file() for f in TOKENIZER_FILES)
    if any(not src.has(n) for n in required) or no_tokenizer:
        raise StudioError(
            "X-Dyna weights incomplete",
            f"Some files are missing under {src.root}: " + "; ".join(src.missing)
            + ". Download them from the X-Dyna release, or choose the complete 'pretrained_weights' folder.",
            "\n".join(src.missing),
        )
    use_face = bool(face) or (face is None and src.has("controlnet_face"))
    names = tuple(n for n in ORDER if n != "controlnet_face" or use_face)
    if motion_module_kwargs is None:
        motion_module_kwargs = src.manifest.get("motion_module_kwargs") or OFFICIAL_MOTION_MODULE_KWARGS
    from transformers import CLIPVisionConfig

    hidden = _hf_config(CLIPVisionConfig, src.configs["image_encoder"]).hidden_size
    return _Plan(src, names, motion_module_kwargs, resampler_kwargs_for(src, hidden, resampler_kwargs))


def _empty_model(name: str, plan: _Plan) -> nn.Module:
    """Component ``name`` with empty parameters (``meta``), ready for its tensors."""
    c = plan.src.configs
    if name in ("controlnet", "controlnet_face"):
        return build_controlnet(read_config(c[name]), None, c[name])
    if name == "unet":
        return build_unet(read_config(c["unet"]), plan.motion_module_kwargs, None, c["unet"])
    if name == "vae":
        return build_vae(read_config(c["vae"]), None, c["vae"])
    if name == "text_encoder":
        return build_text_encoder(c["text_encoder"], None, c["text_encoder"])
    if name == "image_encoder":
        return build_image_encoder(c["image_encoder"], None, c["image_encoder"])
    return build_resampler(plan.resampler_kwargs, None, plan.src.weights["image_proj"])


def _state_dict(name: str, plan: _Plan, model: nn.Module) -> tuple[dict, dict[str, int], dict[str, int]]:
    """Checked tensors for ``model``, with {source: tensors provided} and {base file: keys ignored}."""
    src, path = plan.src, plan.src.weights[name]
    if name == "unet":
        asm = assemble_unet(model, path, src.unet_bases)
        return asm.state_dict, asm.provided, asm.ignored
    prefixes, renames = _MATCH.get(name, ((), None))
    sd = read_state_dict(path, "image_proj" if name == "image_proj" and not src.converted else None)
    sd = check_state_dict(model, sd, path, prefixes, renames)
    return sd, {str(path): len(sd)}, {}


def load_components(
    src: WeightSources,
    face: bool | None = None,
    resampler_kwargs: dict | None = None,
    motion_module_kwargs: dict | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
    place: Callable[[str, nn.Module], nn.Module] | None = None,
    on_device: Collection[str] | None = None,
) -> Components:
    """Read and check every component. ``face=None`` loads the S-Face ControlNet if present.

    With ``device``/``dtype`` each component is moved there before the next one is read
    (otherwise components stay on the CPU, mapped from their files, in the checkpoint dtype).
    ``on_device`` names the components that go to ``device``; the others are cast to ``dtype``
    on the CPU (where :func:`.placement.idle_resident` keeps them until a phase needs them).
    ``place(name, model)`` replaces that move (``bench/release_load.py`` simulates a device).
    """
    plan = _plan(src, face, resampler_kwargs, motion_module_kwargs)
    models: dict[str, nn.Module] = {}
    provenance: dict[str, dict[str, int]] = {}
    for name in plan.names:
        model = _empty_model(name, plan)
        sd, provenance[name], _ = _state_dict(name, plan, model)
        model.load_state_dict(sd, strict=True, assign=True)
        del sd
        for p in model.parameters():
            p.requires_grad_(False)
        if place is not None:
            model = place(name, model)
        elif device is not None:
            home = device if on_device is None or name in on_device else "cpu"
            materialise(model, home, dtype or torch.float32)
        models[name] = model.eval()
    return Components(
        unet=models["unet"],
        controlnet=models["controlnet"],
        controlnet_face=models.get("controlnet_face"),
        vae=models["vae"],
        text_encoder=models["text_encoder"],
        tokenizer=load_tokenizer(src.tokenizer),
        image_encoder=models["image_encoder"],
        image_proj=models["image_proj"],
        provenance=provenance,
    )


@dataclass(frozen=True)
class ComponentReport:
    """Where one component's tensors come from (``studio weights check``)."""

    name: str
    tensors: int
    provided: dict[str, int]
    ignored: dict[str, int]


def check_components(
    src: WeightSources,
    face: bool | None = None,
    resampler_kwargs: dict | None = None,
    motion_module_kwargs: dict | None = None,
) -> list[ComponentReport]:
    """Every key and shape check of :func:`load_components`, on the ``meta`` device (no weights read).

    Raises the same :class:`StudioError` a load would raise for the first component that fails.
    """
    plan = _plan(src, face, resampler_kwargs, motion_module_kwargs)
    reports = []
    for name in plan.names:
        with torch.device("meta"):
            model = _empty_model(name, plan)
        sd, provided, ignored = _state_dict(name, plan, model)
        reports.append(ComponentReport(name, len(sd), provided, ignored))
        del sd, model
    load_tokenizer(src.tokenizer)
    return reports


def to_device(module: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Move a loaded module to ``device``/``dtype`` in eval mode."""
    from diffusers.utils import logging as diffusers_logging

    level = diffusers_logging.get_verbosity()
    diffusers_logging.set_verbosity_error()  # silence "modules that should be kept in float32: []"
    try:
        return module.to(device=device, dtype=dtype).eval()
    finally:
        diffusers_logging.set_verbosity(level)
