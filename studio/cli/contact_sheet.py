"""``studio contact-sheet VIDEO -o sheet.png``: evenly spaced frames in a labelled grid."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError
from studio.media.contact_sheet import contact_sheet, save_image
from studio.media.source import open_frames


def register(subparsers: Any) -> None:
    """Add the ``contact-sheet`` command."""
    p = subparsers.add_parser(
        "contact-sheet",
        help="save a grid of evenly spaced frames of a video",
        description="Pick COUNT frames evenly spaced from the first to the last frame of a video (or a "
        "PNG-sequence folder) and save them as one image, each labelled with its frame number and time.",
    )
    p.add_argument("video", type=Path, metavar="VIDEO", help="a video file or a PNG-sequence folder")
    p.add_argument("-o", "--output", type=Path, required=True, help="the image to write (.png, .jpg, .webp)")
    p.add_argument("--count", type=int, default=8, help="how many frames (default 8)")
    p.add_argument("--cols", type=int, default=4, help="frames per row (default 4)")
    p.add_argument("--width", type=int, default=320, help="width of each frame in pixels (default 320)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the contact sheet of ``args.video`` to ``args.output``."""
    if args.count < 1 or args.cols < 1:
        raise StudioError("Invalid grid", f"--count ({args.count}) and --cols ({args.cols}) must be at least 1.")
    with open_frames(args.video) as reader:
        sheet = contact_sheet(reader, count=args.count, cols=args.cols, thumb_width=args.width)
    out = save_image(sheet, args.output)
    print(f"wrote {out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0
