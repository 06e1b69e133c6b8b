"""Opens the main window on an offscreen screen of a given size and reports, as one JSON line,
whether it fits: run as a script by tests/gui/test_screen_fit.py (the offscreen screen's size is
fixed when Qt starts, so each size needs its own process).

    QT_QPA_PLATFORM=offscreen:configfile=screen.json python tests/gui/screen_probe.py \
        --out DIR [--project sample.studio.json]

For each state (the empty window; the project loaded; then side by side with the Queue tab
raised; a second window restoring a layout saved at 1900x1150) it grabs the window to
``DIR/<state>.png`` and records the window's frame geometry, the screen's available geometry and
every visible button that is not wholly on show (cut by the window's edge, a dock's edge or a
scroll area's viewport).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ["STUDIO_NO_OPEN"] = "1"
os.environ["STUDIO_RENDER_IN_THREAD"] = "1"
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


#: Seconds of event processing before a state is recorded (then :func:`_settle` waits for the
#: window's background work): the layout of a shown window, a side by side or a raised tab is
#: settled by then (the reports were the same after 0.01 and 0.3 s).
SETTLE = 0.05
#: At least this long after opening the project: its photo is read, then its renderer is prepared
#: (the status bar says "Preparing the ... renderer" from then until it is ready).
LOADED = 1.3


def _spin(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _settle(app, window, seconds: float) -> None:
    """Process events for ``seconds``, then until ``window``'s background tasks have ended and its
    renderer is no longer being prepared (at most a minute), so a state is recorded complete."""
    from studio.gui.tasks import Task

    _spin(app, seconds)
    end = time.monotonic() + 60
    while time.monotonic() < end and (
            window.statusBar().currentMessage().startswith("Preparing")
            or any(t.is_running() for t in window.findChildren(Task))):
        _spin(app, 0.02)


def _rect(r) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def cut_buttons(window) -> list[str]:
    """Visible buttons of ``window`` that are not wholly on show (those of a dock behind
    another dock's tab are not on show by design, nor a tab bar's scroll arrows: not counted)."""
    from PySide6.QtWidgets import QAbstractButton, QDockWidget, QTabBar

    out = []
    for b in window.findChildren(QAbstractButton):
        if not b.isVisible() or b.window() is not window or isinstance(b.parentWidget(), QTabBar):
            continue
        dock = b.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None and dock.visibleRegion().isEmpty():
            continue
        shown = b.visibleRegion().boundingRect()
        top_left = b.mapTo(window, b.rect().topLeft())
        inside = window.rect().contains(top_left) and window.rect().contains(
            b.mapTo(window, b.rect().bottomRight()))
        if shown.size() != b.size() or not inside:
            out.append(f"{b.text() or b.toolTip() or type(b).__name__} ({shown.width()}x{shown.height()} "
                       f"of {b.width()}x{b.height()} shown)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--project", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from studio.gui.errors import hub
    from studio.gui.main_window import MainWindow

    errors: list = []
    hub().presenter = lambda err, parent: errors.append(err.title)
    w = MainWindow(settings=QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat),
                   data_dir=args.out / "data", ask_save=lambda p: "discard", ask_recover=lambda p, f: False)
    w.show()
    _settle(app, w, SETTLE)
    report = {"available": _rect(w.screen().availableGeometry()), "states": {}}

    def record(state: str, settle: float = SETTLE) -> None:
        _settle(app, w, settle)
        w.grab().save(str(args.out / f"{state}.png"))
        report["states"][state] = {
            "frame": _rect(w.frameGeometry()),
            "minimum": [w.minimumSizeHint().width(), w.minimumSizeHint().height()],
            "cut_buttons": cut_buttons(w),
        }

    record("empty")
    if args.project is not None:
        w.open_project(args.project, confirm=False)
        record("loaded", LOADED)
        w.viewer.set_side_by_side(True)
        w.docks["queue"].raise_()
        record("side_queue")
    # a layout saved on a larger screen opens on this one
    w.setGeometry(100, 80, 1900, 1150)
    w.close()
    w = MainWindow(settings=QSettings(str(args.out / "settings.ini"), QSettings.Format.IniFormat),
                   data_dir=args.out / "data", ask_save=lambda p: "discard", ask_recover=lambda p, f: False)
    w.show()
    record("restored")
    report["errors"] = errors
    print(json.dumps(report))
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
