"""load_image: orientation, alpha, bit depths, colour modes, size limits, animations."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.media.image import MAX_PIXELS, load_image, read_image


def gradient(w: int = 120, h: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), np.full_like(xx, 90)], -1).astype(np.uint8)


def test_plain_rgb_png(tmp_path: Path) -> None:
    src = gradient()
    Image.fromarray(src).save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    assert img.pixels.dtype == np.uint8 and img.pixels.shape == (80, 120, 3)
    assert np.array_equal(img.pixels, src)
    assert img.notes == [] and img.size == (120, 80)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    src = gradient()
    im = Image.fromarray(src)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    img = load_image(tmp_path / "phone.jpg")
    assert img.pixels.shape == (120, 80, 3)
    expected = np.rot90(src, k=-1)
    assert np.abs(img.pixels.astype(int) - expected).mean() < 4
    assert any("EXIF" in n for n in img.notes)


def test_alpha_flattened_on_white_or_kept(tmp_path: Path) -> None:
    rgba = np.zeros((70, 70, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:35, :, 3] = 255  # top half opaque red, bottom half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    flat = read_image(tmp_path / "cut.png")
    assert flat.shape == (70, 70, 3)
    assert tuple(flat[10, 10]) == (200, 0, 0)
    assert tuple(flat[60, 10]) == (255, 255, 255)
    kept = load_image(tmp_path / "cut.png", keep_alpha=True)
    assert kept.pixels.shape == (70, 70, 4) and kept.pixels[60, 10, 3] == 0
    grey = read_image(tmp_path / "cut.png", background=(128, 128, 128))
    assert tuple(grey[60, 10]) == (128, 128, 128)


def test_sixteen_bit_grayscale(tmp_path: Path) -> None:
    arr = (np.linspace(0, 65535, 100 * 90).reshape(90, 100)).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "deep.png")
    img = load_image(tmp_path / "deep.png")
    assert img.pixels.shape == (90, 100, 3) and img.pixels.dtype == np.uint8
    assert img.pixels[0, 0, 0] == 0 and img.pixels[-1, -1, 0] == 255
    assert np.all(img.pixels[..., 0] == img.pixels[..., 2])
    assert np.abs(img.pixels[..., 0].astype(int) - np.round(arr / 257.0)).max() <= 1


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_sixteen_bit_rgb(tmp_path: Path, suffix: str) -> None:
    import cv2

    rgb16 = np.linspace(0, 65535, 100 * 80 * 3).reshape(80, 100, 3).astype(np.uint16)
    cv2.imwrite(str(tmp_path / f"deep{suffix}"), rgb16[..., ::-1])  # OpenCV writes BGR
    img = read_image(tmp_path / f"deep{suffix}")
    assert img.dtype == np.uint8 and img.shape == (80, 100, 3)
    assert np.abs(img.astype(int) - np.round(rgb16 / 257.0)).max() <= 1


def test_grayscale_and_palette(tmp_path: Path) -> None:
    grey = gradient()[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (80, 120, 3) and np.array_equal(out[..., 1], grey)
    Image.fromarray(gradient()).convert("P").save(tmp_path / "p.gif")
    assert read_image(tmp_path / "p.gif").shape == (80, 120, 3)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    Image.fromarray(gradient()).convert("CMYK").save(tmp_path / "print.jpg", quality=95)
    img = load_image(tmp_path / "print.jpg")
    assert img.pixels.shape == (80, 120, 3)
    assert np.abs(img.pixels.astype(int) - gradient()).mean() < 12
    assert any("CMYK" in n for n in img.notes)


def test_animated_gif_gives_first_frame_with_note(tmp_path: Path) -> None:
    frames = [Image.fromarray(np.full((80, 80, 3), v, np.uint8)) for v in (10, 200, 90)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    img = load_image(tmp_path / "anim.gif")
    assert abs(int(img.pixels.mean()) - 10) <= 2
    assert any("first frame" in n and "3 frames" in n for n in img.notes)


def test_tiny_image_refused_with_limit(tmp_path: Path) -> None:
    Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
    with pytest.raises(StudioError, match="at least 64 pixels"):
        load_image(tmp_path / "dot.png")


def _png_with_declared_size(path: Path, w: int, h: int) -> None:
    """A small PNG whose header claims ``w x h`` (the pixel data is never decoded)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_huge_image_refused_with_limit(tmp_path: Path) -> None:
    _png_with_declared_size(tmp_path / "big.png", 8000, 6000)  # 48 MP
    with pytest.raises(StudioError, match="limit is 40 megapixels"):
        load_image(tmp_path / "big.png")
    assert MAX_PIXELS == 40_000_000


def test_decompression_bomb_refused(tmp_path: Path) -> None:
    _png_with_declared_size(tmp_path / "bomb.png", 60000, 60000)  # 3.6 gigapixels
    with pytest.raises(StudioError, match="megapixels"):
        load_image(tmp_path / "bomb.png")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="no file at"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(StudioError, match="0 bytes"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(StudioError, match="not an image"):
        load_image(tmp_path / "text.jpg")
    Image.fromarray(gradient(400, 300)).save(tmp_path / "whole.png")
    data = (tmp_path / "whole.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(StudioError, match="truncated or damaged"):
        load_image(tmp_path / "cut.png")
