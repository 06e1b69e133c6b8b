"""``tests/backends`` (the contract mixin) and the example plug-in's source are put on ``sys.path``."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "tests" / "backends", ROOT / "examples" / "echo_backend"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
