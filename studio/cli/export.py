"""``studio export SRC -o DST``: convert a video or a PNG-sequence folder to another format (a
video's sound goes along into MP4/WebM; ``--scale`` resizes with Lanczos)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.media.audio import slice_for_frames
from studio.media.export_path import write_export
from studio.media.exporters import EXPORTERS, exporter_for
from studio.media.panels import even, parse_scale
from studio.media.source import open_frames


def register(subparsers: Any) -> None:
    """Add the ``export`` command."""
    formats = ", ".join(ext for cls in EXPORTERS.values() for ext in cls.extensions)
    p = subparsers.add_parser(
        "export",
        help="convert a video or PNG-sequence folder to MP4, WebM, GIF or PNGs",
        description="Convert a video file or a folder of frame_00000.png ... into another format. "
        f"The output format follows DST's extension ({formats}); a DST ending in / (or without "
        "extension) is written as a PNG-sequence folder. Writing is atomic: an interrupted export "
        "leaves no partial file at DST.",
    )
    p.add_argument("source", type=Path, metavar="SRC", help="a video file or a PNG-sequence folder")
    p.add_argument("-o", "--output", required=True, metavar="DST", help="out.mp4, out.webm, out.gif or folder/")
    p.add_argument("--fps", type=float,
                   help="output frame rate; the same frames are retimed (default: the video's rate, "
                   "or 25 for a PNG folder)")
    p.add_argument("--scale", default="1", metavar="S",
                   help="resize by S, 0.25 to 2 or 25%% to 200%% (Lanczos; default 1)")
    p.add_argument("--audio", action=argparse.BooleanOptionalAction, default=True,
                   help="keep a source video's sound in MP4 (AAC) / WebM (Opus) outputs (default: on; only "
                   "when --fps keeps the video's rate, since retimed frames would drift from it)")
    p.add_argument("--no-progress", action="store_true", help="do not show a progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert ``args.source`` to ``args.output``."""
    if args.fps is not None and not 0 < args.fps <= 240:
        raise StudioError("Invalid frame rate", f"--fps {args.fps:g} must be between 0 and 240.")
    src, dst = Path(args.source), Path(args.output)
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise StudioError("Cannot export onto the source", f"{dst} is the source itself; choose another output.")
    scale = parse_scale(args.scale)
    exporter = exporter_for(args.output)
    with open_frames(src, fps=args.fps) as reader:
        fps = args.fps or reader.fps
        total = reader.frame_count
        sound = None
        same_rate = abs(fps - reader.fps) < 1e-6
        if args.audio and exporter.supports_audio and same_rate and not src.is_dir():
            sound = slice_for_frames(src, 0, total, reader.fps)
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="frame", desc=f"export {dst.name}", file=sys.stderr, leave=False)

        def progress(done: int, total_hint: int | None) -> None:
            if bar is not None:
                bar.update(done - bar.n)

        try:
            out = write_export(iter(reader), total, fps, args.output, scale=scale, audio=sound, progress=progress)
        finally:
            if bar is not None:
                bar.close()
    w, h = reader.size
    w, h = (w, h) if abs(scale - 1.0) < 1e-9 else (even(w * scale), even(h * scale))
    print(f"wrote {out} ({total} frames, {w}x{h}, {fps:g} fps, {exporter.name}"
          f"{', with sound' if sound is not None else ''})")
    return 0
