"""The flags that say what a render job is, declared once for ``studio render`` and ``studio queue
add`` (both build their job with :func:`studio.core.job_factory.make_job`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli.render_inputs import _parse_range, _parse_size
from studio.core import registry


def add_job_flags(p: argparse.ArgumentParser) -> None:
    """Output, renderer, weights, seed, size, frame range and device."""
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="out.mp4, out.webm, out.gif, or a folder (PNG sequence)")
    p.add_argument("--backend", choices=registry.names(),
                   help="renderer (default: the project's, else the default one); `studio backends` lists them, "
                   "`studio render --backend NAME --help` lists its options")
    p.add_argument("--weights", type=Path,
                   help="the renderer's weights folder (default: the project's, else $STUDIO_<NAME>_WEIGHTS "
                   "(for X-Dyna also $STUDIO_WEIGHTS_DIR), else the user data folder)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--size", type=_parse_size, metavar="WxH", help="render size, multiples of 8 (e.g. 512x896)")
    p.add_argument("--frames", type=_parse_range, metavar="A:B", help="driving frames A..B-1 (either may be empty)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (where the render runs)")
