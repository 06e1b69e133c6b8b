"""The corpus is large enough: at least 40 generated bad inputs, each with its own expected error."""

from __future__ import annotations

import pytest
import test_corpus_cli
import test_corpus_images
import test_corpus_projects
import test_corpus_videos


def test_at_least_forty_bad_inputs() -> None:
    tables = {
        "images": test_corpus_images.ERROR_CASES,
        "videos": test_corpus_videos.ERROR_CASES,
        "projects": test_corpus_projects.ERROR_CASES,
        "cli": test_corpus_cli.CASES,
    }
    try:
        import test_corpus_weights

        tables["weights"] = test_corpus_weights.CASES
    except (ImportError, pytest.skip.Exception):  # no torch: the weights cases are skipped
        pass
    names = [f"{kind}:{name}" for kind, table in tables.items() for name in table]
    assert len(names) == len(set(names)) >= 40, len(names)
