"""Extraction speed at 512x896 (the X-Dyna render size) on this machine.

Builds a driving clip from scikit-image's astronaut photo (moved, rotated and scaled over the
clip, on a 512x896 canvas), then times :func:`studio.extract.extractor.extract_frames` with the
default video-mode MediaPipe detector. Prints frames per second for the whole extraction and,
with ``--parts``, for the body-only and body+face configurations, plus the machine load
(other processes share the cores: measure when ``uptime`` shows a low load).

    python bench/extract_bench.py [--frames 120] [--parts] [--video] [--clip VIDEO]

``--video`` also encodes the clip to H.264 and times ``extract_video`` end to end (decode
included, cache disabled). ``--clip VIDEO`` times a real clip instead of the synthetic one (its
frames are decoded into memory first, so only detection is timed), e.g.
``--clip ../shared/fixtures/real_dance/driving_2.mp4`` (512x896, a dancer with small hands).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

W, H = 512, 896


def make_clip(n: int) -> list[np.ndarray]:
    """``n`` 512x896 frames of the astronaut photo moving over a grey canvas."""
    import cv2
    from skimage import data

    img = data.astronaut()
    frames = []
    for i in range(n):
        t = i / max(1, n - 1)
        rot = 8.0 * math.sin(2 * math.pi * t)
        scale = 0.9 + 0.15 * math.sin(math.pi * t)
        m = cv2.getRotationMatrix2D((256, 256), rot, scale)
        m[0, 2] += W / 2 - 256 + 40 * math.sin(2 * math.pi * t)
        m[1, 2] += H / 2 - 256 + 60 * math.cos(2 * math.pi * t)
        frames.append(cv2.warpAffine(img, m, (W, H), borderValue=(90, 90, 90)))
    return frames


def time_frames(frames: list[np.ndarray], pipeline: bool = True, **opts: object) -> tuple[float, float, int]:
    """(wall-clock fps, CPU-time fps, frames with a person) of one extraction.

    CPU-time fps counts the CPU seconds of all the process's threads; on a loaded machine it
    shows what the extraction itself costs, independent of other processes.
    """
    from studio.extract.extractor import ExtractOptions, extract_frames

    cpu0 = time.process_time()
    res = extract_frames(frames, 25.0, (W, H), total=len(frames), options=ExtractOptions(**opts),
                         pipeline=pipeline)
    cpu = time.process_time() - cpu0
    return len(frames) / res.seconds, len(frames) / cpu, int(res.raw_pose.has_person().sum())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--parts", action="store_true", help="also time body-only and body+face")
    ap.add_argument("--video", action="store_true", help="also time extract_video on an encoded clip")
    ap.add_argument("--clip", help="time this video's frames instead of the synthetic clip")
    ap.add_argument("--repeat", type=int, default=1, help="time the extraction this many times, keep the best")
    args = ap.parse_args(argv)
    global W, H
    if args.clip:
        from studio.media.video import VideoReader

        with VideoReader(args.clip) as reader:
            frames = [reader.read(i) for i in range(min(args.frames, reader.frame_count))]
            W, H = reader.size
        args.frames = len(frames)
    else:
        frames = make_clip(args.frames)
    load0 = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average (1 min) before: {load0:.2f}")
    time_frames(frames[:10])  # warm up model loading and caches
    runs = [time_frames(frames) for _ in range(max(1, args.repeat))]
    fps, cpu_fps, found = max(runs)
    print(f"extraction (body + hands + face), {W}x{H}, {args.frames} frames: {fps:.1f} fps wall-clock "
          f"({cpu_fps:.1f} fps by CPU time; person found on {found}/{args.frames}); target >= 15 fps")
    if args.parts:
        fps_s, cpu_s, _ = time_frames(frames, pipeline=False)
        print(f"  same without the two-thread pipeline: {fps_s:.1f} fps ({cpu_s:.1f} by CPU time)")
        fps_b, cpu_b, _ = time_frames(frames, hands=False, face=False)
        fps_bf, cpu_bf, _ = time_frames(frames, hands=False)
        print(f"  body only: {fps_b:.1f} fps ({cpu_b:.1f} by CPU time); "
              f"body + face: {fps_bf:.1f} fps ({cpu_bf:.1f} by CPU time)")
    if args.video:
        import imageio.v3 as iio

        from studio.extract.extractor import extract_video

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "clip.mp4")
            iio.imwrite(path, np.stack(frames), fps=25, codec="libx264", macro_block_size=16)
            t0 = time.perf_counter()
            res = extract_video(path, use_cache=False)
            dt = time.perf_counter() - t0
            print(f"  extract_video end to end (decode + detect): {len(res.pose) / dt:.1f} fps")
    print(f"load average (1 min) after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
