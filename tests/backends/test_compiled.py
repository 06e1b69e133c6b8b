"""studio.backends.compiled: a torch.compile'd call that falls back to eager when compiling fails,
counts what it compiled, and the messages renders make of it."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from studio.backends.compiled import Compiled, compile_news, start_note  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Dynamo's in-memory cache is per code object: a graph another test compiled for the same shapes
    would be reused here, and neither compile nor fail."""
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 8), nn.SiLU(), nn.Linear(8, 3)).requires_grad_(False)


def test_a_failing_compiler_falls_back_to_the_eager_call_and_says_why():
    import torch._inductor.config as inductor

    m, x = _tiny(), torch.randn(4, 8)
    with inductor.patch({"cpp.cxx": ("/nonexistent/c++",), "fx_graph_cache": False}):
        c = Compiled(m, "tiny")
        y = c(x)
        assert torch.equal(y, m(x))
        assert "compiler" in c.failure.lower() and "/nonexistent/c++" in c.failure
        assert torch.equal(c(2 * x), m(2 * x))  # later calls go straight to the module
    assert c.compiles == [] and c.pending == []


def test_the_models_own_error_is_raised_not_taken_for_a_compiler_failure():
    c = Compiled(_tiny(), "tiny")
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        c(torch.randn(4, 5))
    assert c.failure is None


def test_the_messages_say_what_compiled_and_a_failure_once():
    import torch._inductor.config as inductor

    m, x = _tiny(), torch.randn(4, 8)
    ok = Compiled(m, "tiny")
    with torch.no_grad():
        ok(x)
        ok(x)  # the same shape: nothing more to compile
    assert len(ok.compiles) == 1 and ok.compiles[0] > 0
    said = compile_news([ok], set())
    assert len(said) == 1 and said[0].startswith("compiled for this size: tiny ") and compile_news([ok], set()) == []
    with inductor.patch({"cpp.cxx": ("/nonexistent/c++",), "fx_graph_cache": False}):
        bad = Compiled(_tiny(), "other")
        bad(torch.randn(3, 8))
    reported: set[str] = set()
    first = compile_news([ok, bad], reported)
    assert len(first) == 1 and "torch.compile failed, rendering uncompiled (other: " in first[0]
    assert "C++ compiler" in first[0] and compile_news([ok, bad], reported) == []
    assert start_note(bad.failure).startswith("rendering uncompiled: torch.compile failed earlier")
    assert start_note(None, "its first step").startswith("torch.compile is on")
