"""One weights-folder rule for ``studio render``, ``studio doctor`` and the window (issue 14, item 2):
``--weights``, then the project, then the window's preference, then ``$STUDIO_WEIGHTS_DIR``, then
the default folder in the user data folder."""

import argparse
from pathlib import Path

import pytest

from studio.cli import doctor
from studio.cli import render as cli_render
from studio.core.errors import StudioError
from studio.core.project import Project
from studio.core.weights_folder import WEIGHTS_ENV, default_weights_dir, resolve_weights_dir

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny" / "a_pose_16f" / "weights" / "pretrained_weights"


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A private user data folder (so the default weights folder is under ``tmp_path``)."""
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data"


def test_order_flag_project_preference_environment_default(tmp_path, data_home):
    env = {WEIGHTS_ENV: str(tmp_path / "env")}
    assert resolve_weights_dir(tmp_path / "f", tmp_path / "p", tmp_path / "q", env).origin == "--weights"
    assert resolve_weights_dir(None, tmp_path / "p", tmp_path / "q", env).path == tmp_path / "p"
    assert resolve_weights_dir(None, None, tmp_path / "q", env).origin == "preference"
    got = resolve_weights_dir(None, None, "", env)
    assert (got.path, got.origin) == (tmp_path / "env", "$STUDIO_WEIGHTS_DIR")
    got = resolve_weights_dir(environ={WEIGHTS_ENV: "  "})
    assert got.origin == "default" and got.path == data_home / "xdyna-studio" / "weights"
    assert default_weights_dir() == got.path
    assert "from the project" in resolve_weights_dir(project=tmp_path / "p").explained


def _args(*argv):
    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["render", *map(str, argv)])


def _job(args):
    project = Project.load(cli_render.sample_project_path())
    return cli_render.build_job(args, project), project


def test_cli_render_takes_the_environment_folder(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(TINY))
    job, _ = _job(_args("--sample", "--backend", "xdyna", "-o", tmp_path / "o.mp4"))
    assert job.weights_dir == TINY


def test_cli_render_takes_the_default_folder(tmp_path, data_home):
    job, _ = _job(_args("--sample", "--backend", "xdyna", "-o", tmp_path / "o.mp4"))
    assert job.weights_dir == data_home / "xdyna-studio" / "weights"


def test_cli_render_project_beats_environment_and_flag_beats_project(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "env"))
    project = Project.load(cli_render.sample_project_path())
    project.weights_dirs["xdyna"] = tmp_path / "proj"
    args = _args("--sample", "--backend", "xdyna", "-o", tmp_path / "o.mp4")
    assert cli_render.build_job(args, project).weights_dir == tmp_path / "proj"
    args = _args("--sample", "--backend", "xdyna", "--weights", tmp_path / "flag", "-o", tmp_path / "o.mp4")
    assert cli_render.build_job(args, project).weights_dir == tmp_path / "flag"


def test_cli_render_names_the_resolved_folder_when_it_is_unusable(tmp_path, data_home, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv(WEIGHTS_ENV, str(empty))
    args = _args("--sample", "--backend", "xdyna", "--no-progress", "-o", tmp_path / "o.mp4")
    with pytest.raises(StudioError) as info:
        args.func(args)
    text = info.value.description
    assert "is set" not in text and str(empty) in text and WEIGHTS_ENV in text


def test_draft_render_ignores_the_weights_folder(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "env"))
    job, _ = _job(_args("--sample", "-o", tmp_path / "o.mp4"))
    assert job.weights_dir is None  # a draft job's cache keys do not depend on it


def test_doctor_uses_the_same_rule(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(TINY))
    assert doctor.check_weights()[0].detail == f"{TINY} (from ${WEIGHTS_ENV})"
    monkeypatch.delenv(WEIGHTS_ENV)
    assert doctor.check_weights()[0].detail.startswith(str(data_home / "xdyna-studio" / "weights"))
    project = Project.load(cli_render.sample_project_path())
    project.weights_dirs["xdyna"] = TINY
    saved = project.save(tmp_path / "p.studio.json")
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "env"))
    checks = doctor.check_weights(project=saved)
    folder, origin = checks[0].detail.rsplit(" (", 1)
    assert checks[0].status == "OK" and Path(folder).resolve() == TINY and origin == "from the project)"
    assert [c.status for c in checks[1:]] == ["OK"]  # the tiny release is complete
