"""Make the helpers beside these tests (robust_helpers.py) importable under --import-mode=importlib,
and give every test its own extraction cache."""

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's extraction cache."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
