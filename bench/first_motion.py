"""Photo + new clip -> first rendered draft frame: the old path (the whole clip's pose first) and
the range-first one, side by side, for the CLI and the GUI, each with a fresh extraction cache.

    .venv/bin/python bench/first_motion.py --loop ../shared/fixtures/real_dance/driving_1.mp4

``--loop SRC`` first writes an 80 s clip (SRC looped, imageio-ffmpeg) to /tmp/first_motion_80s.mp4;
or give ``--video`` a long clip. CLI: ``studio render --frames 0:32`` as a subprocess, after
``studio extract`` of the whole clip (old) or on its own (new); the first frame is the first PNG in
its render folder. GUI: an offscreen main window opens the photo and the clip (helper-process
extraction and draft render, as a user's) and presses Render as soon as it is enabled; old: the
clip extracted whole before Render (what Render waited for). Timing starts when the clip is opened,
after the photo is loaded and the renderer prepared for it (done while a user picks the clip). The GUI line also gives the longest
the event loop went without running (a 10 ms timer) between the clip opening and the first frame.
Prints the machine load with the figures (they grow when the machine is busy).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LOOPED = Path("/tmp/first_motion_80s.mp4")


def make_loop(src: Path, seconds: float = 80.0) -> Path:
    """``src`` looped to ``seconds`` at /tmp (never in the repository)."""
    import imageio_ffmpeg

    if not LOOPED.is_file():
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
                        "-1", "-i", str(src), "-t", str(seconds), "-c:v", "libx264", "-crf", "18", "-pix_fmt",
                        "yuv420p", str(LOOPED)], check=True)
    return LOOPED


def _studio(*argv: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "studio", *argv], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def cli_run(image: Path, video: Path, frames: str, whole_first: bool) -> tuple[float, float]:
    """``(seconds to the first frame, seconds to the end)`` of ``studio render --frames``."""
    work = Path(tempfile.mkdtemp(prefix="fm_cli_"))
    env = {**os.environ, "STUDIO_CACHE_DIR": str(work / "cache"), "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    if whole_first:
        proc = _studio("extract", str(video), "-o", str(work / "tracks.json"), env=env)
        if proc.wait() != 0:
            raise SystemExit(f"studio extract failed: {proc.stderr.read() if proc.stderr else ''}")
    frames_dir = work / "frames"
    proc = _studio("render", "--image", str(image), "--video", str(video), "--frames", frames, "--no-progress",
                   "--render-dir", str(frames_dir), "-o", str(work / "out.mp4"), env=env)
    first = None
    while proc.poll() is None:
        if first is None and frames_dir.is_dir() and any(frames_dir.glob("frame_*.png")):
            first = time.perf_counter() - t0
        time.sleep(0.02)
    end = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"studio render failed: {proc.stderr.read() if proc.stderr else ''}")
    return (first if first is not None else end), end


def gui_run(image: Path, video: Path, whole_first: bool) -> tuple[float, float, int, float]:
    """``(seconds from opening the clip to the first draft frame, longest event-loop stall in ms,
    frames in that first render, seconds until Render could start)``."""
    os.environ["STUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="fm_gui_cache_")
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.extract.range_first import pending_frames
    from studio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="fm_gui_"))
    w = MainWindow(settings=QSettings(str(work / "s.ini"), QSettings.Format.IniFormat), data_dir=work / "data",
                   ask_save=lambda parent: "discard", ask_recover=lambda parent, path: False)
    w.show()

    def spin_until(cond, timeout: float) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise SystemExit("timed out")
            app.processEvents()
            time.sleep(0.005)

    prepared: list[str] = []
    w.controller.prepared.connect(lambda name, problem: prepared.append(name))
    w.reference_panel.open_path(image)
    spin_until(lambda: w.doc.reference_rgb is not None, 120)
    spin_until(lambda: bool(prepared), 120)  # the photo's rig, built while a user picks the clip
    if whole_first:
        w.driving_panel.first_extractor = None  # the whole clip, then Render
    got: list[float] = []
    w.controller.frames_ready.connect(lambda idx, f: got.append(time.perf_counter()) if not got else None)
    clock, stall = QElapsedTimer(), [0]
    tick = QTimer()
    tick.setInterval(10)

    def on_tick() -> None:
        stall[0] = max(stall[0], clock.restart())

    tick.timeout.connect(on_tick)
    t0 = time.perf_counter()
    clock.start()
    tick.start()
    w.driving_panel.open_path(video)

    def ready() -> bool:
        if w.doc.pose is None or not w.render_panel.render_btn.isEnabled():
            return False
        return not whole_first or pending_frames(w.doc.pose).size == 0

    spin_until(ready, 600)
    posed = time.perf_counter() - t0
    job = w.controller.start()
    spin_until(lambda: bool(got), 600)
    tick.stop()
    first = got[0] - t0
    w.controller.cancel()
    spin_until(lambda: not w.controller.busy, 120)
    w.driving_panel.cancel()
    spin_until(lambda: not w.driving_panel.is_extracting(), 120)
    w.doc.undo_stack.setClean()
    w.close()
    w.controller.shutdown()
    app.processEvents()
    return first, float(stall[0]), job.n_frames, posed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path, help="a long driving clip")
    ap.add_argument("--loop", type=Path, help="loop this clip to 80 s at /tmp and use that")
    ap.add_argument("--image", type=Path, default=REPO / "resources" / "sample_real" / "reference.jpg")
    ap.add_argument("--frames", default="0:32", help="the CLI's --frames")
    ap.add_argument("--skip-gui", action="store_true")
    args = ap.parse_args()
    video = make_loop(args.loop) if args.loop else args.video
    if video is None:
        ap.error("give --video or --loop")
    from studio.media.video import VideoReader

    with VideoReader(video) as r:
        print(f"{video.name}: {r.frame_count} frames at {r.fps:g} fps ({r.frame_count / r.fps:.0f} s), "
              f"photo {args.image.name}")
    old_first, old_end = cli_run(args.image, video, args.frames, whole_first=True)
    new_first, new_end = cli_run(args.image, video, args.frames, whole_first=False)
    print(f"CLI render --frames {args.frames}: first frame  old {old_first:6.1f} s   new {new_first:6.1f} s   "
          f"({old_first / new_first:.1f}x)")
    print(f"CLI render --frames {args.frames}: whole command old {old_end:6.1f} s   new {new_end:6.1f} s   "
          f"(new/old {new_end / old_end:.2f})")
    if not args.skip_gui:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        g_old, stall_old, n_old, p_old = gui_run(args.image, video, whole_first=True)
        g_new, stall_new, n_new, p_new = gui_run(args.image, video, whole_first=False)
        print(f"GUI clip opened -> Render enabled:   old {p_old:6.1f} s   new {p_new:6.1f} s")
        print(f"GUI clip opened -> first draft frame: old {g_old:6.1f} s ({n_old} frames)   new {g_new:6.1f} s "
              f"({n_new} frames)   ({g_old / g_new:.1f}x)")
        print(f"GUI longest event-loop stall until then: old {stall_old:.0f} ms   new {stall_new:.0f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
