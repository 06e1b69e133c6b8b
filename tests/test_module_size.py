"""Small files with one job each: no module under studio/ is longer than :data:`LIMIT` lines."""

from __future__ import annotations

from pathlib import Path

STUDIO = Path(__file__).resolve().parents[1] / "studio"
#: Most lines a module under studio/ may have.
LIMIT = 400


def test_no_module_is_over_the_limit() -> None:
    lengths = {
        path.relative_to(STUDIO).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(STUDIO.rglob("*.py"))
    }
    assert lengths, STUDIO
    too_long = {name: n for name, n in lengths.items() if n > LIMIT}
    assert not too_long, (
        f"studio/ modules over {LIMIT} lines: {too_long}; split them by responsibility "
        "(one job per file)."
    )
