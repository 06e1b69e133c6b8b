"""Screenshots of the artist-workflow features (issue 16) on real media, under Xvfb or offscreen Qt.

* ``artist_waveform.png``: a real dance clip (``driving_2`` of the shared fixtures) with a
  synthetic drum beat muxed in, extracted and draft-rendered; the waveform strip under the
  timeline shows the beat.
* ``artist_live_photo.png``: the same photo as a 4 s live photo (no driving video), rendered
  with the draft renderer's idle motion; the Pose pane shows the photo's own skeleton.
* ``artist_framing.png``: the photo moved and scaled on the output canvas (framing edit).

    xvfb-run -a .venv/bin/python tools/screenshots_artist.py --fixtures ../shared/fixtures/real_dance
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["STUDIO_NO_OPEN"] = "1"
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from screenshots import _spin, _wait, save_small_png  # noqa: E402

#: A 120 bpm kick drum with a hi-hat on the off-beats (what a dance clip's music looks like).
BEAT = ("aevalsrc='0.9*exp(-18*mod(t,0.5))*sin(2*PI*(55+90*exp(-30*mod(t,0.5)))*t)"
        "+0.25*exp(-60*mod(t+0.25,0.5))*sin(2*PI*6000*t)':s=48000:d=20")


def clip_with_beat(video: Path, out: Path) -> Path:
    """``video`` with :data:`BEAT` as its sound track."""
    from studio.media.ffmpeg import ffmpeg_exe

    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-i", str(video), "-f", "lavfi", "-i", BEAT,
                    "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", "aac", "-shortest", str(out)],
                   check=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures" / "real_dance")
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--only", nargs="*", default=["waveform", "live_photo", "framing"])
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.gui.app import get_qapp
    from studio.gui.errors import hub
    from studio.gui.main_window import MainWindow

    app = get_qapp()
    errors: list = []
    hub().presenter = lambda err, parent: errors.append(err)
    tmp = Path(tempfile.mkdtemp(prefix="studio_artist_"))
    try:
        video = clip_with_beat(args.fixtures / "driving_2.mp4", tmp / "dance_with_beat.mp4")
        photo = args.fixtures / "reference_2.jpg"
        settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)
        win = MainWindow(settings=settings, data_dir=tmp / "data", ask_save=lambda p: "discard")
        win.resize(1440, 900)
        win.show()
        doc = win.doc
        win.reference_panel.open_path(photo)
        _wait(app, lambda: doc.reference_rgb is not None)
        doc.update_settings(width=256, height=448)

        def shoot(name: str) -> None:
            app.processEvents()
            raw = tmp / f"{name}_raw.png"
            win.grab().save(str(raw))
            n = save_small_png(raw, args.out / f"artist_{name}.png", width=1280, max_bytes=350_000)
            print(f"{args.out / f'artist_{name}.png'} ({n // 1024} KB)")
            if errors:
                raise SystemExit(f"errors: {errors}")

        if "waveform" in args.only or "framing" in args.only:
            win.driving_panel.open_path(video)
            _wait(app, lambda: doc.timeline.frame_count > 0, timeout=600)
            _wait(app, lambda: win.waveform.isVisible(), timeout=120)
            doc.timeline.set_in(16)
            doc.timeline.set_out(63)
            win.controller.start()
            _wait(app, lambda: not win.controller.busy, timeout=600)
            doc.timeline.set_current(40)
            _spin(app, 1.0)
        if "waveform" in args.only:
            shoot("waveform")
        if "framing" in args.only:
            win.render_panel.frame_btn.setChecked(True)  # Pose pane: the placed photo under the skeleton
            win.framing.move_by(0.1, 0.04)
            win.framing.scale_by(0.85)
            win.controller.start()
            _wait(app, lambda: not win.controller.busy, timeout=600)
            _spin(app, 1.0)
            shoot("framing")
            win.render_panel.frame_btn.setChecked(False)
            doc.apply_framing_preset("official")
        if "live_photo" in args.only:
            win.make_live_photo(4.0)
            win.controller.start()
            _wait(app, lambda: not win.controller.busy, timeout=600)
            doc.timeline.set_current(30)
            _spin(app, 1.0)
            shoot("live_photo")
        doc._dirty = False  # noqa: SLF001 - a throwaway project
        doc.undo_stack.setClean()
        win.close()
        QApplication.processEvents()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
