"""``studio extract VIDEO -o track.json``: pose and face tracks of a driving video."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError


def register(subparsers: Any) -> None:
    """Add the ``extract`` command."""
    p = subparsers.add_parser(
        "extract",
        help="detect body, hands and face on every frame of a video",
        description="Run pose (OpenPose-18 body + hands) and face extraction on VIDEO and write the "
        "tracks (cleaned and raw) as JSON. Results are cached per video content, so running it "
        "again on the same video is instant (cache folder: $STUDIO_CACHE_DIR or the user cache).",
    )
    p.add_argument("video", type=Path, metavar="VIDEO", help="the driving video")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="track file to write (.json)")
    p.add_argument("--no-hands", action="store_true", help="skip hand landmarks")
    p.add_argument("--no-face", action="store_true", help="skip face landmarks (no S-Face maps later)")
    p.add_argument("--no-smoothing", action="store_true", help="keep the detections unsmoothed")
    p.add_argument("--max-gap", type=int, default=8, help="fill gaps of up to this many frames (default 8)")
    p.add_argument("--no-cache", action="store_true", help="ignore and do not write the extraction cache")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract ``args.video`` into ``args.output``."""
    from studio.extract.extractor import ExtractOptions, extract_video

    if args.max_gap < 0:
        raise StudioError("Invalid --max-gap", f"--max-gap {args.max_gap} must be 0 or more frames.")
    opts = ExtractOptions(hands=not args.no_hands, face=not args.no_face,
                          smoothing=not args.no_smoothing, max_gap=args.max_gap)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(unit="frame", desc=f"extract {args.video.name}", file=sys.stderr, leave=False)

    def progress(done: int, total: int | None) -> None:
        if bar is not None:
            if total is not None and bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

    try:
        res = extract_video(args.video, options=opts, progress=progress, use_cache=not args.no_cache)
    finally:
        if bar is not None:
            bar.close()
    out = res.save(args.output)
    n = len(res.pose)
    found = int(res.pose.has_person().sum())
    faces = int(res.face.has_face().sum())
    how = "from cache" if res.from_cache else f"{n / res.seconds:.1f} fps" if res.seconds > 0 else ""
    print(f"wrote {out}: {n} frames, person on {found}, face on {faces} ({how})")
    from studio.extract.quality import pose_quality, sface_coverage

    quality = pose_quality(res.pose, res.face)
    print(f"  {quality.summary()}")  # the driving panel's summary
    print(f"  {sface_coverage(quality, face_track=not args.no_face)}")
    if res.swapped_frames:
        print(f"  left/right labels repaired on {len(res.swapped_frames)} frame(s): {res.swapped_frames[:10]}")
    if res.failed_frames:
        print(f"warning: the detector failed on {len(res.failed_frames)} frame(s): {res.failed_frames[:10]}",
              file=sys.stderr)
    return 0
