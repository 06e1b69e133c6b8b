"""Screenshots of the studio window with the sample project (offscreen Qt, or a real display).

Opens a copy of resources/sample in the main window, renders it with the draft renderer and saves
PNGs of the window: mid-render (cache bar filling), finished, side by side with onion skin, the
export dialog and an error dialog. ``--readme`` also writes the finished view, downscaled and
palette-compressed to stay under 300 KB, to docs/screenshot.png.

    QT_QPA_PLATFORM=offscreen python tools/screenshots.py --out /tmp/shots --readme
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STUDIO_NO_OPEN"] = "1"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

README_SHOT = REPO / "docs" / "screenshot.png"
README_MAX_BYTES = 300_000


def _spin(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(app, cond, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out waiting for the studio")
        app.processEvents()
        time.sleep(0.01)


def save_small_png(src: Path, dst: Path, width: int = 1280, max_bytes: int = README_MAX_BYTES) -> int:
    """``src`` scaled to ``width`` and palette-compressed until it fits in ``max_bytes``."""
    from PIL import Image

    im = Image.open(src).convert("RGB")
    if im.width > width:
        im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
    dst.parent.mkdir(parents=True, exist_ok=True)
    for colors in (256, 192, 128, 96, 64):
        im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)
        if dst.stat().st_size <= max_bytes:
            break
    return dst.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "studio_screenshots")
    ap.add_argument("--readme", action="store_true", help=f"also write {README_SHOT.relative_to(REPO)}")
    ap.add_argument("--size", default="1440x900", help="window size WxH")
    args = ap.parse_args()
    w_px, h_px = (int(v) for v in args.size.lower().split("x"))

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.core.errors import StudioError
    from studio.gui.app import get_qapp
    from studio.gui.dialogs.error_dialog import ErrorDialog
    from studio.gui.errors import hub
    from studio.gui.main_window import MainWindow

    app = get_qapp()
    errors: list = []
    hub().presenter = lambda err, parent: errors.append(err)
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="studio_shots_"))
    try:
        shutil.copytree(REPO / "resources" / "sample", tmp / "sample")
        settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, data_dir=tmp / "data", ask_save=lambda p: "discard")
        win.resize(w_px, h_px)
        win.show()
        app.processEvents()
        if not win.open_project(tmp / "sample" / "sample.studio.json"):
            raise SystemExit(f"could not open the sample: {errors}")
        doc = win.doc
        _spin(app, 3.0)  # the renderer preloads meanwhile
        shots: dict[str, Path] = {}

        def grab(name: str, widget=None) -> Path:
            app.processEvents()
            path = args.out / f"{name}.png"
            (widget or win).grab().save(str(path))
            shots[name] = path
            return path

        # mid-render: the cache bar fills while frames stream in
        half = doc.timeline.frame_count // 2
        win.controller.start()
        _wait(app, lambda: int((doc.frame_states() == 3).sum()) >= half or not win.controller.busy)
        doc.timeline.set_current(4)
        grab("studio_rendering")
        _wait(app, lambda: not win.controller.busy)
        if errors:
            raise SystemExit(f"render failed: {errors[0]}")
        doc.timeline.set_current(20)
        _spin(app, 0.3)
        grab("studio_main")
        win.viewer.set_side_by_side(True)
        win.viewer.onion_box.setChecked(True)
        _spin(app, 0.5)
        grab("studio_side_by_side")
        win.viewer.onion_box.setChecked(False)
        win.viewer.set_side_by_side(False)

        dlg = win.export_dialog()
        _spin(app, 0.3)
        grab("dialog_export", dlg)
        dlg.close()
        err = ErrorDialog(StudioError(
            "Cannot read the driving video",
            "dance.mp4 ends after 3 of its 240 frames; the file is damaged or still being copied. "
            "Open it in a video player to check, or export it again.",
            "ffmpeg: moov atom not found\n(details are folded away until asked for)",
        ), win)
        err.show()
        err.toggle.click()
        _spin(app, 0.3)
        grab("dialog_error", err)
        err.close()

        for name, path in shots.items():
            print(f"{name}: {path} ({path.stat().st_size // 1024} KB)")
        if args.readme:
            n = save_small_png(shots["studio_main"], README_SHOT)
            print(f"README screenshot: {README_SHOT} ({n // 1024} KB)")
        doc._dirty = False  # noqa: SLF001 - nothing to save in a throwaway copy
        doc.undo_stack.setClean()
        win.close()
        QTimer.singleShot(0, app.quit)
        QApplication.processEvents()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
