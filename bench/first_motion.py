"""Photo + new clip -> first rendered draft frame: the old path (the whole clip's pose first) and
the range-first one, side by side, for the CLI and the GUI, each with a fresh extraction cache;
the GUI path broken into phases with the wall and CPU seconds of each.

The lead's quiet-machine measurement (from the repository root; the goal of issue 23, under 10 s
from photo + new clip to a moving draft, is judged on a quiet machine, load average well below
the core count):

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen .venv/bin/python bench/first_motion.py \
        --loop ../shared/fixtures/real_dance/driving_1.mp4 --skip-old
    # the same at a phone clip's frame rate (more frames in the first seconds):
    ... --loop ../shared/fixtures/real_dance/driving_1.mp4 --loop-fps 25 --skip-old

``--loop SRC`` first writes an 80 s clip (SRC looped, imageio-ffmpeg) to /tmp/first_motion_80s.mp4
(``--loop-fps``: resampled to that rate); or give ``--video`` a long clip. CLI: ``studio render
--frames 0:32`` as a subprocess, after ``studio extract`` of the whole clip (old) or on its own
(new); the first frame is the first PNG in its render folder. GUI: an offscreen main window opens
the photo and the clip (helper-process extraction and draft render, as a user's) and presses
Render as soon as it is enabled; old: the clip extracted whole before Render (what Render waited
for). Each GUI run is a fresh process (as a user's new window). The headline GUI times start when the clip is opened, after the photo is loaded and the
renderer prepared for it (done while a user picks the clip); the phase table starts at the photo,
opened 3 s after the window (a user picking it; the window's start-up is over by then).

Phases: every process of the GUI path (the window, the extraction helper, the render helper)
writes marks to a log named by STUDIO_PHASE_LOG (:mod:`studio.core.phases`); each phase ends at
the mark it is named after and starts at the mark above it. Its CPU seconds are those of the
process that wrote the ending mark (for a helper's first mark: all its CPU since it started), so
a phase whose wall time is much larger than its CPU time waited for the CPU (a loaded machine)
or for another process. The GUI lines also give the longest the event loop went without running
(a 10 ms timer) between the clip opening and the first frame. The load average is printed with
the figures. ``--skip-old`` leaves out the whole-clip-first runs (35 s and more each).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from studio.core.phases import PHASE_LOG, mark, phase_table, read_marks  # noqa: E402

#: The marks the GUI path's phases end at (studio.core.phases), in the order they happen.
PHASES = ["photo opened", "photo decoded", "mediapipe imported", "pose graphs built", "reference pose",
          "renderer prepared in its helper", "spare helper warm", "renderer prepared", "clip opened",
          "spare helper taken", "helper spawn", "helper process started", "clip probed", "range detected", "first window tracks",
          "first tracks back in the window", "first tracks on the timeline", "Render pressed", "first frames rendered", "first frame on the timeline"]
LOOPED = Path("/tmp/first_motion_80s.mp4")
#: Seconds between the window opening and the photo being opened (a user picking the photo).
SETTLE_S = 3.0


def make_loop(src: Path, seconds: float = 80.0, fps: float | None = None) -> Path:
    """``src`` looped to ``seconds`` at /tmp (never in the repository); with ``fps``, resampled
    to that frame rate (frames repeated: a phone clip's 25-30 fps gives the first seconds more
    frames to extract than the 8 fps fixtures)."""
    import imageio_ffmpeg

    out = LOOPED if fps is None else LOOPED.with_name(f"{LOOPED.stem}_{fps:g}fps.mp4")
    if not out.is_file():
        rate = ["-vf", f"fps={fps:g}"] if fps is not None else []
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
                        "-1", "-i", str(src), "-t", str(seconds), *rate, "-c:v", "libx264", "-crf", "18", "-pix_fmt",
                        "yuv420p", str(out)], check=True)
    return out


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


def gui_run(image: Path, video: Path, whole_first: bool, spare: bool = True) -> tuple[float, float, int, float, list]:
    """``(seconds from opening the clip to the first draft frame, longest event-loop stall in ms,
    frames in that first render, seconds until Render could start, the phases)``; ``spare``:
    the extraction helper warms up while the clip is picked (else it starts with the clip)."""
    os.environ["STUDIO_SPARE_HELPER"] = "1" if spare else "0"
    os.environ["STUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="fm_gui_cache_")
    log = Path(tempfile.mkdtemp(prefix="fm_phases_")) / "phases.jsonl"
    os.environ[PHASE_LOG] = str(log)  # the helper processes inherit it
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
    # a user takes seconds to pick the photo: the window's start-up (its render helper's spawn
    # and imports) is over by then; opened at once, the photo's MediaPipe import took 2.6 s
    # instead of 0.5 s on a quiet machine
    shown = time.monotonic()
    spin_until(lambda: time.monotonic() - shown >= SETTLE_S, SETTLE_S + 5)
    mark("photo opened")
    w.reference_panel.open_path(image)
    spin_until(lambda: w.doc.reference_rgb is not None, 120)
    spin_until(lambda: bool(prepared), 120)  # the photo's rig, built while a user picks the clip
    mark("renderer prepared")
    if spare and w.driving_panel.spare is not None:  # the extraction helper, warmed up meanwhile too
        spin_until(lambda: any(m.name == "spare helper warm" for m in read_marks(log)), 120)
    if whole_first:
        w.driving_panel.first_extractor = None  # the whole clip, then Render
    got: list[float] = []
    def on_frames(idx, frames) -> None:
        if not got:
            got.append(time.perf_counter())
            mark("first frame on the timeline")

    w.controller.frames_ready.connect(on_frames)
    clock, stall = QElapsedTimer(), [0]
    tick = QTimer()
    tick.setInterval(10)

    def on_tick() -> None:
        stall[0] = max(stall[0], clock.restart())

    tick.timeout.connect(on_tick)
    t0 = time.perf_counter()
    clock.start()
    tick.start()
    mark("clip opened")
    w.driving_panel.open_path(video)

    def ready() -> bool:
        if w.doc.pose is None or not w.render_panel.render_btn.isEnabled():
            return False
        return not whole_first or pending_frames(w.doc.pose).size == 0

    spin_until(ready, 600)
    posed = time.perf_counter() - t0
    mark("Render pressed")
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
    del os.environ[PHASE_LOG]
    marks = read_marks(log)
    end = next(m.wall for m in marks if m.name == "first frame on the timeline")
    roles = {os.getpid(): "window"}
    for m in marks:
        if m.name == "helper process started":
            roles.setdefault(m.pid, "extraction helper")
        elif m.name in ("first frames rendered", "renderer prepared in its helper"):
            roles.setdefault(m.pid, "render helper")
    rows = [(ph.name, roles.get(ph.pid, "other"), ph.wall, ph.cpu) for ph in phase_table(marks, PHASES, until=end)]
    return first, float(stall[0]), job.n_frames, posed, rows


#: The phases of the brief, each the marks (name, process) that end its parts.
GROUPS = [
    ("photo load + reference pose", [("photo decoded", "window"), ("mediapipe imported", "window"),
                                     ("pose graphs built", "window"), ("reference pose", "window")]),
    ("draft rig of the photo", [("renderer prepared in its helper", "render helper"), ("renderer prepared", "window")]),
    ("extraction helper start", [("helper spawn", "window"), ("spare helper taken", "window"),
                                 ("helper process started", "extraction helper"),
                                 ("spare helper warm", "extraction helper")]),
    ("mediapipe import + graphs", [("mediapipe imported", "extraction helper"),
                                   ("pose graphs built", "extraction helper")]),
    ("clip open/probe", [("clip probed", "extraction helper")]),
    ("first window: detection", [("range detected", "extraction helper"),
                                 ("first window tracks", "extraction helper")]),
    ("tracks to the timeline", [("first tracks back in the window", "window"),
                                ("first tracks on the timeline", "window")]),
    ("draft render of the first frames", [("Render pressed", "window"), ("first frames rendered", "render helper")]),
    ("first frame on the timeline", [("first frame on the timeline", "window")]),
]

Row = tuple[str, str, float, float]


#: ``--one-gui-run`` kinds: (whole clip first, warm spare).
GUI_RUNS = {"warm": (False, True), "cold": (False, False), "old": (True, False)}
RESULT = "first-motion-result: "


def gui_in_process(image: Path, video: Path, kind: str) -> tuple:
    """:func:`gui_run` in a fresh process, as a user's new window (nothing imported before; a
    second run in the same process would find MediaPipe imported by the first)."""
    out = subprocess.run([sys.executable, __file__, "--one-gui-run", kind, "--image", str(image), "--video",
                          str(video)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                         capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(RESULT)), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"the {kind} GUI run failed:\n{out.stderr[-3000:]}")
    first, stall, n, posed, rows = json.loads(line[len(RESULT):])
    return first, stall, n, posed, [tuple(r) for r in rows]


def print_phases(runs: dict[str, list[Row]]) -> None:
    """The runs' phases, grouped as the brief names them, side by side (a group's wall and CPU
    seconds; '*' where it ran before the clip was opened, i.e. while a user picks the clip),
    with the totals; then each run's phases in the order they happened (each ends at the mark
    it is named after and starts at the mark above it; CPU: the seconds the named process spent
    in it, for a helper's first mark all its CPU since it started)."""
    print(f"{'GUI phase':36}" + "".join(f"{label[:23]:>24}" for label in runs))
    print(f"{'':36}" + "".join(f"{'wall s':>14}{'CPU s':>10}" for _ in runs))
    for group, parts in GROUPS:
        cells = ""
        for rows in runs.values():
            names = [r[0] for r in rows]
            clip = names.index("clip opened") if "clip opened" in names else len(rows)
            hits = [(k, r) for k, r in enumerate(rows) if r[:2] in parts]
            wall, cpu = sum(r[2] for _, r in hits), sum(r[3] for _, r in hits)
            early = "*" if hits and all(k < clip for k, _ in hits) else " "
            cells += f"{wall:13.2f}{early}{cpu:10.2f}" if hits else f"{'-':>14}{'':10}"
        print(f"{group:36}{cells}")
    for label, start in (("total from the photo", "photo opened"), ("total from the clip", "clip opened")):
        cells = ""
        for rows in runs.values():
            names = [r[0] for r in rows]
            later = rows[names.index(start) + 1:] if start in names else []
            cells += f"{sum(r[2] for r in later):14.2f}{sum(r[3] for r in later):10.2f}"
        print(f"{label:36}{cells}")
    print("(* ran before the clip was opened: while a user picks it; CPU: of the process that ran the phase)")
    for label, rows in runs.items():
        print(f"\n{label}: every phase, in order")
        for name, role, wall, cpu in rows:
            print(f"  {name[:37]:38}{role:18}{wall:8.2f} s wall {cpu:7.2f} s CPU")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", type=Path, help="a long driving clip")
    ap.add_argument("--loop", type=Path, help="loop this clip to 80 s at /tmp and use that")
    ap.add_argument("--loop-fps", type=float, help="with --loop: resample the looped clip to this frame rate")
    ap.add_argument("--image", type=Path, default=REPO / "resources" / "sample_real" / "reference.jpg")
    ap.add_argument("--frames", default="0:32", help="the CLI's --frames")
    ap.add_argument("--skip-gui", action="store_true", help="only the CLI lines")
    ap.add_argument("--skip-cli", action="store_true", help="only the GUI lines and phases")
    ap.add_argument("--skip-old", action="store_true", help="leave out the whole-clip-first runs (35 s+ each)")
    ap.add_argument("--one-gui-run", choices=list(GUI_RUNS), help=argparse.SUPPRESS)  # see gui_in_process
    args = ap.parse_args()
    if args.one_gui_run:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        whole_first, spare = GUI_RUNS[args.one_gui_run]
        print(RESULT + json.dumps(gui_run(args.image, args.video, whole_first, spare=spare)))
        return 0
    video = make_loop(args.loop, fps=args.loop_fps) if args.loop else args.video
    if video is None:
        ap.error("give --video or --loop")
    from studio.media.video import VideoReader

    with VideoReader(video) as r:
        print(f"{video.name}: {r.frame_count} frames at {r.fps:g} fps ({r.frame_count / r.fps:.0f} s), "
              f"photo {args.image.name}")
    print(f"load average at the start: {_load()}")
    if not args.skip_cli:
        new_first, new_end = cli_run(args.image, video, args.frames, whole_first=False)
        if args.skip_old:
            print(f"CLI render --frames {args.frames}: first frame {new_first:6.1f} s, whole command {new_end:6.1f} s")
        else:
            old_first, old_end = cli_run(args.image, video, args.frames, whole_first=True)
            print(f"CLI render --frames {args.frames}: first frame  old {old_first:6.1f} s   new {new_first:6.1f} s   "
                  f"({old_first / new_first:.1f}x)")
            print(f"CLI render --frames {args.frames}: whole command old {old_end:6.1f} s   new {new_end:6.1f} s   "
                  f"(new/old {new_end / old_end:.2f})")
        print(f"load average after the CLI runs: {_load()}")
    if not args.skip_gui:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        runs: dict[str, tuple] = {"range-first, warm spare": gui_in_process(args.image, video, "warm"),
                                  "range-first, cold helper": gui_in_process(args.image, video, "cold")}
        load_new = _load()
        if not args.skip_old:
            runs["whole clip first"] = gui_in_process(args.image, video, "old")
        print(f"load average after the range-first GUI runs: {load_new}; after all GUI runs: {_load()}")
        print_phases({label: r[4] for label, r in runs.items()})
        for label, (first, stall, n, posed, _) in runs.items():
            print(f"GUI {label}: clip opened -> Render enabled {posed:5.1f} s, -> first draft frame {first:5.1f} s "
                  f"({n} frames rendered); longest event-loop stall {stall:.0f} ms")
    print(f"Goal (issue 23): photo + new clip -> moving draft in under 10 s, judged on a quiet machine "
          f"(load average well below {os.cpu_count()}); under load the wall times grow, the CPU times much less.")
    return 0


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


if __name__ == "__main__":
    raise SystemExit(main())
