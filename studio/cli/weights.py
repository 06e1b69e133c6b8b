"""``studio weights``: each renderer's weights folder (see its spec's
:class:`~studio.core.backend.WeightsSpec`).

* ``studio weights`` (or ``studio weights list``) shows, per renderer with weights, the folder it
  would use, where that folder came from, and what is missing in it.
* ``studio weights check DIR [--backend NAME]`` lists every missing piece of a weights folder (no
  torch needed), then, when the renderer has a deeper check and its dependencies are installed,
  runs it (X-Dyna: every key and shape on the ``meta`` device, per component which file provided
  how many tensors).
* ``studio weights convert SRC DST [--fp16] [--backend NAME]``: a renderer's conversion of its
  folder (X-Dyna: a safetensors copy that loads faster and without unpickling).

``--backend`` defaults to X-Dyna (the renderer these commands served before there were others).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from studio.core import registry
from studio.core.backend import BackendSpec, _load
from studio.core.errors import StudioError
from studio.core.weights_folder import resolve_weights_dir


def _with_weights() -> tuple[str, ...]:
    return tuple(n for n, s in registry.specs().items() if s.weights is not None)


def register(subparsers: Any) -> None:
    """Add the ``weights`` command and its ``list``/``check``/``convert`` subcommands."""
    p = subparsers.add_parser("weights", help="show, check or convert each renderer's weights",
                              description="Show each renderer's weights folder, check one, or convert it.")
    p.set_defaults(func=run_list)
    sub = p.add_subparsers(dest="weights_command", metavar="SUBCOMMAND")
    ls = sub.add_parser("list", help="each renderer's weights folder and what is missing in it")
    ls.set_defaults(func=run_list)
    default = registry.legacy_name()
    c = sub.add_parser("check", help="list what is missing from a weights folder",
                       description="List every missing file of a renderer's weights layout under DIR.")
    c.add_argument("folder", type=Path, metavar="DIR", help="the weights folder (X-Dyna: 'pretrained_weights' or its parent)")
    c.add_argument("--backend", choices=_with_weights(), default=default, help=f"the renderer (default: {default})")
    c.add_argument("--no-face", action="store_true", help="X-Dyna: do not require the S-Face ControlNet")
    c.add_argument("--files-only", action="store_true", help="only check that the files are there (no torch)")
    c.add_argument("--kwargs", type=Path, metavar="JSON", help="X-Dyna: a JSON file with 'resampler_kwargs' and/or "
                   "'motion_module_kwargs' for a scaled-down test release (e.g. one written by "
                   "tools/make_synthetic_release.py --scale small)")
    c.set_defaults(func=run_check)
    v = sub.add_parser(
        "convert", help="write a renderer's converted copy of its weights",
        description="X-Dyna: read the official release (pickle checkpoints opened with weights_only=True) and "
        "write DST: one safetensors file per model, its config, the tokenizer and a manifest. "
        "Every tensor is checked against its model first. Load DST wherever the release folder "
        "is accepted.",
    )
    v.add_argument("source", type=Path, metavar="SRC", help="the weights folder (or a converted copy)")
    v.add_argument("destination", type=Path, metavar="DST", help="an empty or new folder")
    v.add_argument("--backend", choices=_with_weights(), default=default, help=f"the renderer (default: {default})")
    v.add_argument("--fp16", action="store_true", help="store float16 tensors (half the size)")
    v.set_defaults(func=run_convert)


def _spec(name: str) -> BackendSpec:
    spec = registry.get_spec(name)
    if spec.weights is None:
        raise StudioError("No weights", f"The {spec.label} renderer needs no weights.")
    return spec


def run_list(args: argparse.Namespace) -> int:
    """Per renderer with weights: its folder, where it came from, and what is missing."""
    for name in _with_weights():
        spec = registry.get_spec(name)
        folder = resolve_weights_dir(backend=name)
        problems = spec.weights_problems(folder.path)
        print(f"{name}: {spec.label}\n  folder: {folder.explained}\n  set with: --weights DIR or ${spec.weights.env_var}")
        print("  complete" if not problems else f"  {len(problems)} missing:")
        for line in problems[:8]:
            print(f"    {line}")
        if len(problems) > 8:
            print(f"    ... and {len(problems) - 8} more")
        if spec.weights.licence:
            print(f"  licence: {spec.weights.licence}")
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Print the problems with ``args.folder``; exit 1 if there are any."""
    spec = _spec(args.backend)
    options = spec.options(face_controlnet=False) if args.no_face and "face_controlnet" in spec.options.model_fields \
        else None
    problems = spec.weights_problems(args.folder, options)
    if problems:
        print(f"{args.folder}: {len(problems)} problem(s)")
        for line in problems:
            print(f"  missing: {line}")
        return 1
    print(f"{args.folder}: complete")
    if args.files_only or spec.weights.inspect is None:
        return 0
    missing = spec.missing_modules()
    if missing:  # torch itself is imported only by the backend
        print(f"  ({', '.join(missing)} not installed: keys and shapes were not checked)")
        return 0
    return int(_load(spec.weights.inspect)(args))


def run_convert(args: argparse.Namespace) -> int:
    """Convert ``args.source`` into ``args.destination`` with the renderer's converter."""
    spec = _spec(args.backend)
    if spec.weights.convert is None:
        raise StudioError("Nothing to convert", f"The {spec.label} renderer has no weights conversion.")
    return int(_load(spec.weights.convert)(args))
