"""tools/install.sh installs the torch build it says it does (issue 14, item 9): by default torch
from PyPI (the CUDA build on Linux), with --cpu the CPU-only build from PyTorch's CPU index; and the
README says the same. The script is run against a stand-in ``.venv/bin/python`` that records
what it is asked to do."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/calls.log"
case "$1" in -c) echo "xdyna-studio 0 with torch 2.13.0 (CPU build)";; esac
"""


def _run(tmp_path: Path, *args: str) -> tuple[int, list[str], str]:
    (tmp_path / "tools").mkdir(exist_ok=True)
    shutil.copy(REPO / "tools" / "install.sh", tmp_path / "tools" / "install.sh")
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_text(FAKE_PYTHON)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    log = fake.parent / "calls.log"
    log.unlink(missing_ok=True)
    run = subprocess.run(["bash", str(tmp_path / "tools" / "install.sh"), *args], capture_output=True,
                         text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return run.returncode, calls, run.stdout + run.stderr


def test_default_installs_torch_from_pypi(tmp_path: Path) -> None:
    rc, calls, out = _run(tmp_path)
    assert rc == 0, out
    torch_call = next(c for c in calls if "torch==" in c)
    assert torch_call == "-m pip install -q torch==2.13.0"  # PyPI: the CUDA build on Linux x86_64
    assert calls[-2] == "-m pip install -q -e .[xdyna]"


@pytest.mark.parametrize("flags", [("--cpu",), ("--dev", "--cpu"), ("--cpu", "--dev")])
def test_cpu_flag_installs_the_cpu_build_from_the_cpu_index(tmp_path: Path, flags: tuple[str, ...]) -> None:
    rc, calls, out = _run(tmp_path, *flags)
    assert rc == 0, out
    torch_call = next(c for c in calls if "torch==" in c)
    assert torch_call == "-m pip install -q --extra-index-url https://download.pytorch.org/whl/cpu torch==2.13.0+cpu"
    extras = set(calls[-2].removeprefix("-m pip install -q -e .[").removesuffix("]").split(","))
    assert extras >= {"xdyna", "dev"} if "--dev" in flags else extras == {"xdyna"}


def test_unknown_flag_is_refused(tmp_path: Path) -> None:
    rc, calls, out = _run(tmp_path, "--gpu-please")
    assert rc == 2 and calls == [] and "unknown option" in out


def test_readme_says_which_build_and_names_the_flag() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "CPU wheel" not in readme.split("## Command line")[0]  # the old, untrue promise
    assert "CUDA build" in readme and "--cpu" in readme and "download.pytorch.org/whl/cpu" in readme


def test_ci_uses_the_default_install_and_checks_the_import_contracts() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    command = next(line for line in ci.splitlines() if line.startswith("bash tools/install.sh"))
    assert command == ("bash tools/install.sh --dev && .venv/bin/lint-imports --no-cache --no-logo "
                       "&& .venv/bin/python -m pytest")
