"""Entry point of the bundle's console executable (``studio-cli`` / ``studio-cli.exe``).

The same command line as the ``studio`` script of a pip installation (``studio-cli render
--sample -o out.mp4``, ``studio-cli doctor``, ...); with no command it opens the window.
"""

from __future__ import annotations

import multiprocessing
import sys

from bundle_runtime import prepare_frozen_process


def main() -> int:
    """Run one command of :func:`studio.cli.main`; its exit code."""
    prepare_frozen_process()
    from studio.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
