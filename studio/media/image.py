"""Loading the reference photo (or any still) as 8-bit RGB with Pillow.

EXIF orientation is applied, transparency is flattened onto a background (or kept on
request), 16-bit / grayscale / palette / CMYK inputs become 8-bit RGB, and images that are
too large (or decompression bombs) or too small are refused with a message saying the limit.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.core.errors import StudioError
from studio.media.ffmpeg import check_readable_file

log = logging.getLogger(__name__)

#: Largest accepted image, in pixels (40 megapixels).
MAX_PIXELS = 40_000_000
#: Smallest accepted side, in pixels.
MIN_SIDE = 64


@dataclass
class LoadedImage:
    """An image decoded to ``uint8`` RGB (``(H, W, 3)``) or RGBA (``(H, W, 4)``).

    ``notes`` lists what was changed on the way (rotation from EXIF, flattened alpha, bit
    depth reduction, first frame of an animation) so the GUI can tell the user.
    """

    path: Path
    pixels: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.pixels.shape[1], self.pixels.shape[0]


def _error(path: Path, description: str, details: str = "") -> StudioError:
    return StudioError(f"Cannot use the image {path.name}", description, details)


def _to_uint8(im: Image.Image, notes: list[str]) -> Image.Image:
    """Reduce high-bit-depth modes (I;16, I, F) to 8-bit ``L``."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(im)
        if im.mode == "F":
            arr = arr.astype(np.float64)
            scale = 255.0 if np.nanmax(arr) <= 1.0 else 1.0
            arr = np.clip(np.nan_to_num(arr) * scale, 0, 255)
        else:
            arr = np.clip(arr.astype(np.float64) / 257.0, 0, 255)
        notes.append(f"converted {im.mode} to 8 bits per channel")
        return Image.fromarray(np.round(arr).astype(np.uint8), "L")
    return im


def load_image(
    path: str | Path,
    keep_alpha: bool = False,
    background: tuple[int, int, int] = (255, 255, 255),
    max_pixels: int = MAX_PIXELS,
    min_side: int = MIN_SIDE,
) -> LoadedImage:
    """Decode ``path`` into a :class:`LoadedImage` of 8-bit RGB (RGBA with ``keep_alpha``).

    Raises :class:`StudioError` for missing, empty, unreadable, too large (more than
    ``max_pixels``) and too small (a side under ``min_side``) images.
    """
    path = check_readable_file(Path(path), kind="image")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _error(
            path,
            f"{path} declares a gigantic size; the limit is {max_pixels / 1e6:g} megapixels. "
            "Resize it in an image editor first.",
            str(err),
        ) from err
    except UnidentifiedImageError as err:
        raise _error(
            path,
            f"{path} is not an image Pillow can read (or it is damaged). "
            "Save it as PNG or JPEG and try again.",
            str(err),
        ) from err
    except (OSError, SyntaxError, ValueError) as err:  # a header cut off or damaged
        raise _error(
            path,
            f"{path} could not be read; the file is truncated or damaged. Copy or export it again.",
            str(err),
        ) from err
    with im:
        w, h = im.size
        if w * h > max_pixels:
            raise _error(
                path,
                f"{path} is {w}x{h} ({w * h / 1e6:.1f} megapixels); the limit is "
                f"{max_pixels / 1e6:g} megapixels. Resize it to at most about 2000 pixels per side.",
            )
        if min(w, h) < min_side:
            raise _error(
                path,
                f"{path} is only {w}x{h} pixels; each side must be at least {min_side} pixels. "
                "Use a larger photo of the person.",
            )
        if getattr(im, "is_animated", False) and getattr(im, "n_frames", 1) > 1:
            notes.append(f"animated image with {im.n_frames} frames: using the first frame")
            im.seek(0)
        try:
            im.load()
            orientation = im.getexif().get(0x0112, 1)
            oriented = ImageOps.exif_transpose(im)
        except (OSError, SyntaxError, ValueError) as err:
            raise _error(
                path,
                f"{path} could not be decoded; the file is truncated or damaged. "
                "Copy or export it again.",
                str(err),
            ) from err
        if orientation not in (None, 1):
            notes.append("rotated according to its EXIF orientation")
        pixels = _convert(oriented, keep_alpha, background, notes)
    for note in notes:
        log.info("%s: %s", path.name, note)
    return LoadedImage(path=path, pixels=pixels, notes=notes)


def _convert(im: Image.Image, keep_alpha: bool, background: tuple[int, int, int], notes: list[str]) -> np.ndarray:
    """Any Pillow mode -> contiguous uint8 RGB or RGBA array."""
    im = _to_uint8(im, notes)
    if im.mode == "CMYK":
        notes.append("converted from CMYK to RGB")
        im = im.convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info
    )
    im = im.convert("RGBA" if has_alpha else "RGB")
    if not has_alpha:
        return np.ascontiguousarray(np.asarray(im, dtype=np.uint8))
    rgba = np.asarray(im, dtype=np.uint8)
    if keep_alpha:
        return np.ascontiguousarray(rgba)
    if rgba[..., 3].min() < 255:
        notes.append("transparent areas flattened onto " + ("white" if background == (255, 255, 255) else str(background)))
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    bg = np.asarray(background, np.float32)
    out = rgba[..., :3].astype(np.float32) * alpha + bg * (1.0 - alpha)
    return np.round(out).astype(np.uint8)


def read_image(path: str | Path, **kwargs: object) -> np.ndarray:
    """Shorthand for ``load_image(path, **kwargs).pixels``."""
    return load_image(path, **kwargs).pixels  # type: ignore[arg-type]
