"""Shared fixtures of the extraction tests."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (512x512 RGB), test-only data."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own extraction cache folder."""
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
