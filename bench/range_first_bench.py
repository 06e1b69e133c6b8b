"""Time until the first poses show with range-first extraction vs extracting the whole clip.

    .venv/bin/python bench/range_first_bench.py ../shared/fixtures/real_dance/driving_1.mp4

Prints the machine load with the figures (they drop when the machine is busy).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("video", type=Path)
    args = ap.parse_args()
    os.environ["STUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="rf_bench_")  # nothing cached
    from studio.extract.extractor import extract_video
    from studio.extract.range_first import extract_first

    t0 = time.perf_counter()
    first = extract_first(args.video)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = extract_video(args.video, use_cache=False)
    t_full = time.perf_counter() - t0
    a, b = first.done
    print(f"{args.video.name}: {len(full.pose)} frames at {full.pose.fps:g} fps")
    print(f"range-first: frames {a}-{b - 1} ({b - a} frames) posed after {t_first:.1f} s")
    print(f"whole clip:  {len(full.pose)} frames posed after {t_full:.1f} s")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
