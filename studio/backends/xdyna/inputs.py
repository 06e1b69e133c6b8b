"""Turning the caller's uint8 images into what the X-Dyna models consume.

* :func:`fit_reference` -- the official ``imread_resize_crop``: centre-crop to the render
  aspect, then a bilinear resize to ``(width, height)``.
* :class:`ConditionFrames` -- ControlNet conditions, normalised as the official
  ``VaeImageProcessor.preprocess`` + ``prepare_condition`` do: ``P = png / 255 * 2 - 1`` (after a
  Lanczos resize when the size differs), then ``(P - P.min()) / (P.max() - P.min())`` with the
  min and max taken over the *whole clip*. The frames stay uint8 on the CPU and are normalised
  on demand, a window at a time, so long clips need no float copy of every condition.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from PIL import Image

from studio.core.errors import StudioError


def as_frames(frames: np.ndarray | Sequence[np.ndarray], what: str) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 from an array or a list of ``(H, W, 3)`` frames."""
    arr = np.asarray(frames) if not isinstance(frames, np.ndarray) else frames
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.shape[0] < 1:
        raise StudioError(
            "Invalid conditioning frames",
            f"The {what} frames have shape {tuple(arr.shape)}; expected (frames, height, width, 3) RGB.",
        )
    if arr.dtype != np.uint8:
        raise StudioError("Invalid conditioning frames", f"The {what} frames are {arr.dtype}; expected uint8 RGB.")
    return arr


def fit_reference(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """The reference photo centre-cropped to ``width/height`` and resized, ``(H, W, 3)`` uint8."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise StudioError(
            "Invalid reference image",
            f"The reference image has shape {tuple(image.shape)} and type {image.dtype}; expected (H, W, 3) uint8 RGB.",
        )
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    target = width / height
    if w / h > target:
        new_w = int(target * h)
        x0 = (w - new_w) // 2
        image = image[:, x0 : x0 + new_w]
    else:
        new_h = int(w / target)
        y0 = (h - new_h) // 2
        image = image[y0 : y0 + new_h]
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=cv2.INTER_LINEAR)


def _resize_lanczos(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize((width, height), Image.LANCZOS)) for f in frames])


class ConditionFrames:
    """One or more uint8 image streams concatenated along channels, normalised per stream.

    ``streams`` are ``(N, H, W, 3)`` uint8 each (pose: one stream; S-Face: local then global).
    """

    def __init__(self, streams: Sequence[np.ndarray], height: int, width: int) -> None:
        self.streams = [_resize_lanczos(s, height, width) for s in streams]
        self.ranges = []
        for s in self.streams:
            lo = float(np.float32(s.min()) / np.float32(255.0) * 2 - 1)
            hi = float(np.float32(s.max()) / np.float32(255.0) * 2 - 1)
            self.ranges.append((lo, hi))

    @property
    def n_frames(self) -> int:
        """Frames in the clip."""
        return self.streams[0].shape[0]

    @property
    def channels(self) -> int:
        """Channels handed to the ControlNet (3 per stream)."""
        return 3 * len(self.streams)

    def get(self, indices: Sequence[int], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """Normalised conditions of frames ``indices``, ``(len, channels, H, W)``.

        A stream with a single value everywhere (e.g. no face in the whole clip) becomes zeros
        instead of the official 0/0.
        """
        idx = list(indices)
        parts = []
        for s, (lo, hi) in zip(self.streams, self.ranges):
            p = _to_device(torch.from_numpy(np.ascontiguousarray(s[idx])), torch.device(device))
            p = p.permute(0, 3, 1, 2).float() / 255.0 * 2 - 1
            parts.append((p - lo) / (hi - lo) if hi > lo else torch.zeros_like(p))
        return torch.cat(parts, dim=1).to(dtype)


def _to_device(frames: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host uint8 frames to ``device``; to CUDA through pinned memory without waiting for the GPU
    (the denoising loop calls this for every window)."""
    if device.type == "cuda":
        return frames.pin_memory().to(device, non_blocking=True)
    return frames.to(device)
