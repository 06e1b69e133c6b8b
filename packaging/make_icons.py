"""Render the application icon from its SVG source into every format the bundles use.

    python packaging/make_icons.py

* ``resources/icons/studio-<N>.png`` (16 ... 512 px): the window icon (bundled as a resource)
  and the Linux desktop icon;
* ``packaging/icons/studio.ico``: the Windows executables' icon (16 ... 256 px in one file);
* ``packaging/icons/studio.icns``: the macOS app icon.

The outputs are committed, so building a bundle does not need this script; run it after editing
``packaging/icons/studio.svg``. It renders with Qt's SVG renderer (PySide6) and writes ICO/ICNS
with Pillow.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "packaging" / "icons" / "studio.svg"
PNG_DIR = ROOT / "resources" / "icons"
ICO = ROOT / "packaging" / "icons" / "studio.ico"
ICNS = ROOT / "packaging" / "icons" / "studio.icns"
#: Sizes written as PNG files (and packed into the ICO up to 256).
SIZES: tuple[int, ...] = (16, 24, 32, 48, 64, 128, 256, 512)


def render_png(svg: Path, size: int, out: Path) -> None:
    """Render ``svg`` to a ``size`` x ``size`` PNG with a transparent background."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (keeps Qt alive)
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG file; fix it and run this script again.")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(out)):
        raise SystemExit(f"could not write {out}; check that the folder is writable.")


def main(argv: list[str] | None = None) -> int:
    """Write every icon file from :data:`SOURCE`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--svg", type=Path, default=SOURCE, help="the icon's SVG source")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image

    PNG_DIR.mkdir(parents=True, exist_ok=True)
    pngs = {}
    for size in SIZES:
        out = PNG_DIR / f"studio-{size}.png"
        render_png(args.svg, size, out)
        pngs[size] = out
    largest = Image.open(pngs[max(SIZES)]).convert("RGBA")
    largest.save(ICO, sizes=[(s, s) for s in SIZES if s <= 256])
    largest.save(ICNS)
    print(f"wrote {len(pngs)} PNGs to {PNG_DIR}, {ICO.name} and {ICNS.name} to {ICO.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
