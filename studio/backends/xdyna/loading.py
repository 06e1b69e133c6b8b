"""Safe checkpoint reading and strict state-dict loading.

* Pickle checkpoints (``.ckpt``/``.bin``/``.pth``) are opened only with
  ``torch.load(weights_only=True)``: a file that holds anything but tensors and plain
  containers is refused before any of its code could run. ``.safetensors`` files are read
  with safetensors.
* A ``{"state_dict": ...}`` wrapper and leading ``module.`` prefixes (DDP) are removed, as the
  official loader does.
* Models are built with their parameters on the ``meta`` device and the checkpoint tensors
  are assigned into them, so nothing is initialised twice. Missing or unexpected keys and
  shape mismatches raise a :class:`~studio.core.errors.StudioError` naming the file and the
  first offending keys.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import nn

from studio.core.errors import StudioError

SHOW_KEYS = 5


def _refused(path: Path, err: Exception) -> StudioError:
    return StudioError(
        "Checkpoint refused",
        f"{path} contains Python objects other than tensors, which could run code when opened; "
        "it was not loaded. Download the checkpoint again from the official source.",
        str(err),
    )


def read_checkpoint(path: str | Path) -> Mapping:
    """The raw object stored in ``path`` (tensors and containers only)."""
    path = Path(path)
    if not path.is_file():
        raise StudioError("Checkpoint not found", f"{path} does not exist. Check the weights folder.")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as err:
            raise StudioError(
                "Cannot read checkpoint", f"{path} is not a valid safetensors file; download it again.", str(err)
            ) from err
    # no mmap: parameters must not change if the file is replaced while the studio runs
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _refused(path, err) from err
    except (RuntimeError, EOFError, OSError, ValueError, TypeError, AttributeError) as err:
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise _refused(path, err) from err
        raise StudioError(
            "Cannot read checkpoint", f"{path} is damaged or not a PyTorch checkpoint; download it again.", str(err)
        ) from err
    if not isinstance(obj, Mapping):
        raise StudioError(
            "Cannot read checkpoint",
            f"{path} holds a {type(obj).__name__}, not a dictionary of tensors. Check that it is the file the "
            "X-Dyna release names for this place, or download it again.",
        )
    return obj


def strip_wrappers(obj: Mapping, path: Path, subkey: str | None = None) -> dict[str, torch.Tensor]:
    """Unwrap ``state_dict``/``subkey`` containers and drop leading ``module.`` prefixes."""
    if subkey is not None:
        flat = {k[len(subkey) + 1 :]: v for k, v in obj.items() if str(k).startswith(subkey + ".")}
        if subkey not in obj and flat:  # safetensors exports flatten sections to "<section>.<key>"
            obj = {subkey: flat}
        if subkey not in obj or not isinstance(obj[subkey], Mapping):
            raise StudioError(
                "Checkpoint does not match the model",
                f"{path} has no '{subkey}' section (found: {', '.join(map(str, list(obj)[:SHOW_KEYS]))}).",
            )
        obj = obj[subkey]
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        name = str(key)
        while name.startswith("module."):
            name = name[len("module.") :]
        if not isinstance(value, torch.Tensor):
            raise StudioError(
                "Checkpoint does not match the model",
                f"{path}: entry '{key}' is a {type(value).__name__}, not a tensor.",
            )
        out[name] = value
    return out


def read_state_dict(path: str | Path, subkey: str | None = None) -> dict[str, torch.Tensor]:
    """A flat ``{name: tensor}`` state dict from any supported checkpoint file."""
    path = Path(path)
    return strip_wrappers(read_checkpoint(path), path, subkey)


@contextlib.contextmanager
def empty_parameters() -> Iterator[None]:
    """Build modules with parameters on the ``meta`` device (buffers stay real)."""
    original = nn.Module.register_parameter

    def register(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        original(module, name, param)
        if param is not None:
            p = module._parameters[name]
            module._parameters[name] = nn.Parameter(p.to("meta"), requires_grad=False)

    nn.Module.register_parameter = register  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


def _align_prefix(model_keys: set[str], sd: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict:
    """Add or remove a known top-level prefix (e.g. ``text_model.``) when only that differs."""
    for prefix in prefixes:
        model_has = any(k.startswith(prefix) for k in model_keys)
        sd_has = any(k.startswith(prefix) for k in sd)
        if sd_has and not model_has:
            return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in sd.items()}
        if model_has and not sd_has:
            return {(prefix + k if prefix + k in model_keys else k): v for k, v in sd.items()}
    return sd


def check_state_dict(
    model: nn.Module,
    sd: dict[str, torch.Tensor],
    source: str | Path,
    prefixes: tuple[str, ...] = (),
    renames: Mapping[str, str] | None = None,
) -> dict[str, torch.Tensor]:
    """``sd`` with names matched to ``model``; raises if any key or shape does not fit.

    Keys naming a non-persistent buffer of the model (e.g. CLIP ``position_ids``, stored by
    older exports) are dropped; ``renames`` maps legacy name fragments to current ones.
    """
    expected = model.state_dict(keep_vars=True)
    if renames:
        sd = {_rename(k, renames): v for k, v in sd.items()}
    sd = _align_prefix(set(expected), sd, prefixes)
    buffers = {n for n, _ in model.named_buffers()}
    sd = {k: v for k, v in sd.items() if k in expected or k not in buffers and not k.endswith("position_ids")}
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = []
    for k, v in sd.items():
        if k in expected and tuple(v.shape) != tuple(expected[k].shape):
            target = tuple(expected[k].shape)
            if v.numel() == expected[k].numel() and v.dim() == 4 and len(target) == 2 and v.shape[2:] == (1, 1):
                sd[k] = v.reshape(target)  # 1x1 conv stored for a linear layer (old VAE exports)
            else:
                wrong.append(f"{k} {tuple(v.shape)} (model expects {target})")
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append(f"{len(wrong)} tensors of the wrong shape: {', '.join(wrong[:SHOW_KEYS])}")
        if missing:
            parts.append(f"{len(missing)} missing keys: {', '.join(missing[:SHOW_KEYS])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys: {', '.join(unexpected[:SHOW_KEYS])}")
        raise StudioError(
            "Checkpoint does not match the model",
            f"{source} does not fit {type(model).__name__}: {'; '.join(parts)}. Check that the file is "
            "the one the X-Dyna release names for this place and that its config.json matches it.",
            "\n".join(["missing: " + ", ".join(missing), "unexpected: " + ", ".join(unexpected), *wrong]),
        )
    return sd


def _rename(key: str, renames: Mapping[str, str]) -> str:
    for old, new in renames.items():
        if old in key:
            key = key.replace(old, new)
    return key


def load_into(
    model: nn.Module,
    sd: dict[str, torch.Tensor],
    source: str | Path,
    prefixes: tuple[str, ...] = (),
    renames: Mapping[str, str] | None = None,
) -> nn.Module:
    """Check ``sd`` against ``model`` and assign its tensors (the model may live on ``meta``)."""
    sd = check_state_dict(model, sd, source, prefixes, renames)
    model.load_state_dict(sd, strict=True, assign=True)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
