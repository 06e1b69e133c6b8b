"""Shared pieces of the render-farm tests: small jobs, the tiny X-Dyna weights, import paths.

``tests/farm`` (the slow test renderer) and ``tests/render`` (small jobs) are put on ``sys.path``
and on ``PYTHONPATH``, so helper processes and Ray actors started by the tests import them too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for extra in (HERE, HERE.parent / "render"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE), str(HERE.parent / "render"), *filter(None, [os.environ.get("PYTHONPATH")])])

@pytest.fixture
def queue(tmp_path):
    """An empty queue file in ``tmp_path``."""
    from studio.farm.queue import RenderQueue

    return RenderQueue(tmp_path / "queue.sqlite")
