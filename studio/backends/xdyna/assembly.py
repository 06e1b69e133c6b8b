"""The UNet3D state dict in the official assembly order, with the file each tensor came from.

``inference_xdyna.py`` (bytedance/X-Dyna ``9a54f8e``, lines 216 and 251-260) builds the UNet as:

1. ``UNet3DConditionModel.from_pretrained_ip(SD1.5 folder, "unet")`` (``animatediff/models/unet.py``
   638-688): the model from the SD1.5 ``unet/config.json``, then ``animatediff_v15_v1_ipplus.pth``
   loaded with ``strict=False`` (keys the model lacks are ignored), after every
   ``attn1.to_q_ff.weight`` of the state dict was set to that file's ``attn1.to_q.weight``.
2. ``unet-checkpoint-epoch-5.ckpt`` on top with ``strict=False``, asserting that it has no
   unexpected keys.

Keys that no file provides keep the constructor's initialisation there. Here:

* the SD1.5 UNet weights (``unet/diffusion_pytorch_model.*``) come first when present. The
  official code never reads them; they can only provide keys that neither later file holds;
* then the ``.pth`` with unexpected keys ignored, then the official ``to_q_ff`` initialisation
  (a copy of ``attn1.to_q`` from the files so far);
* the constructor's deterministic values: the sinusoidal positional encodings (buffers) and
  the zero-initialised motion-module ``proj_out`` (``zero_initialize: true``);
* then the X-Dyna checkpoint, where an unexpected key is an error;
* a key still without a value (the official code would leave it at a random initialisation,
  e.g. ``to_out_ff``) is an error naming the file chain and the first keys.

A tensor of the wrong shape in any file is an error naming that file, as ``load_state_dict``
raises even with ``strict=False``. :class:`Assembly` records which file provided how many of
the final tensors (``studio weights check`` prints it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from studio.backends.xdyna.loading import SHOW_KEYS, read_state_dict
from studio.core.errors import StudioError

INIT_TO_Q_FF = "initialisation: attn1.to_q_ff copied from attn1.to_q"
INIT_CONSTRUCTOR = "initialisation: positional encodings and zero motion-module proj_out"


@dataclass
class Assembly:
    """A complete state dict and, per source, how many of its tensors that source provided."""

    state_dict: dict[str, torch.Tensor]
    provided: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)  # keys a base file has that the model lacks


def _shape_errors(expected: Mapping[str, torch.Tensor], sd: Mapping[str, torch.Tensor]) -> list[str]:
    return [
        f"{k} {tuple(v.shape)} (model expects {tuple(expected[k].shape)})"
        for k, v in sd.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]


def _mismatch(path: Path | str, model: str, what: str, keys: list[str]) -> StudioError:
    return StudioError(
        "Checkpoint does not match the model",
        f"{path} does not fit {model}: {len(keys)} {what}: {', '.join(keys[:SHOW_KEYS])}. Check that the file "
        "is the one the X-Dyna release names for this place and that its config.json matches it.",
        "\n".join(keys),
    )


def _is_constructor_value(key: str) -> bool:
    return key.endswith("pos_encoder.pe") or (
        "motion_modules." in key and key.endswith(("temporal_transformer.proj_out.weight",
                                                   "temporal_transformer.proj_out.bias"))
    )


def _constructor_value(key: str, current: torch.Tensor) -> torch.Tensor:
    if key.endswith("pos_encoder.pe"):
        return current.detach()  # a real buffer computed by the constructor (meta when only checking)
    return torch.zeros(current.shape, dtype=current.dtype)  # real even when the model is on meta


def assemble_unet(
    model: torch.nn.Module,
    checkpoint: Path,
    bases: Mapping[str, Path] | None = None,
) -> Assembly:
    """The UNet3D state dict from ``bases`` (``unet_sd``, ``unet_motion``) and the X-Dyna ``checkpoint``."""
    bases = bases or {}
    expected = model.state_dict(keep_vars=True)
    name = type(model).__name__
    merged: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    out = Assembly({})
    for role in ("unet_sd", "unet_motion"):
        if role not in bases:
            continue
        path = bases[role]
        sd = read_state_dict(path)
        wrong = _shape_errors(expected, sd)
        if wrong:
            raise _mismatch(path, name, "tensors of the wrong shape", wrong)
        ignored = [k for k in sd if k not in expected]
        if ignored:
            out.ignored[str(path)] = len(ignored)
        for k, v in sd.items():
            if k in expected:
                merged[k], origin[k] = v, str(path)
    for key in expected:
        if key.endswith("attn1.to_q_ff.weight") and "motion_modules" not in key:
            source = key.replace("attn1.to_q_ff", "attn1.to_q")
            if source in merged:
                merged[key], origin[key] = merged[source].clone(), INIT_TO_Q_FF
        elif key not in merged and _is_constructor_value(key):
            merged[key], origin[key] = _constructor_value(key, expected[key]), INIT_CONSTRUCTOR
    top = read_state_dict(checkpoint)
    unexpected = [k for k in top if k not in expected]
    if unexpected:
        raise _mismatch(checkpoint, name, "unexpected keys (the official loader refuses these too)", unexpected)
    wrong = _shape_errors(expected, top)
    if wrong:
        raise _mismatch(checkpoint, name, "tensors of the wrong shape", wrong)
    for k, v in top.items():
        merged[k], origin[k] = v, str(checkpoint)
    missing = [k for k in expected if k not in merged]
    if missing:
        chain = [str(bases[r]) for r in ("unet_sd", "unet_motion") if r in bases] + [str(checkpoint)]
        raise StudioError(
            "UNet weights incomplete",
            f"No file provides {len(missing)} of the {len(expected)} UNet tensors: "
            f"{', '.join(missing[:SHOW_KEYS])}. Files read, in order: {' -> '.join(chain)}. "
            "Put animatediff_v15_v1_ipplus.pth (from the I2V-Adapter release) into the SD1.5 'unet' "
            "folder, or download the complete X-Dyna UNet checkpoint again.",
            "\n".join(missing),
        )
    out.state_dict = {k: merged[k] for k in expected}
    out.provided = {str(bases[r]): 0 for r in ("unet_sd", "unet_motion") if r in bases}  # files read, in order
    out.provided[str(checkpoint)] = 0
    for k in expected:
        out.provided[origin[k]] = out.provided.get(origin[k], 0) + 1
    return out
