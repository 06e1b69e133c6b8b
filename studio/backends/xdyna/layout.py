"""Where each X-Dyna weight file lives: the official release tree or a converted copy (no torch).

The official release (README of bytedance/X-Dyna, Hugging Face ``Boese0601/X-Dyna``)::

    pretrained_weights/
      unet/unet-checkpoint-epoch-5.ckpt                  full UNet3D (SD1.5 + motion + adapters)
      controlnet/controlnet-checkpoint-epoch-5.ckpt      pose ControlNet
      controlnet_face/controlnet-face-checkpoint-epoch-2.ckpt   S-Face ControlNet
      initialization/controlnets_initialization/controlnet/control_v11p_sd15_openpose/config.json
      initialization/controlnets_initialization/controlnet_face/controlnet2/config.json
      initialization/unet_initialization/SD/stable-diffusion-v1-5/{unet/config.json, vae, text_encoder, tokenizer}
      initialization/unet_initialization/IP-Adapter/IP-Adapter/models/{image_encoder, ip-adapter-plus_sd15.bin}

``studio weights convert`` writes a flat folder of safetensors files plus a manifest
(:data:`MANIFEST`); :func:`resolve` accepts either. Only the files the renderer reads are
required. The ControlNet initialisation *weights* are replaced by the strictly loaded
checkpoints in the official code, so only their configs matter here. The UNet's base files
(:data:`UNET_BASES`: ``animatediff_v15_v1_ipplus.pth`` and the SD1.5 UNet weights) are read
when present and provide whatever the X-Dyna UNet checkpoint does not hold (see
:mod:`.assembly`); a release whose UNet checkpoint is complete needs neither.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from studio.core.errors import StudioError

MANIFEST = "studio_xdyna.json"
MANIFEST_FORMAT = "studio-xdyna-safetensors"

_SD = "initialization/unet_initialization/SD/stable-diffusion-v1-5"
_IPA = "initialization/unet_initialization/IP-Adapter/IP-Adapter/models"
_CN_INIT = "initialization/controlnets_initialization"

#: name -> (checkpoint path relative to ``pretrained_weights``, config path or None)
RELEASE_FILES: dict[str, tuple[str, str | None]] = {
    "unet": ("unet/unet-checkpoint-epoch-5.ckpt", f"{_SD}/unet/config.json"),
    "controlnet": (
        "controlnet/controlnet-checkpoint-epoch-5.ckpt",
        f"{_CN_INIT}/controlnet/control_v11p_sd15_openpose/config.json",
    ),
    "controlnet_face": (
        "controlnet_face/controlnet-face-checkpoint-epoch-2.ckpt",
        f"{_CN_INIT}/controlnet_face/controlnet2/config.json",
    ),
    "vae": (f"{_SD}/vae/diffusion_pytorch_model", f"{_SD}/vae/config.json"),
    "text_encoder": (f"{_SD}/text_encoder/model", f"{_SD}/text_encoder/config.json"),
    "image_encoder": (f"{_IPA}/image_encoder/model", f"{_IPA}/image_encoder/config.json"),
    "image_proj": (f"{_IPA}/ip-adapter-plus_sd15.bin", None),
}
#: The files ``from_pretrained_ip`` builds the UNet3D from before the X-Dyna checkpoint goes on
#: top, lowest priority first. The official code reads only the ``.pth``; the SD1.5 UNet weights
#: may fill keys that no later file provides (see :mod:`.assembly`).
UNET_BASES: dict[str, str] = {
    "unet_sd": f"{_SD}/unet/diffusion_pytorch_model",
    "unet_motion": f"{_SD}/unet/animatediff_v15_v1_ipplus.pth",
}
TOKENIZER_DIR = f"{_SD}/tokenizer"
TOKENIZER_FILES = ("vocab.json", "merges.txt")

#: Hugging Face folders store weights as ``<stem>.safetensors`` or ``<stem>.bin``; a few old
#: diffusers/transformers exports use ``pytorch_model.bin`` for diffusers models too.
_STEM_ALTERNATIVES = {"model": ("model", "pytorch_model"), "diffusion_pytorch_model": ("diffusion_pytorch_model",)}

REQUIRED = ("unet", "controlnet", "vae", "text_encoder", "image_encoder", "image_proj")


@dataclass(frozen=True)
class WeightSources:
    """Resolved paths of every component; ``missing`` lists what could not be found."""

    root: Path
    weights: dict[str, Path] = field(default_factory=dict)
    configs: dict[str, Path] = field(default_factory=dict)
    tokenizer: Path | None = None
    converted: bool = False
    manifest: dict = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    unet_bases: dict[str, Path] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        """Whether component ``name`` has its weights (and config, where it needs one)."""
        return name in self.weights


def _release_root(folder: Path) -> Path:
    """The ``pretrained_weights`` folder, whether given directly or as its parent."""
    if (folder / "pretrained_weights").is_dir():
        return folder / "pretrained_weights"
    return folder


def _find_weights(root: Path, rel: str) -> Path | None:
    path = root / rel
    if path.suffix in (".ckpt", ".bin", ".pth", ".pt", ".safetensors"):
        if path.is_file():
            return path
        # accept a differently named single checkpoint in the same folder
        if path.parent.is_dir() and path.parent != root:
            found = sorted(
                p for p in path.parent.iterdir() if p.is_file() and p.suffix in (".ckpt", ".safetensors", ".pth")
            )
            if len(found) == 1:
                return found[0]
        return None
    for stem in _STEM_ALTERNATIVES.get(path.name, (path.name,)):
        for suffix in (".safetensors", ".bin"):
            cand = path.parent / f"{stem}{suffix}"
            if cand.is_file():
                return cand
    return None


def _find_unet_bases(root: Path) -> dict[str, Path]:
    """The UNet base files present under ``root`` (exact names only: no single-file fallback)."""
    found = {}
    for name, rel in UNET_BASES.items():
        path = root / rel
        cands = [path] if path.suffix else [path.with_suffix(".safetensors"), path.with_suffix(".bin")]
        hit = next((c for c in cands if c.is_file()), None)
        if hit is not None:
            found[name] = hit
    return found


def _describe(name: str) -> str:
    return {
        "unet": "X-Dyna UNet checkpoint",
        "controlnet": "pose ControlNet checkpoint",
        "controlnet_face": "S-Face ControlNet checkpoint",
        "vae": "SD1.5 VAE weights",
        "text_encoder": "SD1.5 text encoder weights",
        "image_encoder": "IP-Adapter CLIP image encoder weights",
        "image_proj": "IP-Adapter-Plus weights (ip-adapter-plus_sd15.bin)",
        "unet_sd": "SD1.5 UNet weights",
        "unet_motion": "AnimateDiff + IP-Adapter UNet weights (animatediff_v15_v1_ipplus.pth)",
    }[name]


def _is_manifest(manifest: object) -> bool:
    """Whether ``manifest`` has the shape :func:`_resolve_converted` reads."""
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return False
    components = manifest.get("components", {})
    return isinstance(components, dict) and all(
        isinstance(e, dict) and isinstance(e.get("weights"), str) and isinstance(e.get("config") or "", str)
        for e in components.values()
    )


def _resolve_converted(folder: Path) -> WeightSources:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as err:
        raise StudioError(
            "Cannot read converted weights",
            f"{folder / MANIFEST} is not a readable manifest. Convert the release again with "
            "'studio weights convert'.",
            str(err),
        ) from err
    if not _is_manifest(manifest):
        fmt = manifest.get("format") if isinstance(manifest, dict) else None
        raise StudioError(
            "Cannot read converted weights",
            f"{folder / MANIFEST} is not a studio X-Dyna manifest (format {fmt!r}). Convert the release "
            "again with 'studio weights convert'.",
        )
    weights, configs, missing = {}, {}, []
    for name, entry in manifest.get("components", {}).items():
        w = folder / entry["weights"]
        c = folder / entry["config"] if entry.get("config") else None
        if w.is_file() and (c is None or c.is_file()):
            weights[name] = w
            if c is not None:
                configs[name] = c
        else:
            missing.append(f"{_describe(name)}: {w if not w.is_file() else c}")
    for name in REQUIRED:
        if name not in manifest.get("components", {}):
            missing.append(f"{_describe(name)}: not listed in {folder / MANIFEST}")
    tok = folder / "tokenizer"
    for f in TOKENIZER_FILES:
        if not (tok / f).is_file():
            missing.append(f"SD1.5 tokenizer file: {tok / f}")
    return WeightSources(folder, weights, configs, tok, True, manifest, tuple(missing))


def resolve(folder: str | Path) -> WeightSources:
    """Find every component under ``folder`` (a release tree or a converted copy)."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise StudioError(
            "Weights folder not found",
            f"{folder} is not a folder. Point the studio at the X-Dyna 'pretrained_weights' folder "
            "(or its parent), or at a folder written by 'studio weights convert'.",
        )
    if (folder / MANIFEST).is_file():
        return _resolve_converted(folder)
    root = _release_root(folder)
    weights, configs, missing = {}, {}, []
    for name, (wrel, crel) in RELEASE_FILES.items():
        w = _find_weights(root, wrel)
        c = root / crel if crel else None
        ok = True
        if w is None:
            missing.append(f"{_describe(name)}: {root / wrel}{'' if Path(wrel).suffix else '.safetensors (or .bin)'}")
            ok = False
        if c is not None and not c.is_file():
            missing.append(f"config of the {_describe(name)}: {c}")
            ok = False
        if ok:
            weights[name] = w
            if c is not None:
                configs[name] = c
    tok = root / TOKENIZER_DIR
    for f in TOKENIZER_FILES:
        if not (tok / f).is_file():
            missing.append(f"SD1.5 tokenizer file: {tok / f}")
    return WeightSources(root, weights, configs, tok, False, {}, tuple(missing), _find_unet_bases(root))


def check_release(folder: str | Path, face: bool = True) -> list[str]:
    """Every problem with the weights under ``folder`` (empty if it can be loaded).

    Only checks that files are present (no torch needed); ``face`` includes the S-Face
    ControlNet. Shapes and keys are checked when the pipeline loads.
    """
    try:
        src = resolve(folder)
    except StudioError as err:
        return [err.description]
    if face:
        return list(src.missing)
    face_words = (_describe("controlnet_face"), f"config of the {_describe('controlnet_face')}")
    return [m for m in src.missing if not m.startswith(face_words)]
