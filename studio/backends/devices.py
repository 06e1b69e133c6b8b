"""Where a torch backend computes: the render settings' ``device`` and ``dtype`` resolved.

Shared by the torch backends (X-Dyna, DynamiCtrl, StableAnimator); any backend package may
import it (it is below them, inside :mod:`studio.backends`, and imports nothing of theirs).

* :func:`pick_device` -- ``"auto"`` -> CUDA when torch sees a GPU, else the CPU.
* :func:`pick_dtype` -- ``"auto"`` -> the backend's GPU precision on CUDA (``cuda_dtype``), float32
  elsewhere; ``"float32"`` / ``"float16"`` / ``"bfloat16"`` as named.
* :func:`render_device` -- :func:`pick_device` for a render: a :class:`StudioError` for a name
  torch does not know or a CUDA device on a machine without one, instead of a failure mid-load.
"""

from __future__ import annotations

import torch

from studio.core.errors import StudioError

#: The precision names the render settings offer (besides ``"auto"``).
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU; anything else as torch reads it."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(device: torch.device, dtype: str | torch.dtype | None = None,
               cuda_dtype: torch.dtype = torch.float16) -> torch.dtype:
    """``cuda_dtype`` on CUDA and float32 elsewhere unless ``dtype`` names one."""
    if dtype is None or dtype == "auto":
        return cuda_dtype if torch.device(device).type == "cuda" else torch.float32
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise StudioError("Invalid precision", f"Unknown dtype '{dtype}'; use float32, float16 or bfloat16.")
        return DTYPES[dtype]
    return dtype


def render_device(device: str | torch.device = "auto") -> torch.device:
    """The device a render asked for, checked: a StudioError for an unknown name or a CUDA device
    without a GPU."""
    try:
        dev = pick_device(device)
    except RuntimeError as exc:
        raise StudioError(
            "Unknown device", f"'{device}' is not a device torch knows; use auto, cpu, cuda or cuda:N.", repr(exc)
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise StudioError(
            "No CUDA GPU", f"The render settings ask for device '{device}' but torch sees no CUDA GPU here. "
            "Choose auto or cpu.",
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise StudioError(
            "No such CUDA GPU", f"The render settings ask for device '{device}' but torch sees "
            f"{torch.cuda.device_count()} CUDA GPU(s) here (cuda:0 to cuda:{torch.cuda.device_count() - 1}). "
            "Choose auto, cuda or one of those.",
        )
    return dev
