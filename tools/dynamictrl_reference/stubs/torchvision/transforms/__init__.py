"""Minimal ``torchvision.transforms`` for the DynamiCtrl reference harness (see the package)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


class Compose:
    """Applies the transforms in order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class Lambda:
    """Wraps a function."""

    def __init__(self, fn: Callable) -> None:
        self.fn = fn

    def __call__(self, x):
        return self.fn(x)


class Normalize:
    """(x - mean) / std per channel, in place when asked (as torchvision)."""

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.as_tensor(self.mean, dtype=x.dtype).view(-1, 1, 1)
        std = torch.as_tensor(self.std, dtype=x.dtype).view(-1, 1, 1)
        if self.inplace:
            return x.sub_(mean).div_(std)
        return (x - mean) / std


class Resize:
    """Identity at the requested size; any real resize is refused (not reproduced here)."""

    def __init__(self, size) -> None:
        self.size = list(size) if isinstance(size, (list, tuple)) else [size]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if list(x.shape[-2:]) == self.size:
            return x
        raise NotImplementedError(f"stub Resize: {tuple(x.shape[-2:])} -> {self.size}; pass frames at the target size")
