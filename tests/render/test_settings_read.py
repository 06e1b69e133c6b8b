"""Every render setting is one a renderer reads (issue 14, item 3): ``smoothing`` never was, yet it
was part of the cache fingerprint, so toggling it threw the cache away for nothing."""

import json

from studio.core.project import Project
from studio.core.settings import RenderSettings


def test_smoothing_is_not_a_render_setting_and_does_not_change_the_fingerprint():
    assert "smoothing" not in RenderSettings.model_fields
    old_on = RenderSettings.model_validate({"smoothing": True, "seed": 3})
    old_off = RenderSettings.model_validate({"smoothing": False, "seed": 3})
    assert old_on == old_off == RenderSettings(seed=3)
    assert old_on.fingerprint() == old_off.fingerprint()


def test_a_project_saved_with_smoothing_still_opens(tmp_path):
    p = Project()
    path = p.save(tmp_path / "old.studio.json")
    d = json.loads(path.read_text())
    d["settings"]["smoothing"] = False  # what older versions wrote
    path.write_text(json.dumps(d))
    q = Project.load(path)
    assert q.settings == RenderSettings() and "smoothing" not in q.settings.model_dump()


def test_every_fingerprinted_setting_is_read_somewhere():
    """A setting in the fingerprint that no code outside the settings module reads is a cache
    thrown away for nothing: each one must appear as ``settings.<name>`` / ``s.<name>`` or be
    written by name (the GUI's ``_set(name=...)``)."""
    import re
    from pathlib import Path

    from studio.core.settings import HOW_TO_COMPUTE

    root = Path(__file__).resolve().parents[2] / "studio"
    text = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py") if p.name != "settings.py")
    unread = [
        name for name in RenderSettings.model_fields
        if name not in HOW_TO_COMPUTE and not re.search(rf"\.{name}\b(?!\s*=)", text)
    ]
    assert unread == []


def test_every_fingerprinted_option_is_read_by_its_backend():
    """The same rule for each backend's options model: every option that is part of the cache key
    is read (``options.<name>`` / ``o.<name>``) by code of the backend's own package."""
    import importlib
    import re
    from pathlib import Path

    from studio.core import registry

    for name, spec in registry.specs().items():
        package = spec.factory.partition(":")[0].rsplit(".", 1)[0]
        root = Path(importlib.import_module(package).__file__).parent
        text = "\n".join(p.read_text(encoding="utf-8") for p in root.rglob("*.py") if p.name != "options.py")
        unread = [f.name for f in spec.options.describe()
                  if not f.how and not re.search(rf"\.{f.name}\b(?!\s*=)", text)]
        assert unread == [], name
