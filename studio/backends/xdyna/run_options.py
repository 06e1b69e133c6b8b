"""Where and how an X-Dyna render runs: device, precision and the memory/speed options.

* :func:`pick_device` / :func:`pick_dtype` -- ``"auto"`` resolved (CUDA and float16 when there
  is a GPU, else the CPU and float32): the backends' shared :mod:`studio.backends.devices`.
* :class:`RunOptions` -- how a render is computed, not what it produces; set with
  :meth:`~.pipeline.XDynaPipeline.configure`.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.backends.devices import pick_device, pick_dtype
from studio.backends.xdyna.feedforward import FF_CHUNK_TOKENS

__all__ = ["RunOptions", "pick_device", "pick_dtype"]


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
