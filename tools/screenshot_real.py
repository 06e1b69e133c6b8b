"""A screenshot of the studio window with the real-media sample (``resources/sample_real``): the
pose-quality strip under the timeline and the Pose pane showing the retargeted skeleton the model
sees, next to the driving video and the draft render.

Opens a copy of the sample, lets the driving panel extract its tracks (instant when the extraction
cache has them), renders the clip with the draft renderer, switches to Driving | Pose | Result and
saves the window, downscaled and palette-compressed, to ``docs/screenshot_real.png``. Run under a
real X server (or ``xvfb-run``)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshot_real.py [--frame 40] [--out PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["STUDIO_NO_OPEN"] = "1"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from screenshots import save_small_png  # noqa: E402

SHOT = REPO / "docs" / "screenshot_real.png"


def _wait(app, cond, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    """Take the screenshot; prints where it went."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=SHOT)
    ap.add_argument("--frame", type=int, default=40, help="the frame shown")
    ap.add_argument("--size", default="1500x920", help="window size WxH")
    args = ap.parse_args()
    w_px, h_px = (int(v) for v in args.size.lower().split("x"))

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.gui.app import get_qapp
    from studio.gui.errors import hub
    from studio.gui.main_window import MainWindow

    app = get_qapp()
    errors: list = []
    hub().presenter = lambda err, parent: errors.append(err)
    tmp = Path(tempfile.mkdtemp(prefix="studio_real_shot_"))
    try:
        shutil.copytree(REPO / "resources" / "sample_real", tmp / "sample_real")
        settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, data_dir=tmp / "data", ask_save=lambda p: "discard")
        win.resize(w_px, h_px)
        from PySide6.QtWidgets import QDockWidget

        for dock in win.findChildren(QDockWidget):  # only the panels this screenshot is about
            if dock.objectName() not in ("dock_reference", "dock_driving", "dock_render"):
                dock.hide()
        win.show()
        app.processEvents()
        if not win.open_project(tmp / "sample_real" / "real.studio.json"):
            raise SystemExit(f"could not open the real sample: {errors}")
        doc = win.doc
        _wait(app, lambda: doc.pose is not None or bool(errors), 600, "the pose extraction")
        if errors:
            raise SystemExit(f"extraction failed: {errors[0]}")
        win.controller.start()
        _wait(app, lambda: not win.controller.busy, 600, "the draft render")
        if errors:
            raise SystemExit(f"render failed: {errors[0]}")
        win.viewer.set_side_by_side(True)
        doc.timeline.set_current(args.frame)
        end = time.monotonic() + 2.0
        while time.monotonic() < end:  # the driving frame arrives from its reader thread
            app.processEvents()
            time.sleep(0.01)
        raw = tmp / "full.png"
        win.grab().save(str(raw))
        n = save_small_png(raw, args.out, width=1500)
        q = doc.pose_quality()
        print(f"{args.out} ({n // 1024} KB); frame {args.frame}: {q.describe(args.frame) if q else ''}")
        print(f"extraction summary: {win.driving_panel.quality.text()}")
        doc._dirty = False  # noqa: SLF001 - nothing to save in a throwaway copy
        doc.undo_stack.setClean()
        win.close()
        QApplication.processEvents()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
