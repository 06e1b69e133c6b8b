"""``studio backends``: every registered renderer (:mod:`studio.core.registry`) with its label,
whether it can run here (dependencies, weights found) and what is missing; plug-ins that failed
to load are listed with the reason (naming their distribution and entry point)."""

from __future__ import annotations

import argparse
from typing import Any

from studio.core import registry
from studio.core.weights_folder import resolve_weights_dir


def register(subparsers: Any) -> None:
    """Add the ``backends`` command."""
    p = subparsers.add_parser(
        "backends", help="list the renderers, whether their weights are found and what is missing",
        description="List every renderer registered under the 'studio.backends' entry points: its label, "
        "capabilities, weights folder and what is missing. Renderers from other installed packages appear here too.",
    )
    p.add_argument("--verbose-layout", action="store_true", help="also list each renderer's weights layout")
    p.set_defaults(func=run)


def _capabilities(spec: Any) -> str:
    c = spec.capabilities
    names = [n for n in ("step_previews", "streaming", "prompt", "face_input", "live_photo", "split_render")
             if getattr(c, n)]
    if c.windows:
        names.insert(0, "windows (" + "/".join(c.schedules) + ")")
    return ", ".join(n.replace("_", " ") for n in names) or "-"


def run(args: argparse.Namespace) -> int:
    """Print the list; 0 even when a renderer cannot run (it reports)."""
    specs = registry.specs()
    width = max([len(n) for n in (*specs, *registry.broken())] + [8]) + 2
    pad = " " * width
    for name, spec in specs.items():
        folder = resolve_weights_dir(backend=name) if spec.weights is not None else None
        ok, why = spec.availability(folder.path if folder is not None else None)
        print(f"{name:<{width}}{spec.label}")
        if spec.description:
            print(f"{pad}{spec.description}")
        print(f"{pad}status: {why if ok else 'not ready: ' + why}")
        if folder is not None:
            problems = spec.weights_problems(folder.path)
            found = "found" if not problems else f"not found ({len(problems)} missing)"
            print(f"{pad}weights: {found}: {folder.explained}; set with --weights DIR or ${spec.weights.env_var}")
            for line in problems[:5]:
                print(f"{pad}  missing: {line}")
            if len(problems) > 5:
                print(f"{pad}  ... and {len(problems) - 5} more (studio weights check DIR --backend {name})")
            if args.verbose_layout:
                for rel in spec.weights.layout:
                    print(f"{pad}  layout: {rel}")
        else:
            print(f"{pad}weights: none needed")
        print(f"{pad}can: {_capabilities(spec)}")
        print(f"{pad}options: {', '.join(f.name for f in spec.options.describe()) or 'none'}"
              f" (studio render --backend {name} --help)")
    for name, err in registry.broken().items():
        print(f"{name:<{width}}BROKEN: {err.title}\n{pad}{err.description}")
    return 0
