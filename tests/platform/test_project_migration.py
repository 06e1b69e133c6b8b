"""Schema-1 project files (written by the studio before backends had options of their own) load
unchanged, keep their cache fingerprints, and round-trip through schema 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.core.errors import StudioError
from studio.core.project import SCHEMA_VERSION, Project

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


def test_v1_xdyna_project_loads_with_its_values_and_fingerprint():
    p = Project.load(FIXTURES / "v1_xdyna.studio.json")
    s = p.settings
    assert s.backend == "xdyna" and (s.width, s.height, s.seed, s.photo_scale) == (256, 448, 7, 1.25)
    o = s.options
    assert (o.steps, o.cfg, o.schedule, o.overlap, o.context_frames) == (12, 5.0, "stream", 2, 8)
    assert o.prompt == "wind in the hair" and o.low_vram is True
    assert p.weights_dir == FIXTURES / "weights" / "pretrained_weights"
    # the fingerprint the schema-1 code computed for these settings (printed when the fixture was written)
    assert s.fingerprint() == "73c79a621b495ca3"


def test_v1_draft_project_keeps_the_xdyna_fields_for_xdyna():
    p = Project.load(FIXTURES / "v1_draft.studio.json")
    assert p.settings.backend == "draft" and p.settings.seed == 3 and p.settings.retarget is False
    assert p.settings.options.model_dump() == {"live_motion": 1.0}  # the defaults: the file had no draft fields
    xdyna = p.choose_backend("xdyna")
    assert (xdyna.options.steps, xdyna.options.overlap) == (30, 6)
    assert p.choose_backend("draft").backend == "draft"
    assert p.backend_options["xdyna"]["steps"] == 30


def test_schema_2_round_trip(tmp_path):
    p = Project.load(FIXTURES / "v1_xdyna.studio.json")
    saved = p.save(tmp_path / "p.studio.json")
    d = json.loads(saved.read_text())
    assert d["schema_version"] == SCHEMA_VERSION == 2
    assert "steps" not in d["settings"] and d["options"]["xdyna"]["steps"] == 12
    assert Path(d["weights"]["xdyna"]).name == "pretrained_weights"
    q = Project.load(saved)
    assert q.settings == p.settings and q.weights_dir.resolve() == p.weights_dir.resolve()
    assert q.settings.fingerprint() == "73c79a621b495ca3"


def test_unknown_backend_in_a_project_names_it(tmp_path):
    d = json.loads((FIXTURES / "v1_xdyna.studio.json").read_text())
    d["settings"]["backend"] = "no-such-renderer"
    f = tmp_path / "x.studio.json"
    f.write_text(json.dumps(d))
    with pytest.raises(StudioError) as info:
        Project.load(f)
    assert "no-such-renderer" in info.value.description and str(f) in info.value.description


def test_bad_option_value_is_the_models_error(tmp_path):
    d = json.loads((FIXTURES / "v1_xdyna.studio.json").read_text())
    d["settings"]["steps"] = 0
    f = tmp_path / "x.studio.json"
    f.write_text(json.dumps(d))
    with pytest.raises(StudioError) as info:
        Project.load(f)
    assert "steps" in info.value.description and "greater than or equal to 1" in info.value.description


def test_bundled_samples_still_load():
    root = Path(__file__).resolve().parents[2] / "resources"
    for f in root.glob("*/*.studio.json"):
        assert Project.load(f).settings.backend in ("draft", "xdyna")


def test_v1_flat_keys_go_to_the_backend_that_has_them(tmp_path):
    d = json.loads((FIXTURES / "v1_draft.studio.json").read_text())
    d["settings"]["live_motion"] = 2.0  # a draft field written into the flat schema-1 settings
    f = tmp_path / "x.studio.json"
    f.write_text(json.dumps(d))
    p = Project.load(f)
    assert p.settings.options.live_motion == 2.0 and p.backend_options["xdyna"]["steps"] == 30
    d["settings"]["no_such_field"] = 1
    f.write_text(json.dumps(d))
    with pytest.raises(StudioError, match="no_such_field"):
        Project.load(f)
