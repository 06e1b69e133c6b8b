"""Bad-input corpus, reference photos: every case is a clear StudioError or a correct RGB uint8 load."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from robust_helpers import assert_clear, gradient, png_header_only
from studio.core.errors import StudioError
from studio.media.image import load_image


def _png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def _empty(d: Path) -> Path:
    p = d / "empty.png"
    p.write_bytes(b"")
    return p


def _truncated_png(d: Path) -> Path:
    p = d / "cut.png"
    data = _png_bytes(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8))
    p.write_bytes(data[: len(data) // 3])
    return p


def _truncated_jpeg(d: Path) -> Path:
    p = d / "cut.jpg"
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)).save(buf, "JPEG")
    p.write_bytes(buf.getvalue()[:300])
    return p


def _text_as_jpeg(d: Path) -> Path:
    p = d / "holiday.jpg"
    p.write_text("Dear diary, today I took a photo.\n" * 40)
    return p


def _random_bytes_as_png(d: Path) -> Path:
    p = d / "noise.png"
    p.write_bytes(np.random.default_rng(2).integers(0, 255, 5000, np.uint8).tobytes())
    return p


def _damaged_pixels(d: Path) -> Path:
    p = d / "damaged.png"
    data = bytearray(_png_bytes(np.random.default_rng(3).integers(0, 255, (120, 120, 3), np.uint8)))
    start = data.index(b"IDAT") + 40
    data[start:start + 400] = b"\xff" * 400  # valid header, scrambled compressed pixels
    p.write_bytes(bytes(data))
    return p


def _one_pixel(d: Path) -> Path:
    p = d / "dot.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(p)
    return p


def _huge(d: Path) -> Path:
    return png_header_only(d / "huge.png", 20000, 20000)


def _folder(d: Path) -> Path:
    p = d / "folder.png"
    p.mkdir()
    return p


def _missing(d: Path) -> Path:
    return d / "moved_away.jpg"


ERROR_CASES: dict[str, Callable[[Path], Path]] = {
    "empty": _empty,
    "truncated-png": _truncated_png,
    "truncated-jpeg": _truncated_jpeg,
    "text-with-jpg-extension": _text_as_jpeg,
    "random-bytes": _random_bytes_as_png,
    "damaged-pixel-data": _damaged_pixels,
    "1x1": _one_pixel,
    "20000x20000": _huge,
    "folder-named-png": _folder,
    "missing": _missing,
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_image_is_a_clear_error(tmp_path: Path, case: str) -> None:
    path = ERROR_CASES[case](tmp_path)
    with pytest.raises(StudioError) as info:
        load_image(path)
    assert_clear(info.value, path.name)


# -- inputs that are fine: they must load correctly as RGB uint8 ---------------------------------------
def _check_rgb8(pixels: np.ndarray, h: int, w: int) -> None:
    assert pixels.dtype == np.uint8 and pixels.shape == (h, w, 3) and pixels.flags.c_contiguous


def test_png_with_a_jpg_extension_loads(tmp_path: Path) -> None:
    src = gradient()
    path = tmp_path / "really_a_png.jpg"
    path.write_bytes(_png_bytes(src))
    pixels = load_image(path).pixels
    _check_rgb8(pixels, *src.shape[:2])
    assert np.array_equal(pixels, src)


def test_cmyk_jpeg_loads_as_rgb(tmp_path: Path) -> None:
    src = gradient()
    path = tmp_path / "print.jpg"
    Image.fromarray(src).convert("CMYK").save(path, "JPEG", quality=95)
    img = load_image(path)
    _check_rgb8(img.pixels, *src.shape[:2])
    assert np.abs(img.pixels.astype(int) - src).mean() < 8  # the colours survive, not inverted
    assert any("CMYK" in n for n in img.notes)


def test_16_bit_gray_png_loads_as_rgb(tmp_path: Path) -> None:
    ramp = (np.linspace(0, 65535, 96 * 80).reshape(96, 80)).astype(np.uint16)
    path = tmp_path / "scan16.png"
    cv2.imwrite(str(path), ramp)
    pixels = load_image(path).pixels
    _check_rgb8(pixels, 96, 80)
    expected = np.round(ramp / 257.0)
    assert np.abs(pixels[..., 0].astype(int) - expected).max() <= 1
    assert np.array_equal(pixels[..., 0], pixels[..., 2])


def test_16_bit_rgb_png_loads_as_rgb(tmp_path: Path) -> None:
    src = gradient()
    path = tmp_path / "raw16.png"
    cv2.imwrite(str(path), cv2.cvtColor(src.astype(np.uint16) * 257, cv2.COLOR_RGB2BGR))
    pixels = load_image(path).pixels
    _check_rgb8(pixels, *src.shape[:2])
    assert np.abs(pixels.astype(int) - src).max() <= 1  # not channel-swapped, not clipped


@pytest.mark.parametrize("fmt", ["GIF", "PNG"])
def test_animated_image_loads_its_first_frame(tmp_path: Path, fmt: str) -> None:
    frames = [np.full((72, 72, 3), v, np.uint8) for v in (30, 200, 120)]
    path = tmp_path / f"wave.{fmt.lower()}"
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, fmt, save_all=True, append_images=ims[1:], duration=100, loop=0)
    img = load_image(path)
    _check_rgb8(img.pixels, 72, 72)
    assert np.abs(img.pixels.astype(int) - 30).max() <= 2
    assert any("first frame" in n for n in img.notes)


def test_transparent_png_is_flattened_to_rgb(tmp_path: Path) -> None:
    rgba = np.zeros((80, 80, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:40, :, 3] = 255  # top half opaque red, bottom half fully transparent
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    pixels = load_image(path).pixels
    _check_rgb8(pixels, 80, 80)
    assert (pixels[:40] == (255, 0, 0)).all() and (pixels[40:] == 255).all()
