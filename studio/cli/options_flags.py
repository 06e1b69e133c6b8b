"""Command-line flags built from a backend's options model (:mod:`studio.core.options`).

``studio render --backend B`` (and ``studio queue add``) get one flag per field of B's options
model: ``--steps N``, ``--schedule {reference,static,stream}``, ``--face/--no-face`` ..., with
the model's help, range and default, so ``studio render --backend B --help`` lists B's options.
Which backends' flags a command line gets is decided before parsing (:func:`chosen_backends`):
the one named by ``--backend``, else every registered backend's.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from studio.core import registry
from studio.core.errors import StudioError
from studio.core.options import OptionField

#: The command line being parsed (set by :func:`studio.cli.build_parser`), read by the commands
#: whose flags depend on the backend.
_ARGV: list[str] = []


def set_argv(argv: Sequence[str]) -> None:
    """Remember the command line :func:`chosen_backend` looks at."""
    _ARGV[:] = list(argv)


def _value(argv: Sequence[str], flag: str) -> str | None:
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def chosen_backends(argv: Sequence[str] | None = None) -> tuple[str, ...]:
    """The backends whose option flags the command line gets: the one named by ``--backend``,
    else every backend (the project's or the default backend is known only after parsing)."""
    argv = list(_ARGV if argv is None else argv)
    name = _value(argv, "--backend")
    if name is not None and name in registry.names():
        return (name,)
    return registry.names()


def _help(f: OptionField) -> str:
    parts = [f.help.replace("%", "%%")]
    if f.minimum is not None or f.maximum is not None:
        lo = "" if f.minimum is None else f"{f.minimum:g}"
        hi = "" if f.maximum is None else f"{f.maximum:g}"
        parts.append(f"Range {lo}..{hi}.")
    shown = repr(f.default) if f.kind == "str" else str(f.default).lower() if f.kind == "bool" else f.default
    parts.append(f"Default: {shown}.")
    if f.requires:
        parts.append(f"Only with --{f.requires.replace('_', '-')}.")
    return " ".join(parts)


def add_option_flags(parser: argparse.ArgumentParser, backends: Sequence[str]) -> None:
    """Add the option flags of ``backends`` to ``parser``, a group per backend; an option that an
    earlier backend already has (same name and kind) shares its flag. The parsed namespace gets
    ``option_dests`` (option name -> namespace attribute)."""
    dests: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for backend in backends:
        spec = registry.get_spec(backend)
        fields = [f for f in spec.options.describe() if f.name not in dests or kinds[f.name] != f.kind]
        if not fields:
            continue
        group = parser.add_argument_group(f"{spec.label} options (--backend {spec.name}; from its options model)")
        for f in fields:
            dest = f"opt_{f.name}" if f.name not in dests else f"opt_{spec.name}_{f.name}"
            kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": _help(f)}
            if f.kind == "bool":
                kwargs["action"] = argparse.BooleanOptionalAction
            elif f.kind == "choice":
                kwargs["choices"] = f.choices
            else:
                kwargs["type"] = {"int": int, "float": float, "str": str}[f.kind]
                kwargs["metavar"] = f.kind.upper() if f.kind != "str" else "TEXT"
            try:
                group.add_argument(f"--{f.flag}", **kwargs)
            except argparse.ArgumentError:  # a shared flag's name: prefix it with the backend
                group.add_argument(f"--{spec.name}-{f.flag}", **kwargs)
            if f.name not in dests:
                dests[f.name], kinds[f.name] = dest, f.kind
    parser.set_defaults(option_dests=dests)


def option_values(args: argparse.Namespace, backend: str) -> dict[str, Any]:
    """The options of ``backend`` given on the command line (name -> value; flags not given are
    left out). A given flag that ``backend`` does not have is a :class:`StudioError`."""
    fields = {f.name: f for f in registry.get_spec(backend).options.describe()}
    out = {}
    for name, dest in getattr(args, "option_dests", {}).items():
        v = getattr(args, dest, None)
        if v is None:
            continue
        if name not in fields:
            owners = [n for n, s in registry.specs().items() if name in s.options.model_fields]
            if not owners:
                raise StudioError("Unknown option", f"--{name.replace('_', '-')} is not an option of any installed "
                                  f"renderer; `studio render --backend {backend} --help` lists {backend}'s.")
            raise StudioError(
                "Option of another renderer",
                f"--{name.replace('_', '-')} is an option of {', '.join(owners)}, not of the {backend} renderer. "
                f"Add --backend {owners[0]} to render with it, or leave the option out.",
            )
        out[name] = v
    return out
