"""Small files with one job each: no module under studio/ is longer than :data:`LIMIT` lines.

:data:`TEMPORARY` lists the modules still being split; the list only shrinks: a listed module
that is split below the limit must leave the list (the test says so).
"""

from __future__ import annotations

from pathlib import Path

STUDIO = Path(__file__).resolve().parents[1] / "studio"
#: Most lines a module under studio/ may have.
LIMIT = 400
#: Modules over the limit until they are split (paths under studio/).
TEMPORARY = {
    "cli/render.py",
    "gui/panels/render.py",
}


def _lengths() -> dict[str, int]:
    return {
        path.relative_to(STUDIO).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(STUDIO.rglob("*.py"))
    }


def test_no_module_is_over_the_limit() -> None:
    too_long = {name: n for name, n in _lengths().items() if n > LIMIT and name not in TEMPORARY}
    assert not too_long, (
        f"studio/ modules over {LIMIT} lines: {too_long}; split them by responsibility "
        "(one job per file)."
    )


def test_temporary_exceptions_only_shrink() -> None:
    lengths = _lengths()
    for name in sorted(TEMPORARY):
        assert name in lengths, f"studio/{name} no longer exists: remove it from TEMPORARY in {__file__}."
        n = lengths[name]
        assert n > LIMIT, f"studio/{name} has {n} lines now, within the limit: remove it from TEMPORARY in {__file__}."
