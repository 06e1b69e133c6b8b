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
