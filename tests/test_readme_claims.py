"""The README and docstrings say what the code and benches do (issue 14, item 9)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _tolerances() -> dict[str, float]:
    spec = importlib.util.spec_from_file_location("compare_case", REPO / "tests" / "fixtures" / "xdyna_tiny" / "compare_case.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.TOL)


def test_parity_table_states_the_tolerances_the_comparison_uses() -> None:
    header = next(line for line in README.splitlines() if line.startswith("| case | video"))
    cells = [c.strip() for c in header.strip().strip("|").split("|")][1:]  # "video (tol 1e-3)", ...
    stated = {c.split(" (")[0]: float(c.split("(")[1].rstrip(")").replace("tol ", "")) for c in cells}
    tol = _tolerances()
    assert stated == {"video": tol["video"], "final latents": tol["final_latents"], "fused eps": tol["step_eps_fused"]}


def test_controlnet_reuse_claim_says_what_is_measured() -> None:
    assert "identical output" not in README
    row = next(line for line in README.splitlines() if line.startswith("| X-Dyna ControlNet evaluations"))
    assert "reuse_controlnet=False" in row and re.search(r"\d\.\d+e[+-]\d+", row), row  # the compared path, a figure
    bench = (REPO / "bench" / "xdyna_bench.py").read_text(encoding="utf-8")
    assert "reuse_controlnet=reuse" in bench  # the bench compares our two evaluation orders


def test_soak_row_has_figures() -> None:
    row = next(line for line in README.splitlines() if "bench/soak.py" in line and line.startswith("|"))
    figure = row.split("|")[2]
    assert re.search(r"\d+(\.\d+)? ?MiB", figure) and re.search(r"\d+ leaked threads?", figure), row


def test_stream_docstring_gives_the_first_chunk_the_stream_schedule_emits() -> None:
    from studio.core.windows import CONTEXT_FRAMES, CONTEXT_OVERLAP, static_windows

    doc = (REPO / "studio" / "backends" / "xdyna" / "backend.py").read_text(encoding="utf-8").split('"""')[1]
    assert "12 of the first" not in doc
    first = static_windows(40, CONTEXT_FRAMES, CONTEXT_OVERLAP)[0]  # what tests/xdyna/test_stream.py emits first
    assert f"{len(first)} frames with the default {CONTEXT_FRAMES}-frame windows" in " ".join(doc.split())


def _apt_packages(command: str) -> list[str]:
    """The package names of one ``apt-get install`` command line (options and redirections left out)."""
    words = command.split("apt-get install", 1)[1].split()
    names = []
    for word in words:
        if word.startswith((">", "2>", "&", ";", "|")):
            break
        if not word.startswith("-"):
            names.append(word)
    return names


def test_readme_apt_list_is_what_ci_installs() -> None:
    """A new user who pastes the README's line gets every Qt library CI installs (issue 23, item 7)."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").replace("\\\n", " ")
    ci_lines = [line for line in ci.splitlines() if "apt-get install" in line and not line.strip().startswith("#")]
    readme_lines = [line for line in README.splitlines() if line.strip().startswith("sudo apt-get install")]
    assert len(ci_lines) == 1 and len(readme_lines) == 1, (ci_lines, readme_lines)  # one line to paste
    ci_packages, readme_packages = _apt_packages(ci_lines[0]), _apt_packages(readme_lines[0])
    assert {"libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0"} <= set(ci_packages)
    assert readme_packages == ci_packages
