"""The README's test command leaves out the slow tests, and CI still runs them (issue 23, item 1).

``python -m pytest`` deselects the tests marked ``slow`` (pyproject ``addopts``), ``-m slow``
selects exactly them, and ``.ci/run`` makes a second pytest call for them: CI passes only when
both calls pass, and a call that collects nothing fails. ``.ci/run`` is run from a copy of the
repository's script against stand-ins for apt-get, tools/install.sh, lint-imports and the
venv's python that record what they are asked to do."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

RECORDER = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "{log}"
{body}
"""
# the venv's python: the slow call exits with $FAKE_SLOW_RC, the README's call with $FAKE_MAIN_RC
PYTHON_BODY = """case " $* " in *" -m slow "*) exit "${FAKE_SLOW_RC:-0}";; *) exit "${FAKE_MAIN_RC:-0}";; esac"""


def _tool(path: Path, log: Path, body: str = "exit 0") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RECORDER.format(log=log, body=body))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def _run_ci(tmp_path: Path, main_rc: int = 0, slow_rc: int = 0) -> tuple[int, list[str], str]:
    """Run a copy of ``.ci/run`` with every tool it calls replaced; returns (exit code, calls, output)."""
    log = tmp_path / "calls.log"
    (tmp_path / ".ci").mkdir()
    shutil.copy(REPO / ".ci" / "run", tmp_path / ".ci" / "run")
    _tool(tmp_path / "tools" / "install.sh", log)
    _tool(tmp_path / ".venv" / "bin" / "lint-imports", log)
    _tool(tmp_path / ".venv" / "bin" / "python", log, PYTHON_BODY)
    _tool(tmp_path / "fakebin" / "apt-get", log)
    env = {**os.environ, "PATH": f"{tmp_path / 'fakebin'}{os.pathsep}{os.environ['PATH']}",
           "FAKE_MAIN_RC": str(main_rc), "FAKE_SLOW_RC": str(slow_rc)}
    done = subprocess.run(["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, env=env,
                          timeout=60)
    calls = [c for c in log.read_text().splitlines() if not c.startswith("apt-get")] if log.exists() else []
    return done.returncode, calls, done.stdout + done.stderr


def test_ci_runs_the_readme_command_then_the_slow_tests(tmp_path: Path) -> None:
    rc, calls, out = _run_ci(tmp_path)
    assert rc == 0, out
    assert calls == ["install.sh --dev", "lint-imports --no-cache --no-logo", "python -m pytest",
                     "python -m pytest -m slow"]


@pytest.mark.parametrize(("main_rc", "slow_rc", "expected"), [(1, 0, 1), (0, 1, 1), (5, 0, 1), (0, 5, 1), (2, 1, 2)])
def test_ci_fails_when_either_pytest_call_fails_or_collects_nothing(
        tmp_path: Path, main_rc: int, slow_rc: int, expected: int) -> None:
    rc, calls, out = _run_ci(tmp_path, main_rc, slow_rc)
    assert rc == expected, out
    assert calls[-1] == "python -m pytest -m slow"  # the slow tests run (and report) even after a failure
    if 5 in (main_rc, slow_rc):
        assert "collected no tests: failing" in out


def _collected(*args: str) -> tuple[set[str], str]:
    """Node ids ``python -m pytest --collect-only ARGS tests/test_packaging.py`` selects."""
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args,
                           "tests/test_packaging.py"], cwd=REPO, capture_output=True, text=True, timeout=120)
    ids = {line for line in done.stdout.splitlines() if line.startswith("tests/")}
    return ids, done.stdout + done.stderr


def test_default_run_deselects_slow_and_minus_m_slow_selects_them() -> None:
    import ast

    tree = ast.parse((REPO / "tests" / "test_packaging.py").read_text(encoding="utf-8"))
    marked = {f"tests/test_packaging.py::{node.name}" for node in tree.body if isinstance(node, ast.FunctionDef)
              and any(ast.unparse(d) == "pytest.mark.slow" for d in node.decorator_list)}
    assert len(marked) >= 5
    default, out = _collected()
    slow, out_slow = _collected("-m", "slow")
    assert default and not default & marked, out  # the README's command: no slow test
    assert slow == marked, out_slow  # `-m slow` (what .ci/run adds): exactly the slow ones
