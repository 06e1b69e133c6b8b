"""``studio maps TRACK --size WxH -o DIR``: write the X-Dyna conditioning PNGs of a track."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError


def parse_size(text: str) -> tuple[int, int]:
    """``"512x896"`` -> ``(512, 896)``; raises :class:`StudioError` otherwise."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text or "")
    if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
        raise StudioError("Invalid --size", f"--size {text!r} must look like 512x896 (width x height).")
    return int(m.group(1)), int(m.group(2))


def register(subparsers: Any) -> None:
    """Add the ``maps`` command."""
    p = subparsers.add_parser(
        "maps",
        help="write pose / S-Face conditioning PNGs from a track file",
        description="Draw the maps the X-Dyna ControlNets consume from a track file written by "
        "'studio extract': DIR/pose/NNN.png (head-less OpenPose skeleton with hands) and, when the "
        "video is available, DIR/sface_local/NNN.png, DIR/sface_global/NNN.png and the fitted "
        "frames DIR/driving/NNN.png.",
    )
    p.add_argument("track", type=Path, metavar="TRACK", help="track file from 'studio extract'")
    p.add_argument("--size", required=True, help="render size WxH, e.g. 512x896")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--video", type=Path, help="the driving video (default: the one the track was made from)")
    p.add_argument("--fit", choices=("top", "center", "stretch"), default="top",
                   help="how frames are fitted to the size: 'top' (crop biased to the top, the official "
                   "S-Face mode; default), 'center' (centre crop), 'stretch' (official pose-only mode)")
    p.add_argument("--head", action="store_true", help="draw eyes and ears too (default: head-less)")
    p.add_argument("--no-hands", action="store_true", help="do not draw hands")
    p.add_argument("--pose-only", action="store_true", help="write only the pose maps (no video needed)")
    p.add_argument("--raw", action="store_true", help="use the raw (unsmoothed, unfilled) tracks")
    p.add_argument("--reference", type=Path,
                   help="a reference photo: retarget the skeleton to this person's proportions")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the maps of ``args.track`` into ``args.output``."""
    from PIL import Image

    from studio.extract.conditioning import iter_frame_maps
    from studio.extract.extractor import ExtractionResult
    from studio.extract.fit import CanvasFit

    width, height = parse_size(args.size)
    res = ExtractionResult.load(args.track)
    pose, face = (res.raw_pose, res.raw_face) if args.raw else (res.pose, res.face)
    fit = CanvasFit.create(pose.width, pose.height, width, height, args.fit)
    if args.reference is not None:
        pose = _retarget(pose, fit, args.reference, width, height)
    video = args.video or (Path(res.source) if res.source else None)
    reader = None
    if not args.pose_only:
        if video is None or not video.exists():
            raise StudioError(
                "Driving video not found",
                f"S-Face maps need the driving video ({video or 'unknown'}). Pass --video PATH, "
                "or --pose-only for skeleton maps alone.",
            )
        from studio.media.video import VideoReader

        reader = VideoReader(video)
        if reader.size != (pose.width, pose.height):
            reader.close()
            raise StudioError("Video does not match the track",
                              f"{video} is {reader.size[0]}x{reader.size[1]} but the track was made "
                              f"from {pose.width}x{pose.height} frames.")
    dirs = {k: args.output / k for k in ("pose", "driving", "sface_local", "sface_global")}
    wanted = ["pose"] if reader is None else list(dirs)
    try:
        for k in wanted:
            dirs[k].mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StudioError(f"Cannot write to {args.output}", f"Could not create {args.output}.", repr(exc)) from exc
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(pose), unit="frame", desc="maps", file=sys.stderr, leave=False)
    try:
        frames = iter(reader) if reader is not None else None
        for m in iter_frame_maps(pose, face if reader is not None else None, fit, frames,
                                 head=args.head, hands=not args.no_hands):
            name = f"{m.index:03d}.png"
            Image.fromarray(m.pose).save(dirs["pose"] / name)
            if m.frame is not None:
                Image.fromarray(m.frame).save(dirs["driving"] / name)
            if m.sface_local is not None and m.sface_global is not None:
                Image.fromarray(m.sface_local).save(dirs["sface_local"] / name)
                Image.fromarray(m.sface_global).save(dirs["sface_global"] / name)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if reader is not None:
            reader.close()
    print(f"wrote {len(pose)} frames of {', '.join(wanted)} maps ({width}x{height}, fit {args.fit}) to {args.output}")
    return 0


def _retarget(pose: Any, fit: Any, photo: Path, width: int, height: int) -> Any:
    import numpy as np
    from PIL import Image

    from studio.extract.fit import CanvasFit
    from studio.extract.image import detect_image
    from studio.extract.retarget import retarget_track

    try:
        rgb = np.asarray(Image.open(photo).convert("RGB"))
    except OSError as exc:
        raise StudioError(f"Cannot read {photo.name}", f"{photo} is not a readable image.", repr(exc)) from exc
    ref_pose, _ = detect_image(rgb)
    from studio.extract.pose_check import check_reference_pose

    check = check_reference_pose(ref_pose)
    if not check.ok and check.kinds != ("missing",):
        print(f"warning: {photo.name}: {check.summary()} Retargeting to it anyway (--reference asks for it).",
              file=sys.stderr)
    ref_fit = CanvasFit.create(rgb.shape[1], rgb.shape[0], width, height, "center")
    return retarget_track(pose, ref_pose, driving_fit=fit, reference_fit=ref_fit)
