"""Entry point of the bundle's window executable (``studio`` / ``studio.exe`` / the macOS app).

Opens the studio window; a project file given as the first argument (what a file manager passes
when a ``.studio.json`` file is opened with the app) is loaded into it.
"""

from __future__ import annotations

import multiprocessing
import sys

from bundle_runtime import prepare_frozen_process


def _project_argument(argv: list[str]) -> str | None:
    """The first argument that is not an option (macOS adds ``-psn_...`` on old systems)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def main() -> int:
    """Run the studio window until it closes; its exit code."""
    prepare_frozen_process()
    from studio.gui.app import run_gui

    return run_gui(_project_argument(sys.argv[1:]))


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
