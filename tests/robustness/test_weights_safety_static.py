"""Weights safety, the torch-free half: no code in the studio unpickles arbitrary objects.

These checks read the source with :mod:`ast` and need no torch, so they live apart from the planted-
pickle tests (``test_weights_safety.py``), which skip as a whole when torch is missing; they run on
every install, including a draft-only one. The last test proves that by running them with torch
hidden."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from robust_helpers import REPO

STUDIO = REPO / "studio"


# -- static check: every load in the source is a safe one ---------------------------------------------
def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def unsafe_loads(source: str, filename: str) -> list[str]:
    """Places in ``source`` that could unpickle arbitrary objects."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}  # local name -> module it stands for (import torch as th)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        head, _, rest = name.partition(".")
        full = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        where = f"{filename}:{node.lineno} {name}(...)"
        if full in ("torch.load", "torch.serialization.load"):
            flag = _keyword(node, "weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(where + " without weights_only=True")
        elif full.split(".")[0] in ("pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib") and (
            full.endswith((".load", ".loads", ".Unpickler"))
        ):
            found.append(where)
        elif full in ("numpy.load", "np.load"):
            flag = _keyword(node, "allow_pickle")
            if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append(where + " with allow_pickle")
        elif full in ("pandas.read_pickle", "shelve.open", "marshal.loads", "marshal.load"):
            found.append(where)
    return found


def test_the_checker_finds_unsafe_loads() -> None:
    bad = (
        "import torch, pickle\nimport numpy as np\nimport torch as th\nfrom pickle import loads\n"
        "torch.load(p)\nth.load(p, weights_only=False)\npickle.load(f)\nloads(b)\nnp.load(p, allow_pickle=True)\n"
        "torch.load(p, weights_only=flag)\n"
    )
    assert len(unsafe_loads(bad, "bad.py")) == 6
    good = "import torch\nimport numpy as np\ntorch.load(p, map_location='cpu', weights_only=True)\nnp.load(p)\n"
    assert unsafe_loads(good, "good.py") == []


def test_no_code_path_unpickles_arbitrary_objects() -> None:
    files = sorted(STUDIO.rglob("*.py"))
    assert len(files) > 50
    found = [hit for f in files for hit in unsafe_loads(f.read_text(encoding="utf-8"), str(f.relative_to(REPO)))]
    assert found == []
    # and the one real checkpoint reader is among what was checked
    loading = (STUDIO / "backends" / "xdyna" / "loading.py").read_text()
    assert "torch.load(" in loading and "weights_only=True" in loading


# -- the checks above run without torch ----------------------------------------------------------------
#: a ``torch`` package placed first on the path that fails as an absent torch does
_NO_TORCH = "raise ModuleNotFoundError(\"No module named 'torch' (hidden by the test)\", name='torch')\n"


def test_static_checks_run_when_torch_is_missing(tmp_path: Path) -> None:
    """With ``import torch`` failing, every weights-safety check that needs no torch still runs and
    passes (none is swept up by a module-level ``importorskip``)."""
    hidden = tmp_path / "hide"
    (hidden / "torch").mkdir(parents=True)
    (hidden / "torch" / "__init__.py").write_text(_NO_TORCH)
    files = sorted(str(p) for p in Path(__file__).parent.glob("test_weights_safety*.py"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), str(REPO)])}
    run = subprocess.run(  # `-n 0`: two quick tests, no xdist workers to start
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-rA", *files,
         "-k", "the_checker_finds_unsafe_loads or no_code_path_unpickles_arbitrary_objects"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    out = run.stdout + run.stderr
    passed = {line.rsplit("::", 1)[-1] for line in out.splitlines() if line.startswith("PASSED ")}
    assert {"test_the_checker_finds_unsafe_loads", "test_no_code_path_unpickles_arbitrary_objects"} <= passed, out[-3000:]
