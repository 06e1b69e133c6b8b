"""The reference harnesses' helper modules load side by side in one process.

Each backend's harness folder (tools/<backend>_reference/) is put on ``sys.path`` by the synthetic
release writers and the tests; a helper module name shared by two folders made whichever loaded
first shadow the other in the full test run (``write_release() takes from 1 to 3 positional
arguments but 4 were given``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_imported_harness_modules_have_names_of_their_own():
    """A module a writer or test imports from a harness folder exists in that folder only."""
    folders = sorted((ROOT / "tools").glob("*_reference"))
    seen: dict[str, Path] = {}
    for folder in folders:
        for path in folder.glob("*.py"):
            importers = [p for p in (ROOT / "tools" / "synthetic_releases").glob("*.py")]
            importers += list((ROOT / "tests").rglob("*.py")) + list((ROOT / "bench").glob("*.py"))
            imported = any(f"from {path.stem} import" in p.read_text() or f"import {path.stem}\n" in p.read_text()
                           for p in importers)
            if imported:
                assert path.stem not in seen, f"{path} and {seen[path.stem]} share a module name"
                seen[path.stem] = path


def test_both_synthetic_release_writers_load_in_one_process():
    pytest.importorskip("torch")
    saved = list(sys.path)
    try:
        dc = _load(ROOT / "tools" / "synthetic_releases" / "dynamictrl.py", "_dc_writer")
        sa = _load(ROOT / "tools" / "synthetic_releases" / "stableanimator.py", "_sa_writer")
    finally:
        sys.path[:] = saved
    assert Path(sys.modules[sa.write_release.__module__].__file__).parent.name == "stableanimator_reference"
    dc_helpers = {Path(m.__file__).parent.name for m in list(sys.modules.values())
                  if getattr(m, "TINY_TRANSFORMER", None) is dc.TINY_TRANSFORMER and getattr(m, "__file__", None)}
    assert "dynamictrl_reference" in dc_helpers
