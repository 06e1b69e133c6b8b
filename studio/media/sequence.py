"""Reading a PNG-sequence folder (``frame_00000.png`` ...) like a video."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from studio.core.errors import StudioError
from studio.media.image import read_image

_FRAME = re.compile(r"frame_(\d+)\.png", re.IGNORECASE)


class PngSequence:
    """The numbered PNG frames of a folder, with the :class:`~studio.media.video.VideoReader`
    interface (``fps``, ``frame_count``, ``size``, ``read(i)``, iteration, ``close()``).

    A folder has no frame rate of its own: ``fps`` is what the caller says (default 25).
    Raises :class:`StudioError` if the folder is missing, holds no frames, or has gaps.
    """

    def __init__(self, folder: str | Path, fps: float = 25.0) -> None:
        self.path = Path(folder)
        if not self.path.is_dir():
            raise StudioError(
                f"Cannot find the frame folder {self.path.name}",
                f"{self.path} is not a folder. Pick the folder that holds frame_00000.png ...",
            )
        numbered = sorted((int(m.group(1)), p) for p in self.path.iterdir() if (m := _FRAME.fullmatch(p.name)))
        if not numbered:
            raise StudioError(
                f"No frames in {self.path.name}",
                f"{self.path} holds no files named frame_00000.png, frame_00001.png, ... "
                "Pick a folder written by the studio's PNG-sequence export.",
            )
        first = numbered[0][0]
        missing = sorted(set(range(first, numbered[-1][0] + 1)) - {n for n, _ in numbered})
        if missing:
            raise StudioError(
                f"Frames are missing in {self.path.name}",
                f"{self.path} has no frame {missing[0]} ({len(missing)} missing in all); a sequence "
                "must be numbered without gaps. Restore or re-export the missing frames.",
            )
        self._files = [p for _, p in numbered]
        if not fps > 0:
            raise StudioError("Invalid frame rate", f"The frame rate {fps!r} for {self.path} must be positive.")
        self.fps = float(fps)
        first_frame = self.read(0)
        self.size: tuple[int, int] = (first_frame.shape[1], first_frame.shape[0])

    @property
    def frame_count(self) -> int:
        """Number of frames in the folder."""
        return len(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H, W, 3)`` uint8 RGB."""
        if not 0 <= index < len(self._files):
            raise StudioError(
                f"No frame {index} in {self.path.name}",
                f"{self.path} has frames 0 to {len(self._files) - 1}; frame {index} was asked for.",
            )
        frame = read_image(self._files[index], min_side=1)
        if index and frame.shape[1::-1] != self.size:
            raise StudioError(
                f"Frame sizes differ in {self.path.name}",
                f"{self._files[index].name} is {frame.shape[1]}x{frame.shape[0]} but the first frame is "
                f"{self.size[0]}x{self.size[1]}. All frames must have the same size.",
            )
        return frame

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.read(i) for i in range(len(self._files)))

    def close(self) -> None:
        """Nothing to release; present for interface parity with the video reader."""

    def __enter__(self) -> "PngSequence":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
