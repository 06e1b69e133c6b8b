"""Channels-last convolution weights for the CPU: oneDNN's native layout, the same arithmetic.

On the CPU PyTorch runs convolutions through oneDNN, whose kernels work channels-innermost. With
contiguous (NCHW) weights and activations every convolution reorders its input into that layout and
its output back. A convolution with a channels-last weight returns a channels-last result, and the
elementwise ops, group norms, upsamplings and residual adds between convolutions keep that layout,
so once the weights are channels-last the activations stay in it and the reorders go. Measured
with one thread: a 3x3 convolution of (4, 32, 64, 64) 2.22 -> 1.69 ms, of (4, 64, 128, 128)
45.3 -> 26.7 ms. Group norm is slower channels-last (0.21 -> 0.32 ms at (4, 32, 64, 64),
0.085 -> 0.47 ms at (64, 32, 8, 8)), so the pipeline switches the VAE decoder, whose levels are
wide and convolution-bound (a decode chunk of the tiny case 46 -> 40 ms), and leaves the UNet
contiguous. Every op must see one layout: an add of a contiguous and a channels-last tensor
costs 30x a plain one. The values are the same up to float reordering inside the kernels (checked
in tests/stableanimator/test_hot_path.py). :func:`use_channels_last` makes every 2D convolution's
weight, and every frame-only 3D one's (:class:`~.temporal_conv.FrameConv3d`, run as 2D),
channels-last in place; state-dict keys and values are unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from studio.backends.stableanimator.temporal_conv import FrameConv3d


def use_channels_last(model: nn.Module) -> int:
    """Make the weights of ``model``'s ``Conv2d`` and :class:`FrameConv3d` modules channels-last; returns how many."""
    n = 0
    for m in model.modules():
        if type(m) is nn.Conv2d:
            fmt = torch.channels_last
        elif type(m) is FrameConv3d:
            fmt = torch.channels_last_3d  # weight[..., 0], the 2D kernel it runs, is then channels-last
        else:
            continue
        m.weight.data = m.weight.data.contiguous(memory_format=fmt)
        n += 1
    return n
