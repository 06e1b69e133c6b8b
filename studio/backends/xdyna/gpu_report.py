"""What a CUDA GPU can do for X-Dyna: VRAM, compute capability, bf16, fused attention, and the
memory setting to use (``studio doctor`` prints it).

The recommendation compares the GPU's memory with the peaks ``bench/vram_model.py`` measures for
a 192-frame 896x512 render in float16 (:data:`MODEL_PEAK_GIB`), plus :data:`HEADROOM` for the
caching allocator's fragmentation and :data:`CONTEXT_GIB` for the CUDA context and kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Peak allocated GiB of a 192-frame 896x512 float16 render by setting (bench/vram_model.py).
MODEL_PEAK_GIB = {"default": 7.68, "low-VRAM": 5.16}
#: Reserved-over-allocated margin of the caching allocator.
HEADROOM = 1.15
#: The CUDA context, cuDNN/cuBLAS workspaces and kernels.
CONTEXT_GIB = 1.0


def needed_gib(setting: str) -> float:
    """GPU memory a setting needs for a 192-frame 896x512 render."""
    return MODEL_PEAK_GIB[setting] * HEADROOM + CONTEXT_GIB


def recommend(vram_gib: float) -> str:
    """``"default"``, ``"low-VRAM"``, or ``"too small"`` for a GPU with ``vram_gib`` GiB."""
    if vram_gib >= needed_gib("default"):
        return "default"
    if vram_gib >= needed_gib("low-VRAM"):
        return "low-VRAM"
    return "too small"


@dataclass(frozen=True)
class GpuReport:
    """One CUDA device as X-Dyna sees it."""

    index: int
    name: str
    vram_gib: float
    capability: tuple[int, int]
    bf16: bool
    flash: bool
    efficient: bool

    @property
    def fused_attention(self) -> bool:
        """Whether SDPA can run a fused kernel (X-Dyna pins attention to those)."""
        return self.flash or self.efficient

    @property
    def setting(self) -> str:
        """The recommended memory setting (:func:`recommend`)."""
        return recommend(self.vram_gib) if self.fused_attention else "too small"

    def line(self) -> str:
        """One human-readable line for ``studio doctor``."""
        kernels = [k for k, ok in (("flash", self.flash), ("memory-efficient", self.efficient)) if ok]
        advice = {
            "default": "use the default memory setting",
            "low-VRAM": "turn on the low-VRAM setting for 896x512",
            "too small": "too little memory or no fused attention for 896x512: render smaller or on the CPU",
        }[self.setting]
        return (f"GPU {self.index} {self.name}: {self.vram_gib:.1f} GiB, compute capability "
                f"{self.capability[0]}.{self.capability[1]}, bf16 {'yes' if self.bf16 else 'no'}, fused attention "
                f"{' + '.join(kernels) if kernels else 'NOT available'}; {advice} "
                f"(default needs {needed_gib('default'):.1f} GiB, low-VRAM {needed_gib('low-VRAM'):.1f} GiB)")


def _kernel_works(torch: Any, device: Any, backend: Any) -> bool:
    from torch.nn.attention import sdpa_kernel

    q = torch.zeros(1, 2, 64, 64, device=device, dtype=torch.float16)
    try:
        with sdpa_kernel([backend]):
            torch.nn.functional.scaled_dot_product_attention(q, q, q)
        torch.cuda.synchronize(device)
        return True
    except RuntimeError:
        return False


def gpu_reports() -> list[GpuReport]:
    """A :class:`GpuReport` per visible CUDA device (empty without CUDA); runs a tiny attention
    with each fused kernel to see which work."""
    import torch
    from torch.nn.attention import SDPBackend

    if not torch.cuda.is_available():
        return []
    out = []
    for i in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(i)
        device = torch.device("cuda", i)
        with torch.cuda.device(device):
            bf16 = bool(torch.cuda.is_bf16_supported())
        out.append(GpuReport(
            i, props.name, props.total_memory / 2**30, (props.major, props.minor), bf16,
            _kernel_works(torch, device, SDPBackend.FLASH_ATTENTION),
            _kernel_works(torch, device, SDPBackend.EFFICIENT_ATTENTION),
        ))
    return out
