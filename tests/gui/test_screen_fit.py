"""The main window fits the screen it opens on, down to 1280x720: minimum size, capped geometry,
every button on show, with an empty window and with the sample project loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication

from studio.gui.fit import SMALLEST_SCREEN, fit_rect

pytestmark = pytest.mark.gui

PROBE = Path(__file__).with_name("screen_probe.py")
REPO = Path(__file__).resolve().parents[2]
#: Room a desktop takes from a 1280x720 screen (task bar) and the window manager adds (title bar).
DESKTOP_ROOM = QSize(0, 40 + 32)


def test_fit_rect_caps_the_size_and_moves_the_window_inside():
    avail = QRect(0, 30, 1280, 690)  # a task bar at the top
    assert fit_rect(QRect(100, 100, 1647, 900), avail) == QRect(0, 30, 1280, 690)
    assert fit_rect(QRect(900, 600, 800, 500), avail) == QRect(480, 220, 800, 500)
    assert fit_rect(QRect(10, 40, 800, 500), avail) == QRect(10, 40, 800, 500)  # fits: untouched
    # a minimum larger than the screen wins; the top-left corner stays on the screen
    assert fit_rect(QRect(50, 50, 1400, 600), avail, QSize(1300, 400)) == QRect(0, 50, 1300, 600)
    # a second screen to the right
    assert fit_rect(QRect(1200, 0, 1500, 900), QRect(1280, 0, 1366, 768)) == QRect(1280, 0, 1366, 768)


def _fits_smallest(size: QSize) -> bool:
    room = SMALLEST_SCREEN - DESKTOP_ROOM
    return size.width() <= room.width() and size.height() <= room.height()


def test_minimum_size_fits_the_smallest_screen_empty_and_loaded(make_window, sample_project):
    w = make_window()
    assert _fits_smallest(w.minimumSizeHint()), w.minimumSizeHint()
    assert w.open_project(sample_project)
    assert _fits_smallest(w.minimumSizeHint()), w.minimumSizeHint()
    w.viewer.set_side_by_side(True)
    w.docks["queue"].show()
    w.docks["queue"].raise_()
    assert _fits_smallest(w.minimumSizeHint()), w.minimumSizeHint()


def test_long_texts_do_not_widen_the_window(make_window, sample_project):
    """A long file name or status line scrolls or is elided inside its panel."""
    w = make_window()
    assert w.open_project(sample_project)
    before = w.minimumSizeHint()
    w.driving_panel.info.setText("a_driving_clip_with_a_very_long_file_name_" * 6 + ".mp4")
    w.reference_panel.status.setText("reference_photo_with_a_long_name_" * 6 + ".png")
    w.render_panel.eta.setText("Done: 480 frames in 1:23:45, " * 5)
    w.transport.readout.setText(w.transport.readout.text() * 4)
    w.viewer.status.setText(w.viewer.status.text() * 4)
    QApplication.processEvents()
    assert w.minimumSizeHint().width() <= before.width() + 1
    assert _fits_smallest(w.minimumSizeHint()), w.minimumSizeHint()


def _probe(tmp_path: Path, width: int, height: int, project: Path) -> dict:
    config = tmp_path / f"screen_{width}x{height}.json"
    config.write_text(json.dumps({"screens": [{"name": "probe", "x": 0, "y": 0, "width": width, "height": height,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    out = tmp_path / f"shots_{width}x{height}"
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}", PYTHONPATH=str(REPO))
    res = subprocess.run([sys.executable, str(PROBE), "--out", str(out), "--project", str(project)],
                         env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout.strip().splitlines()[-1])
    report["out"] = out
    return report


@pytest.mark.parametrize("width,height", [(1280, 720), (1366, 768)])
def test_window_fits_the_screen_with_every_button_on_show(tmp_path, sample_project, width, height):
    report = _probe(tmp_path, width, height, sample_project)
    assert report["available"] == [0, 0, width, height]
    assert report["errors"] == []
    assert set(report["states"]) == {"empty", "loaded", "side_queue", "restored"}
    avail = QRect(*report["available"])
    for state, got in report["states"].items():
        assert avail.contains(QRect(*got["frame"])), (state, got["frame"])
        assert got["cut_buttons"] == [], (state, got["cut_buttons"])
        assert (report["out"] / f"{state}.png").stat().st_size > 10_000
