"""Frame-only 3D convolutions computed as 2D ones: the same arithmetic on a faster kernel.

SVD's temporal resnet blocks (UNet and VAE decoder) and the decoder's ``time_conv_out`` are
``nn.Conv3d`` with a ``(k, 1, 1)`` kernel: each output pixel mixes the same pixel of ``k``
neighbouring frames. On the CPU, PyTorch runs such a convolution through its slow unfold path
(``slow_conv3d``: a copy of the input per tap, then a GEMM), which at 64x64 and above costs more
than the block's 3x3 spatial convolutions. Seen as ``(batch, channels, frames, height * width)``
it is a ``(k, 1)`` 2D convolution, which runs on the oneDNN kernel (cuDNN on CUDA) with the same
weights, bias and zero padding over frames; the results differ from the 3D kernel's by float
reordering only (about 4e-7 relative). :func:`use_frame_conv2d` switches a model's eligible
``Conv3d`` modules to :class:`FrameConv3d` in place; parameters and state-dict keys stay as they
are, so it works before or after loading, on the meta device too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FrameConv3d(nn.Conv3d):
    """A ``Conv3d`` with a ``(k, 1, 1)`` kernel, stride 1 and zero padding over frames only, run as a 2D one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        weight = self.weight[..., 0]  # (out, in, k, 1)
        y = F.conv2d(x.reshape(b, c, t, h * w), weight, self.bias, padding=(self.padding[0], 0))
        o, t = y.shape[1], y.shape[2]
        if b == 1 and y.stride(1) == 1:
            # channels-last (weights made so by :mod:`.memory_format`): give the size-1 batch dimension its
            # canonical stride, or the group norm that follows falls back to the contiguous layout
            return y.as_strided((1, o, t, h, w), (o * t * h * w, 1, h * w * o, w * o, o))
        return y.view(b, o, t, h, w)


def _eligible(m: nn.Module) -> bool:
    return (type(m) is nn.Conv3d and m.kernel_size[1:] == (1, 1) and m.stride == (1, 1, 1)
            and m.dilation == (1, 1, 1) and m.groups == 1 and m.padding_mode == "zeros"
            and not isinstance(m.padding, str) and tuple(m.padding[1:]) == (0, 0))


def use_frame_conv2d(model: nn.Module) -> int:
    """Make every frame-only ``Conv3d`` of ``model`` a :class:`FrameConv3d`; returns how many."""
    n = 0
    for m in model.modules():
        if _eligible(m):
            m.__class__ = FrameConv3d
            n += 1
    return n
