"""Synthetic media for the media tests: videos whose frames encode their own index."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from studio.media.ffmpeg import ffmpeg_exe

BITS = 10  # frame indices up to 1023
BLOCK = 16


def index_frame(i: int, width: int = 192, height: int = 96) -> np.ndarray:
    """A frame whose top row of 16x16 blocks spells ``i`` in binary (white = 1)."""
    frame = np.full((height, width, 3), 64, np.uint8)
    for bit in range(BITS):
        value = 255 if (i >> bit) & 1 else 0
        frame[:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = value
    # a smooth moving gradient below, so encoders see real motion
    yy, xx = np.mgrid[BLOCK:height, 0:width]
    frame[BLOCK:, :, 1] = ((xx + 3 * i) % 256).astype(np.uint8)
    frame[BLOCK:, :, 2] = ((yy * 2) % 256).astype(np.uint8)
    return frame


def decode_index(frame: np.ndarray) -> int:
    """Read back the index written by :func:`index_frame` (robust to lossy coding)."""
    value = 0
    for bit in range(BITS):
        block = frame[2:BLOCK - 2, bit * BLOCK + 2:(bit + 1) * BLOCK - 2]
        if block.mean() > 128:
            value |= 1 << bit
    return value


def encode_with_ffmpeg(frames: list[np.ndarray], path: Path, fps: float = 25,
                       args: tuple[str, ...] = ("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "12")) -> Path:
    """Encode frames with ffmpeg directly (independent of the studio's exporters)."""
    h, w = frames[0].shape[:2]
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", *args, str(path)]
    subprocess.run(cmd, input=b"".join(np.ascontiguousarray(f).tobytes() for f in frames), check=True)
    return path


@pytest.fixture(scope="session")
def index_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 25 fps H.264 MP4 of 120 index frames with a keyframe every 12 frames."""
    path = tmp_path_factory.mktemp("video") / "index.mp4"
    return encode_with_ffmpeg([index_frame(i) for i in range(120)], path)


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_video(name, n, fps=25, args=...)`` encodes ``n`` index frames."""

    def make(name: str, n: int, fps: float = 25, **kwargs) -> Path:
        return encode_with_ffmpeg([index_frame(i) for i in range(n)], tmp_path / name, fps, **kwargs)

    return make
