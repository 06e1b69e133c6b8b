"""A contact sheet: evenly spaced frames of a clip in a labelled grid."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from studio.core.errors import StudioError
from studio.media.atomic import atomic_target

BACKGROUND = (24, 24, 28)
LABEL = (235, 235, 235)


class FrameSource(Protocol):
    """Anything with ``frame_count``, ``fps`` and ``read(i)`` (VideoReader, PngSequence)."""

    frame_count: int
    fps: float

    def read(self, index: int) -> np.ndarray: ...


def sheet_indices(frame_count: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly from the first to the last frame (fewer if the
    clip is shorter)."""
    if frame_count < 1 or count < 1:
        raise StudioError("Cannot make a contact sheet", f"Need at least one frame and count >= 1 (got {count}).")
    if count == 1:
        return [0]
    picks = np.round(np.linspace(0, frame_count - 1, min(count, frame_count))).astype(int)
    return sorted(set(int(i) for i in picks))


def contact_sheet(source: FrameSource, count: int = 8, cols: int = 4, thumb_width: int = 320,
                  gap: int = 8) -> np.ndarray:
    """A ``(H, W, 3)`` uint8 grid of ``count`` evenly spaced frames, each labelled with its
    frame number and time."""
    if cols < 1 or thumb_width < 16:
        raise StudioError("Cannot make a contact sheet", f"cols ({cols}) must be >= 1 and thumb width ({thumb_width}) >= 16.")
    indices = sheet_indices(source.frame_count, count)
    first = source.read(indices[0])
    thumb_height = max(1, round(first.shape[0] * thumb_width / first.shape[1]))
    font = ImageFont.load_default(size=max(10, thumb_width // 20))
    label_height = int(font.size * 1.6)
    cols = min(cols, len(indices))
    rows = -(-len(indices) // cols)
    cell_w, cell_h = thumb_width, thumb_height + label_height
    sheet = Image.new("RGB", (gap + cols * (cell_w + gap), gap + rows * (cell_h + gap)), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for k, index in enumerate(indices):
        frame = first if k == 0 else source.read(index)
        thumb = Image.fromarray(frame).resize((thumb_width, thumb_height), Image.Resampling.LANCZOS)
        x = gap + (k % cols) * (cell_w + gap)
        y = gap + (k // cols) * (cell_h + gap)
        sheet.paste(thumb, (x, y))
        seconds = index / source.fps
        draw.text((x + 2, y + thumb_height + label_height // 5), f"frame {index}  ({seconds:.2f} s)",
                  fill=LABEL, font=font)
    return np.asarray(sheet)


def save_image(pixels: np.ndarray, path: str | Path) -> Path:
    """Write an RGB image atomically; the format follows the extension (.png, .jpg, .webp)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise StudioError(
            f"Cannot write {path.name}",
            f"The extension {path.suffix!r} is not an image format the studio writes; use .png, .jpg or .webp.",
        )
    options = {} if path.suffix.lower() == ".png" else {"quality": 92}
    with atomic_target(path) as tmp:
        Image.fromarray(pixels).save(tmp, **options)
    return path
