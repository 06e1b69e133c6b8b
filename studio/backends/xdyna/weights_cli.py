"""X-Dyna's side of ``studio weights`` (named by its spec's :class:`~studio.core.backend.WeightsSpec`):
the key/shape check of every component (torch, ``meta`` device: nothing is loaded) and the
safetensors conversion."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.core.errors import StudioError


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


def check_keys(args: argparse.Namespace) -> int:
    """Key/shape check of every component with the file that provided each tensor."""
    from studio.backends.xdyna.components import check_components
    from studio.backends.xdyna.layout import resolve

    src = resolve(args.folder)
    try:
        reports = check_components(src, face=not getattr(args, "no_face", False), **_read_kwargs(getattr(args, "kwargs", None)))
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


def convert(args: argparse.Namespace) -> int:
    """Convert ``args.source`` into ``args.destination`` (``args.fp16``: store float16)."""
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
