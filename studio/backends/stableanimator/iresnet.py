"""ArcFace iresnet in torch: the face-embedding network of StableAnimator's HJB face optimisation.

The official pro path (``inference_op.py``) embeds 112x112 face crops with insightface's torch
``iresnet100`` and the release file ``Animation/glintr100_torch.pth`` (a plain state dict, loaded
here with ``weights_only`` and memory-mapped). Our module has the same parameter names, so the
file loads as published:

* stem ``conv1`` (3x3, no bias) -> ``bn1`` -> ``prelu``;
* ``layer1..layer4`` of improved basic blocks ``bn1 -> conv1 (3x3) -> bn2 -> prelu -> conv2 (3x3,
  the stride) -> bn3`` plus the input (through ``downsample`` = 1x1 conv + BN where the shape
  changes), each layer halving the size: 112 -> 7;
* ``bn2`` -> flatten -> ``fc`` (width x 7 x 7 -> 512) -> ``features`` (BatchNorm1d).

iresnet100 is ``(3, 13, 30, 3)`` blocks of widths ``(64, 128, 256, 512)``. :func:`load_arcface`
reads the depth and widths from the file's keys, so the real file builds iresnet100 and a tiny
test file (fewer blocks, narrower) builds its own small net; the arithmetic is the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from studio.backends.stableanimator.layout import ARCFACE_FILE
from studio.backends.xdyna.loading import check_state_dict, empty_parameters, read_state_dict
from studio.core.errors import StudioError

#: Blocks per layer of iresnet100 (the release's glintr100).
IRESNET100_LAYERS = (3, 13, 30, 3)
#: Channel widths of the four layers of insightface's iresnets.
IRESNET_WIDTHS = (64, 128, 256, 512)
#: The crop size the network expects (four stride-2 layers: 112 -> 7).
FACE_SIZE = 112


class IBlock(nn.Module):
    """Improved residual block (pre-BN, PReLU inside, BN after the second convolution)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes, eps=1e-5)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=1e-5)
        self.prelu = nn.PReLU(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes, eps=1e-5)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes, eps=1e-5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (x if self.downsample is None else self.downsample(x))


class IResNet(nn.Module):
    """ArcFace iresnet: (N, 3, 112, 112) crops in [-1, 1] -> (N, 512) raw embeddings."""

    def __init__(self, layers: tuple[int, ...] = IRESNET100_LAYERS, widths: tuple[int, ...] = IRESNET_WIDTHS,
                 stem: int | None = None, embedding: int = 512) -> None:
        super().__init__()
        stem = widths[0] if stem is None else stem
        self.conv1 = nn.Conv2d(3, stem, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem, eps=1e-5)
        self.prelu = nn.PReLU(stem)
        inplanes = stem
        for i, (blocks, width) in enumerate(zip(layers, widths), start=1):
            mods = [IBlock(inplanes, width, stride=2)] + [IBlock(width, width) for _ in range(blocks - 1)]
            self.add_module(f"layer{i}", nn.Sequential(*mods))
            inplanes = width
        side = FACE_SIZE // 2 ** len(layers)
        self.bn2 = nn.BatchNorm2d(inplanes, eps=1e-5)
        self.fc = nn.Linear(inplanes * side * side, embedding)
        self.features = nn.BatchNorm1d(embedding, eps=1e-5)
        self.layers = tuple(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prelu(self.bn1(self.conv1(x)))
        for i in range(1, len(self.layers) + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.features(self.fc(torch.flatten(self.bn2(x), 1)))


def arch_from_keys(sd: dict[str, torch.Tensor]) -> dict:
    """``IResNet`` arguments (blocks per layer, widths, stem, embedding width) of a state dict."""
    blocks: dict[int, int] = {}
    for key in sd:
        m = re.match(r"layer(\d+)\.(\d+)\.conv1\.weight$", key)
        if m:
            layer, block = int(m.group(1)), int(m.group(2))
            blocks[layer] = max(blocks.get(layer, 0), block + 1)
    if sorted(blocks) != [1, 2, 3, 4] or "conv1.weight" not in sd or "fc.weight" not in sd:
        raise ValueError("not an iresnet state dict (layer1..layer4, conv1 and fc expected)")
    widths = tuple(int(sd[f"layer{i}.0.conv1.weight"].shape[0]) for i in range(1, 5))
    return {"layers": tuple(blocks[i] for i in range(1, 5)), "widths": widths,
            "stem": int(sd["conv1.weight"].shape[0]), "embedding": int(sd["fc.weight"].shape[0])}


def arcface_path(folder: str | Path) -> Path:
    """Where a weights folder keeps the torch ArcFace weights."""
    return Path(folder) / ARCFACE_FILE


def load_arcface(path: str | Path) -> IResNet:
    """The iresnet of ``path`` (``glintr100_torch.pth`` as published) on the CPU, eval mode, frozen.

    A missing file, a file that is not an iresnet state dict, or one whose keys or shapes do not
    fit raises a :class:`StudioError` naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise StudioError("ArcFace weights not found",
                          f"{path} does not exist. StableAnimator's HJB face optimisation embeds the rendered faces "
                          f"with the release's {Path(ARCFACE_FILE).name} (Animation/ of FrancisRing/StableAnimator): "
                          "put it there, or switch HJB off.")
    sd = read_state_dict(path)
    try:
        arch = arch_from_keys(sd)
    except (ValueError, KeyError, IndexError) as err:
        raise StudioError("Wrong ArcFace weights", f"{path} is not the torch iresnet ArcFace "
                          f"({Path(ARCFACE_FILE).name}) StableAnimator's HJB path needs. Download it again.",
                          str(err)) from err
    with empty_parameters():
        model = IResNet(**arch)
    try:
        sd = check_state_dict(model, sd, path)
    except StudioError as err:
        raise StudioError(err.title, err.description.replace("X-Dyna release", "StableAnimator release"),
                          err.details) from err
    model.load_state_dict(sd, strict=True, assign=True)
    return model.requires_grad_(False).eval()
