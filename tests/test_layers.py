"""Layer rules. The rules themselves are import-linter contracts in pyproject.toml (layers cli > gui
> farm > backends > extract > media > core; Qt only in studio.gui; torch only in backend
packages; nothing outside studio.backends imports a backend package), checked statically by ``lint-imports`` in .ci/run and here. One subprocess
test also imports every module of the lower layers and looks at what actually got loaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
LOWER = ("studio.core", "studio.media", "studio.extract")
HEAVY = ("PySide6", "shiboken6", "superqt", "torch", "diffusers", "transformers")


def _lint(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None if pythonpath is None else {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_pyproject_declares_the_contracts() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert config["root_package"] == "studio" and config["include_external_packages"] is True
    contracts = {c["name"]: c for c in config["contracts"]}
    layers = next(c for c in contracts.values() if c["type"] == "layers")["layers"]
    assert [name.strip("()") for name in layers] == [
        "studio.cli", "studio.gui", "studio.farm", "studio.backends", "studio.extract", "studio.media", "studio.core"]
    forbidden = [c for c in contracts.values() if c["type"] == "forbidden"]
    assert any("PySide6" in c["forbidden_modules"] and set(LOWER) <= set(c["source_modules"]) for c in forbidden)
    assert any("torch" in c["forbidden_modules"] and c["source_modules"] == ["studio"]
               and all(i.startswith(("studio.backends.", "studio.farm.")) and not i.startswith("studio.backends.draft")
                       for i in c["ignore_imports"])
               for c in forbidden)


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e .[dev])")
def test_import_contracts_are_kept() -> None:
    run = _lint(REPO)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout and "KEPT" in run.stdout


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed (pip install -e .[dev])")
@pytest.mark.parametrize("module, line, contract", [
    ("studio/core/_planted.py", "import PySide6.QtCore\n", "No Qt below the window"),
    ("studio/media/_planted.py", "from studio.backends.xdyna import pipeline\n", "No torch below the backends"),
    ("studio/cli/_planted.py", "import torch\n", "torch only in backend packages"),
    ("studio/gui/_planted.py", "import studio.backends.draft.backend\n", "No backend package imported outside"),
    ("studio/farm/_planted.py", "from studio.backends.xdyna.split import SPLIT\n", "No backend package imported outside"),
    ("studio/extract/_planted.py", "import studio.gui.document\n", "Layers"),
])
def test_a_planted_import_breaks_a_contract(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """The contracts can fail: a copy of the package with one bad import is refused."""
    shutil.copytree(REPO / "studio", tmp_path / "studio", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / module).write_text(line)
    run = _lint(tmp_path, pythonpath=tmp_path)
    assert run.returncode != 0, run.stdout[-3000:]
    broken = run.stdout.split("Broken contracts")[-1]
    assert contract in broken and "_planted" in broken, run.stdout[-3000:]


def test_every_lower_layer_module_imports_without_qt_or_torch() -> None:
    """Import every module of studio.core, studio.media and studio.extract in a fresh interpreter:
    neither Qt nor torch gets loaded."""
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        done = []
        for pkg in {LOWER!r}:
            root = importlib.import_module(pkg)
            done.append(pkg)
            for info in pkgutil.walk_packages(root.__path__, pkg + "."):
                importlib.import_module(info.name)
                done.append(info.name)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
        print("imported", len(done))
        print("loaded", loaded)
    """)
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    on_disk = sum(1 for pkg in LOWER for p in (REPO / pkg.replace(".", "/")).rglob("*.py"))
    assert f"imported {on_disk}\n" in run.stdout  # every module, not just the lazy packages
    assert "loaded []" in run.stdout, run.stdout
