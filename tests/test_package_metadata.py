"""``pip install -e .`` builds its metadata without setuptools deprecation warnings (issue 14,
item 10): the license is an SPDX expression (``license = "Apache-2.0"``), not the ``{text = ...}``
table setuptools stops accepting after 2027-02-18."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BUILD_METADATA = """
import sys, warnings
from setuptools.warnings import SetuptoolsDeprecationWarning
warnings.simplefilter("error", SetuptoolsDeprecationWarning)
from setuptools import build_meta
print(build_meta.prepare_metadata_for_build_wheel(sys.argv[1]))
"""


def test_license_is_an_spdx_expression() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert not any("License ::" in c for c in project.get("classifiers", []))  # superseded by the expression


def test_metadata_builds_without_deprecation_warnings(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "studio").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copy(REPO / "studio" / "__init__.py", src / "studio" / "__init__.py")
    out = tmp_path / "meta"
    out.mkdir()
    run = subprocess.run([sys.executable, "-c", BUILD_METADATA, str(out)], cwd=src, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Deprecat" not in run.stderr, run.stderr[-3000:]
    metadata = (out / run.stdout.strip().splitlines()[-1] / "METADATA").read_text(encoding="utf-8")
    assert "License-Expression: Apache-2.0" in metadata
