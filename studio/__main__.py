"""``python -m studio``: the studio's command line; with no arguments it opens the window."""

import sys

from studio.cli import main

if __name__ == "__main__":
    sys.exit(main())
