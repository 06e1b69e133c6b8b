"""``tests/backends`` (the contract mixin) and ``tests/render`` (small jobs) are put on ``sys.path``,
so any backend's tests can ``from contract import BackendContract``."""

import sys
from pathlib import Path

for extra in (Path(__file__).parent, Path(__file__).parents[1] / "render"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
