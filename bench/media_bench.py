"""Video reading and export speed at 512x896 (the X-Dyna render size) on this machine.

Encodes a synthetic H.264 clip (keyframe every ``--gop`` frames), then prints:

* how long opening a :class:`~studio.media.video.VideoReader` takes,
* sequential decoding in frames per second,
* random access: mean time per ``read(i)`` at random indices, and its ratio to decoding the
  clip from the start up to each index (what a naive reader does),
* forward scrubbing (every 3rd frame): frames per second,
* export speed per format in frames per second.

Other processes share the cores: compare ratios, not absolute numbers.

    python bench/media_bench.py [--frames 300] [--gop 48]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.media.exporters import MP4Exporter, export_frames  # noqa: E402
from studio.media.video import VideoReader  # noqa: E402

W, H = 512, 896


def synthetic(n: int) -> list[np.ndarray]:
    """Moving gradients with some texture."""
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    rng = np.random.default_rng(0)
    grain = rng.integers(0, 24, (H, W), dtype=np.uint8)
    return [np.stack([(xx + 4 * i) % 256, (yy / 4 + 2 * i) % 256, grain + (i % 200)], -1).astype(np.uint8)
            for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--gop", type=int, default=48, help="keyframe interval of the test clip")
    args = parser.parse_args()
    frames = synthetic(args.frames)
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        MP4Exporter(preset="veryfast", keyframe_interval=args.gop).write(frames, 30, clip)

        t = time.perf_counter()
        reader = VideoReader(clip)
        print(f"open: {time.perf_counter() - t:.3f} s ({reader})")

        t = time.perf_counter()
        n = sum(1 for _ in reader)
        seq_fps = n / (time.perf_counter() - t)
        print(f"sequential decode: {seq_fps:.1f} fps")

        picks = random.Random(1).sample(range(reader.frame_count), 20)
        reader.close()
        t = time.perf_counter()
        for i in picks:
            reader.read(i)
        per_read = (time.perf_counter() - t) / len(picks)
        naive = np.mean([(i + 1) / seq_fps for i in picks])
        print(f"random read: {per_read * 1000:.1f} ms/frame; decoding from the start would take "
              f"{naive * 1000:.1f} ms ({naive / per_read:.1f}x slower), {reader.seeks} seeks")

        reader.close()
        t = time.perf_counter()
        scrub = list(range(0, reader.frame_count, 3))
        for i in scrub:
            reader.read(i)
        print(f"forward scrub (every 3rd frame): {len(scrub) / (time.perf_counter() - t):.1f} fps")
        reader.close()

        for name in ("out.mp4", "out.webm", "out.gif", "seq/"):
            t = time.perf_counter()
            export_frames(frames, 30, str(Path(tmp) / name))
            print(f"export {name:8s}: {len(frames) / (time.perf_counter() - t):.1f} fps")


if __name__ == "__main__":
    main()
