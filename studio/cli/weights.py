"""``studio weights``: inspect or convert the X-Dyna weights.

* ``studio weights check DIR`` lists every missing piece of a release folder (no torch needed),
  then, with torch installed, checks every key and shape on the ``meta`` device (nothing is
  loaded) and prints, per component, which file provided how many tensors (the UNet is
  assembled from its base files and the X-Dyna checkpoint as the official code does).
* ``studio weights convert SRC DST [--fp16]`` writes a safetensors copy that loads faster and
  without unpickling (the pipeline accepts it in place of the release folder).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from studio.core.errors import StudioError


def register(subparsers: Any) -> None:
    """Add the ``weights`` command and its ``check``/``convert`` subcommands."""
    p = subparsers.add_parser("weights", help="check or convert the X-Dyna weights",
                              description="Check an X-Dyna weights folder or convert it to safetensors.")
    sub = p.add_subparsers(dest="weights_command", metavar="SUBCOMMAND", required=True)
    c = sub.add_parser("check", help="list what is missing from a weights folder",
                       description="List every missing file of the official release layout under DIR.")
    c.add_argument("folder", type=Path, metavar="DIR", help="the 'pretrained_weights' folder or its parent")
    c.add_argument("--no-face", action="store_true", help="do not require the S-Face ControlNet")
    c.add_argument("--files-only", action="store_true", help="only check that the files are there (no torch)")
    c.add_argument("--kwargs", type=Path, metavar="JSON", help="a JSON file with 'resampler_kwargs' and/or "
                   "'motion_module_kwargs' for a scaled-down test release (e.g. one written by "
                   "tools/make_synthetic_release.py --scale small)")
    c.set_defaults(func=run_check)
    v = sub.add_parser(
        "convert", help="write a fast-loading safetensors copy",
        description="Read the official release (pickle checkpoints opened with weights_only=True) and "
        "write DST: one safetensors file per model, its config, the tokenizer and a manifest. "
        "Every tensor is checked against its model first. Load DST wherever the release folder "
        "is accepted.",
    )
    v.add_argument("source", type=Path, metavar="SRC", help="the release folder (or a converted copy)")
    v.add_argument("destination", type=Path, metavar="DST", help="an empty or new folder")
    v.add_argument("--fp16", action="store_true", help="store float16 tensors (half the size)")
    v.set_defaults(func=run_convert)


def run_check(args: argparse.Namespace) -> int:
    """Print the problems with ``args.folder``; exit 1 if there are any."""
    from studio.backends.xdyna.layout import check_release

    problems = check_release(args.folder, face=not args.no_face)
    if problems:
        print(f"{args.folder}: {len(problems)} problem(s)")
        for line in problems:
            print(f"  missing: {line}")
        return 1
    print(f"{args.folder}: complete")
    if args.files_only:
        return 0
    if importlib.util.find_spec("torch") is None:  # torch itself is imported only by the backend
        print("  (torch is not installed: keys and shapes were not checked)")
        return 0
    return _check_keys(args)


def _read_kwargs(path: Path | None) -> dict:
    if path is None:
        return {}
    import json

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise StudioError("Cannot read model settings", f"{path} is not a readable JSON file.", str(err)) from err
    data = data.get("weights", data) if isinstance(data, dict) else data  # a golden case.json keeps them here
    if not isinstance(data, dict):
        raise StudioError("Cannot read model settings", f"{path} holds no JSON object with resampler_kwargs.")
    return {k: data[k] for k in ("resampler_kwargs", "motion_module_kwargs") if isinstance(data.get(k), dict)}


def _check_keys(args: argparse.Namespace) -> int:
    """Key/shape check of every component with the file that provided each tensor."""
    from studio.backends.xdyna.components import check_components
    from studio.backends.xdyna.layout import resolve

    src = resolve(args.folder)
    try:
        reports = check_components(src, face=not args.no_face, **_read_kwargs(args.kwargs))
    except StudioError as err:
        print(f"  problem: {err.title}: {err.description}")
        return 1
    print("  every key and shape matches; tensors per source:")
    for r in reports:
        print(f"  {r.name} ({r.tensors} tensors)")
        for source, n in r.provided.items():
            print(f"    {n:6d}  {_short(source, src.root)}")
        for source, n in r.ignored.items():
            print(f"    {n:6d}  ignored (not in the model): {_short(source, src.root)}")
    if not src.converted and "unet_motion" not in src.unet_bases:
        print("  note: animatediff_v15_v1_ipplus.pth is not in the SD1.5 'unet' folder. The official script "
              "refuses to start without it; the studio needs it only when the UNet checkpoint lacks keys.")
    return 0


def _short(source: str, root: Path) -> str:
    try:
        return str(Path(source).relative_to(root))
    except ValueError:
        return source


def run_convert(args: argparse.Namespace) -> int:
    """Convert ``args.source`` into ``args.destination``."""
    dst = Path(args.destination)
    if dst.exists() and not dst.is_dir():
        raise StudioError("Invalid destination", f"{dst} exists and is not a folder.")
    if dst.is_dir() and any(dst.iterdir()):
        raise StudioError("Invalid destination", f"{dst} is not empty; choose a new or empty folder.")
    from studio.backends.xdyna.convert import convert_release

    manifest = convert_release(args.source, dst, fp16=args.fp16,
                               progress=lambda name: print(f"converting {name} ...", file=sys.stderr))
    print(f"wrote {manifest.parent} ({'float16' if args.fp16 else 'source precision'})")
    return 0
