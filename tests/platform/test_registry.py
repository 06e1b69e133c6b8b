"""The backend registry: entry points in, specs out; duplicates once; broken plug-ins and unknown
names as clear StudioErrors; specs import without torch."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
import textwrap

import pytest

from studio.core import registry
from studio.core.backend import BackendSpec, Capabilities
from studio.core.errors import StudioError
from studio.core.options import BackendOptions


def ep(name: str, value: str) -> md.EntryPoint:
    return md.EntryPoint(name, value, registry.GROUP)


def test_draft_and_xdyna_are_registered_through_entry_points():
    found = {e.name: e.value for e in md.entry_points(group=registry.GROUP)}
    assert found["draft"] == "studio.backends.draft.spec:SPEC" and found["xdyna"] == "studio.backends.xdyna.spec:SPEC"
    assert registry.names()[:2] == ("draft", "xdyna") and registry.default_name() == "draft"
    assert registry.legacy_name() == "xdyna"
    backend = registry.create_backend("draft")
    assert backend.name == "draft" and not backend.capabilities.needs_weights


def test_the_same_entry_point_twice_counts_once_and_a_clash_is_reported():
    draft = ep("draft", "studio.backends.draft.spec:SPEC")
    specs, broken = registry._scan([draft, draft, ep("xdyna", "studio.backends.xdyna.spec:SPEC")])
    assert list(specs) == ["draft", "xdyna"] and not broken
    specs, broken = registry._scan([draft, ep("draft", "studio.backends.xdyna.spec:SPEC")])
    assert list(specs) == ["draft"] and "Two backends" in next(iter(broken.values())).title


@pytest.mark.parametrize("value, words", [
    ("no_such_package.spec:SPEC", "could not be loaded"),
    ("studio.backends.draft.spec:NOPE", "could not be loaded"),
    ("studio.core.backend:Capabilities", "not a studio.core.backend.BackendSpec"),
    ("studio.backends.xdyna.spec:SPEC", "same name"),  # registered as "broken", the spec says "xdyna"
])
def test_a_broken_plugin_is_named_and_the_others_work(value, words):
    specs, broken = registry._scan([ep("draft", "studio.backends.draft.spec:SPEC"), ep("broken", value)])
    assert list(specs) == ["draft"]
    err = broken["broken"]
    assert isinstance(err, StudioError) and words in err.description
    assert value in err.description and registry.GROUP in err.description  # names the entry point


def test_unknown_name_lists_the_installed_ones():
    with pytest.raises(StudioError) as info:
        registry.get_spec("magic")
    assert "'magic'" in info.value.description and "draft, xdyna" in info.value.description


def test_unimportable_factory_is_a_clear_error():
    spec = BackendSpec(name="ghost", label="Ghost", capabilities=Capabilities(False, False, True),
                       options=BackendOptions, factory="studio.backends.ghost.backend:GhostBackend",
                       requires=("no_such_module_xyz",))
    with pytest.raises(StudioError) as info:
        spec.create()
    assert info.value.title == "The Ghost renderer is not available" and "no_such_module_xyz" in info.value.description
    ok, why = spec.availability()
    assert not ok and "no_such_module_xyz" in why


def test_specs_list_without_torch_and_say_why_xdyna_is_unavailable():
    code = textwrap.dedent("""
        import sys
        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("torch", "diffusers", "transformers", "safetensors"):
                    raise ImportError(f"{name} is unavailable in this test")
                return None
        sys.meta_path.insert(0, Refuse())
        from studio.core import registry
        spec = registry.get_spec("xdyna")
        ok, why = spec.availability(None)
        assert not ok and "torch" in why, why
        assert "torch" not in sys.modules
        print(",".join(registry.names()))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("draft,xdyna")


def test_installed_registers_a_spec_for_a_block():
    spec = BackendSpec(name="zz", label="ZZ", capabilities=Capabilities(False, False, True),
                       options=BackendOptions, factory="studio.backends.draft.backend:DraftBackend")
    with registry.installed(spec):
        assert "zz" in registry.names()
    assert "zz" not in registry.names()


def test_backends_listing_keeps_every_name_apart_from_its_label(capsys):
    """A name longer than the column (``stableanimator``) must not run into its label, and a
    ready backend's status reads once (``ready (...)``, not ``ready: ready``)."""
    from studio.cli import main

    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    for name, spec in registry.specs().items():
        header = next(line for line in out.splitlines() if line.startswith(name))
        assert header[len(name)] == " " and header.split(None, 1)[1] == spec.label
    assert "ready: ready" not in out
