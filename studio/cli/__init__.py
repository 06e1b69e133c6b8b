"""The ``studio`` command line. With no arguments it opens the studio window.

Each command lives in its own module under :mod:`studio.cli` that defines
``register(subparsers)``; the module adds a parser and sets ``func`` on it, a callable taking the
parsed namespace and returning an exit code. Add a command by adding its module name to
:data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from studio import __version__
from studio.core.errors import StudioError

COMMANDS: tuple[str, ...] = ("contact_sheet", "doctor", "export", "extract", "maps", "render", "weights")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command's subparser registered."""
    parser = argparse.ArgumentParser(
        prog="studio",
        description="X-Dyna Animation Studio: animate a photo of a person from a driving video. "
        "Run without a command to open the studio window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show technical details of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"studio.cli.{name}").register(sub)
    return parser


def report_error(err: StudioError, verbose: bool = False) -> None:
    """Print a :class:`StudioError` for a person at a terminal."""
    print(f"error: {err.title}\n  {err.description}", file=sys.stderr)
    if verbose and err.details:
        print(f"  details: {err.details}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``studio`` script and ``python -m studio``."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        from studio.gui.app import run_gui  # Qt is imported only here

        return run_gui()
    try:
        return int(args.func(args) or 0)
    except StudioError as err:
        report_error(err, verbose=args.verbose)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
