"""Where and how an X-Dyna render runs: device, precision and the memory/speed options.

* :func:`pick_device` / :func:`pick_dtype` -- ``"auto"`` resolved (CUDA and float16 when there
  is a GPU, else the CPU and float32).
* :class:`RunOptions` -- how a render is computed, not what it produces; set with
  :meth:`~.pipeline.XDynaPipeline.configure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from studio.backends.xdyna.feedforward import FF_CHUNK_TOKENS
from studio.core.errors import StudioError


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(device: torch.device, dtype: str | torch.dtype | None = None) -> torch.dtype:
    """float16 on CUDA and float32 elsewhere unless ``dtype`` says otherwise."""
    if dtype is None or dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, str):
        table = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
        if dtype not in table:
            raise StudioError("Invalid precision", f"Unknown dtype '{dtype}'; use float32, float16 or bfloat16.")
        return table[dtype]
    return dtype


@dataclass(frozen=True)
class RunOptions:
    """How a render is computed (not what it produces): memory and speed options.

    ``low_vram``: keep every model but the UNet off the device except during its own calls, and
    run the CFG halves one after the other. ``sequential_cfg``: the CFG halves one after the other
    (batch 1 twice instead of batch 2). ``torch_compile``: ``torch.compile`` the UNet (the first
    steps are slow while it compiles). ``channels_last``: the convolutional models in
    channels-last memory format (``None``: on CUDA only, where it is faster). ``ff_chunk_tokens``:
    tokens per feed-forward chunk (0: unchunked; the result is the same either way).
    """

    low_vram: bool = False
    sequential_cfg: bool = False
    torch_compile: bool = False
    channels_last: bool | None = None
    ff_chunk_tokens: int = FF_CHUNK_TOKENS

    @classmethod
    def from_settings(cls, settings: object) -> RunOptions:
        """The options of a :class:`~studio.core.settings.RenderSettings` (or anything with those fields)."""
        return cls(
            low_vram=bool(getattr(settings, "low_vram", False)),
            sequential_cfg=bool(getattr(settings, "sequential_cfg", False)),
            torch_compile=bool(getattr(settings, "torch_compile", False)),
        )
