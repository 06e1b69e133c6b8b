"""Soak test: many cycles of start-render / cancel / change-settings / render, as an impatient artist
clicks, with memory and threads watched.

Each cycle, per backend, does what the GUI does: a worker thread runs
:func:`studio.core.render.run_job` (frames into one long-lived :class:`FrameCache`), the main thread
cancels it (in turn: at once, between denoising and decoding, after the first frames), the settings
change (seed, guidance, overlap; every 25th cycle the official "reference" window schedule, else
"stream"), and a second render runs to completion. The X-Dyna backend renders on the tiny test weights
(``tests/fixtures/xdyna_tiny/a_pose_16f``); the draft backend on the same synthetic person.

Printed: peak and current RSS at cycle 10 and at the last cycle (peak must stay within 10%), and the
Python threads alive at the end that were not alive before the first cycle (must be 0). Not run in
CI: it takes minutes.

    python bench/soak.py                 # 200 cycles, both backends (one after the other), 64x64
    python bench/soak.py --backends xdyna  # one backend per process: peak RSS is per process
    python bench/soak.py --cycles 20 --backends draft
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.core.registry import create_backend as get_backend  # noqa: E402
from studio.core.cancel import CancelToken  # noqa: E402
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress, StepPreview  # noqa: E402
from studio.core.frame_cache import FrameCache  # noqa: E402
from studio.core.jobs import RenderJob  # noqa: E402
from studio.core.render import run_job  # noqa: E402
from studio.core.settings import RenderSettings  # noqa: E402
from studio.core.tracks import PoseTrack  # noqa: E402

CASE = ROOT / "tests" / "fixtures" / "xdyna_tiny" / "a_pose_16f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def rss_mb() -> tuple[float, float]:
    """(peak, current) resident memory of this process in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    current = peak
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return peak, current


def person_track(n: int) -> PoseTrack:
    """A standing person who sways and waves (normalised OpenPose-18 joints)."""
    rest = np.array([
        [0.50, 0.16], [0.50, 0.26], [0.40, 0.27], [0.36, 0.42], [0.34, 0.56], [0.60, 0.27], [0.64, 0.42],
        [0.66, 0.56], [0.44, 0.56], [0.44, 0.74], [0.44, 0.92], [0.56, 0.56], [0.56, 0.74], [0.56, 0.92],
        [0.48, 0.14], [0.52, 0.14], [0.46, 0.15], [0.54, 0.15],
    ], np.float32)
    t = PoseTrack.empty(n, 64, 64, 25.0)
    for i in range(n):
        p = rest.copy()
        p[:, 0] += 0.02 * np.sin(i / 3)
        p[4] += (0.05 * np.cos(i / 2), -0.1 * abs(np.sin(i / 2)))
        t.body[i] = p
    t.body_conf[:] = 1.0
    t.flags[:] = 0
    return t


def reference_photo() -> np.ndarray:
    """The tiny X-Dyna case's reference image, or a plain figure on grey when it is missing."""
    try:
        from PIL import Image

        spec = json.loads((CASE / "case.json").read_text())
        return np.array(Image.open(CASE / spec["inputs"]["reference"]).convert("RGB"))
    except (OSError, KeyError, ValueError):
        img = np.full((64, 64, 3), 120, np.uint8)
        img[10:60, 26:38] = (200, 150, 120)
        return img


def make_backend(name: str):
    """The backend as the app gets it (``get_backend``), pointed at the tiny weights."""
    backend = get_backend(name)
    if name == "xdyna":
        w = json.loads((CASE / "case.json").read_text())["weights"]
        backend.weights_dir = WEIGHTS
        backend.resampler_kwargs = w["resampler_kwargs"]
        for key, value in w.items():
            if key.startswith("unet_additional_kwargs"):
                backend.motion_module_kwargs = value.get("motion_module_kwargs")
    return backend


def settings_for(name: str, cycle: int, second: bool) -> RenderSettings:
    """Settings that change between the cancelled and the finished render of every cycle."""
    k = 2 * cycle + int(second)
    common = dict(backend=name, width=64, height=64, seed=k, device="cpu", dtype="float32")
    if name == "xdyna":
        common["face_controlnet"] = False
        return RenderSettings(**common, steps=1, cfg=(7.5, 3.0)[k % 2], overlap=(4, 2)[k % 2],
                              schedule="reference" if cycle % 25 == 0 else "stream")
    return RenderSettings(**common)


class Worker:
    """One render on its own thread, events collected; like the GUI's render worker.

    ``reached[stage]`` is set when the render first yields a ``Progress`` ("any"), a
    ``StepPreview`` ("preview") or a ``FramesReady`` ("frames"), or when it ends."""

    def __init__(self, job: RenderJob, backend, cache: FrameCache) -> None:
        self.token = CancelToken()
        self.reached = {stage: threading.Event() for stage in ("any", "preview", "frames")}
        self.last = None
        self.thread = threading.Thread(target=self._run, args=(job, backend, cache), name="soak-render")
        self.thread.start()

    def _run(self, job: RenderJob, backend, cache: FrameCache) -> None:
        for ev in run_job(job, backend, cache, self.token):
            if isinstance(ev, (Progress, StepPreview, FramesReady)):
                self.reached["any"].set()
                if isinstance(ev, StepPreview):
                    self.reached["preview"].set()
                if isinstance(ev, FramesReady):
                    self.reached["frames"].set()
            else:
                self.last = ev
        for e in self.reached.values():
            e.set()

    def cancel(self) -> None:
        """Set the token from this (the "GUI") thread."""
        self.token.cancel()

    def join(self) -> None:
        self.thread.join(timeout=600)
        if self.thread.is_alive():
            raise RuntimeError("a render thread did not stop within 10 minutes")


#: Where the first render of a cycle is cancelled, in turn: before the model runs, between
#: denoising and decoding (inside the pipeline's lockstep thread), after the first frames.
CANCEL_AT = ("any", "preview", "frames")


def cycle(name: str, backend, cache: FrameCache, pose: PoseTrack, ref: np.ndarray, i: int, n: int) -> str:
    """start / cancel / change settings / render; returns how the cancelled render ended."""
    frames = tuple(range(n))
    job = RenderJob(reference=ref, pose=pose, frames=frames, settings=settings_for(name, i, False))
    w = Worker(job, backend, cache)
    w.reached[CANCEL_AT[i % len(CANCEL_AT)]].wait(timeout=600)
    w.cancel()
    w.join()
    if not isinstance(w.last, (Cancelled, Finished)):
        raise RuntimeError(f"cycle {i}: the cancelled render ended with {w.last!r}")
    first = type(w.last).__name__
    job = RenderJob(reference=ref, pose=pose, frames=frames, settings=settings_for(name, i, True))
    w = Worker(job, backend, cache)
    w.join()
    if not isinstance(w.last, Finished):
        err = w.last.error if isinstance(w.last, Failed) else w.last
        raise RuntimeError(f"cycle {i}: the render did not finish: {err}")
    return first


def soak(name: str, cycles: int, n_frames: int) -> dict:
    """Run the cycles for one backend; prints and returns the measurements."""
    backend = make_backend(name)
    cache = FrameCache(budget_bytes=32 << 20)  # the GUI keeps one cache for the session
    pose, ref = person_track(n_frames), reference_photo()
    threads_before = set(threading.enumerate())
    ends = {"Cancelled": 0, "Finished": 0}
    at: dict[int, tuple[float, float]] = {}
    t0 = time.monotonic()
    for i in range(1, cycles + 1):
        ends[cycle(name, backend, cache, pose, ref, i, n_frames)] += 1
        if i in (10, cycles) or i % 50 == 0:
            gc.collect()
            at[i] = rss_mb()
            print(f"  {name} cycle {i:4d}: peak RSS {at[i][0]:7.1f} MiB, current {at[i][1]:7.1f} MiB "
                  f"(frame cache {cache.memory_bytes / 2**20:5.1f} of {cache.budget_bytes / 2**20:.0f} MiB), "
                  f"threads {threading.active_count()}, {time.monotonic() - t0:6.1f} s", flush=True)
    gc.collect()
    leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    ten = at.get(10, at[min(at)])
    last = at[cycles]
    growth = (last[0] - ten[0]) / ten[0]
    print(f"{name}: {cycles} cycles in {time.monotonic() - t0:.0f} s; cancelled renders ended "
          f"{ends['Cancelled']}x Cancelled, {ends['Finished']}x Finished (too quick to cancel)")
    print(f"{name}: peak RSS at cycle 10 {ten[0]:.1f} MiB, at cycle {cycles} {last[0]:.1f} MiB "
          f"({100 * growth:+.1f}%; current {ten[1]:.1f} -> {last[1]:.1f} MiB) -> "
          f"{'FLAT' if growth <= 0.10 else 'GROWING'}")
    print(f"{name}: leaked threads: {len(leaked)}" + (f" {[t.name for t in leaked]}" if leaked else ""))
    return {"growth": growth, "leaked": len(leaked)}


def main(argv: list[str] | None = None) -> int:
    """Run the soak; exit 1 if memory grew more than 10% or a thread leaked."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--backends", default="xdyna,draft", help="comma-separated: xdyna, draft")
    ap.add_argument("--frames", type=int, help="frames per render (default: 8 for xdyna, 24 for draft)")
    args = ap.parse_args(argv)
    ok = True
    for name in args.backends.split(","):
        name = name.strip()
        r = soak(name, args.cycles, args.frames or (8 if name == "xdyna" else 24))
        ok &= r["growth"] <= 0.10 and r["leaked"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
