"""get_backend: lazy imports, clear errors."""

import pytest

import studio.backends as backends
from studio.core import StudioError


def test_draft_is_registered():
    b = backends.get_backend("draft")
    assert b.name == "draft" and not b.capabilities.needs_weights


def test_unknown_name():
    with pytest.raises(StudioError) as err:
        backends.get_backend("magic")
    assert "'magic'" in err.value.description and "draft" in err.value.description


def test_unimportable_backend_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(backends.BACKENDS, "xdyna", ("studio.backends.xdyna.no_such_module", "XDynaBackend"))
    with pytest.raises(StudioError) as err:
        backends.get_backend("xdyna")
    assert err.value.title == "The xdyna renderer is not available"
    assert "draft" in err.value.description


def test_missing_class_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(backends.BACKENDS, "draft", ("studio.backends.draft.backend", "NoSuchBackend"))
    with pytest.raises(StudioError, match="not available"):
        backends.get_backend("draft")
