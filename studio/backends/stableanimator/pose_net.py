"""StableAnimator's PoseNet: a small strided conv net from pose images to UNet-width features.

Eight 3x3/4x4 convolutions with SiLU take a (frames, 3, H, W) pose image in [-1, 1] to
(frames, 128, H/8, W/8); a 1x1 projection maps that to the UNet's first block width, and a learned
scalar scales the result. The features are added to the UNet's ``conv_in`` output in the
conditional pass only. Parameter names follow the official ``Animation/pose_net.pth``
(``conv_layers.<i>``, ``final_proj``, ``scale``).
"""

from __future__ import annotations

import torch
from torch import nn

#: (in, out, kernel, stride) of the convolutions, each followed by SiLU.
CONVS = ((3, 3, 3, 1), (3, 16, 4, 2), (16, 16, 3, 1), (16, 32, 4, 2),
         (32, 32, 3, 1), (32, 64, 4, 2), (64, 64, 3, 1), (64, 128, 3, 1))


class PoseNet(nn.Module):
    """Pose images (frames, 3, H, W) in [-1, 1] -> features (frames, channels, H/8, W/8)."""

    def __init__(self, channels: int = 320) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout, k, s in CONVS:
            layers += [nn.Conv2d(cin, cout, kernel_size=k, stride=s, padding=1), nn.SiLU()]
        self.conv_layers = nn.Sequential(*layers)
        self.final_proj = nn.Conv2d(128, channels, kernel_size=1)
        self.scale = nn.Parameter(torch.full((1,), 2.0))

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        """``pose`` (frames, 3, H, W) or (batch, frames, 3, H, W) -> (batch*frames, C, H/8, W/8)."""
        if pose.ndim == 5:
            pose = pose.flatten(0, 1)
        return self.final_proj(self.conv_layers(pose)) * self.scale
