"""The ``studio`` command line. With no arguments it opens the studio window; with a project file
as its only argument (``studio my.studio.json``, what a file manager runs) it opens that project.

Each command lives in its own module under :mod:`studio.cli` that defines
``register(subparsers)``; the module adds a parser and sets ``func`` on it, a callable taking the
parsed namespace and returning an exit code. Add a command by adding its module name to
:data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from studio import __version__
from studio.core.errors import StudioError

COMMANDS: tuple[str, ...] = ("backends", "contact_sheet", "doctor", "export", "extract", "maps", "queue", "render", "weights")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every command's subparser registered."""
    parser = argparse.ArgumentParser(
        prog="studio",
        description="X-Dyna Animation Studio: animate a photo of a person from a driving video. "
        "Run without a command to open the studio window.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show technical details of errors and the native libraries' log lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from studio.cli.options_flags import set_argv

    set_argv(sys.argv[1:] if argv is None else argv)  # `render --backend B` gets B's option flags
    for name in COMMANDS:
        importlib.import_module(f"studio.cli.{name}").register(sub)
    parser.set_defaults(command_names=tuple(sub.choices))  # what a lone file name must not be
    return parser


def report_error(err: StudioError, verbose: bool = False) -> None:
    """Print a :class:`StudioError` for a person at a terminal."""
    print(f"error: {err.title}\n  {err.description}", file=sys.stderr)
    if verbose and err.details:
        print(f"  details: {err.details}", file=sys.stderr)


def project_argument(argv: list[str], commands: set[str]) -> str | None:
    """The project file when ``argv`` is just one (besides ``-v``): a lone argument that is not a
    command and names a ``.json`` file or an existing file."""
    rest = [a for a in argv if a not in ("-v", "--verbose")]
    if len(rest) != 1 or rest[0].startswith("-") or rest[0] in commands:
        return None
    return rest[0] if rest[0].endswith(".json") or Path(rest[0]).is_file() else None


def _open_project(path: str) -> int:
    """Open the window with the project at ``path`` (checked first, so a typo is a clear error)."""
    if not Path(path).is_file():
        raise StudioError(
            "Project not found",
            f"{path} does not exist. Check the path, or run 'studio' and open a project from the window.",
        )
    from studio.gui.app import run_gui  # Qt is imported only here

    return run_gui(path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``studio`` script and ``python -m studio``."""
    if argv is None:  # this process is the command: end it quickly (not when called as a function)
        from studio.core.process_exit import freeze_at_exit

        freeze_at_exit()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    commands = set(parser.get_default("command_names"))
    project = project_argument(argv, commands)
    if project is not None:
        try:
            return _open_project(project)
        except StudioError as err:
            report_error(err, verbose="-v" in argv or "--verbose" in argv)
            return 2
    args = parser.parse_args(argv)
    if args.verbose:  # keep the native libraries' own log lines too (studio.core.native_logs)
        from studio.core.native_logs import VERBOSE_ENV

        os.environ[VERBOSE_ENV] = "1"
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
