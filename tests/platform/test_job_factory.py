"""One job factory: the GUI's document, the CLI and the queue make a RenderJob the same way
(studio.core.job_factory.make_job), holding the backend's name, its validated options and the
weights folder resolved for that backend."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from studio.cli import render as cli_render
from studio.core.errors import StudioError
from studio.core.job_factory import make_job, weights_for
from studio.core.project import Project


@pytest.fixture
def sample(monkeypatch, tmp_path) -> Project:
    for var in ("STUDIO_WEIGHTS_DIR", "STUDIO_XDYNA_WEIGHTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return Project.load(cli_render.sample_project_path())


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["render", *argv])


def test_the_job_holds_the_backend_and_its_options(sample, tmp_path):
    sample.choose_backend("xdyna")
    sample.settings = sample.settings.updated(steps=3, overlap=2)
    sample.weights_dirs["xdyna"] = tmp_path / "w"
    job = make_job(sample, __import__("numpy").zeros((8, 8, 3), "uint8"), range(4), output_dir=tmp_path / "r")
    assert job.backend == "xdyna" and job.options.steps == 3 and job.options.overlap == 2
    assert job.weights_dir == tmp_path / "w" and job.frames == (0, 1, 2, 3)


def test_cli_and_factory_make_the_same_job(sample, tmp_path):
    args = _args("--sample", "--backend", "xdyna", "--steps", "3", "-o", str(tmp_path / "o.mp4"), "--frames", "0:4")
    cli_job = cli_render.build_job(args, Project.load(cli_render.sample_project_path()))
    sample.choose_backend("xdyna")
    from studio.media.image import read_image

    made = make_job(sample, read_image(sample.reference_image), range(4),
                    settings=sample.settings.updated(steps=3), output_dir=cli_job.output_dir)
    assert cli_job.fingerprint() == made.fingerprint() and cli_job.weights_dir == made.weights_dir


def test_weights_are_per_backend(sample, tmp_path, monkeypatch):
    assert weights_for(sample, "draft") is None  # weight-free: no folder, so no cache-key dependence
    monkeypatch.setenv("STUDIO_XDYNA_WEIGHTS", str(tmp_path / "x"))
    folder = weights_for(sample, "xdyna")
    assert folder.path == tmp_path / "x" and folder.origin == "$STUDIO_XDYNA_WEIGHTS"
    sample.weights_dirs["xdyna"] = tmp_path / "p"
    assert weights_for(sample, "xdyna").origin == "project"
    assert weights_for(sample, "xdyna", flag=tmp_path / "f").path == tmp_path / "f"


def test_weights_for_a_weight_free_backend_is_a_clear_error(tmp_path):
    args = _args("--sample", "--backend", "draft", "--weights", str(tmp_path), "-o", str(tmp_path / "o.mp4"))
    with pytest.raises(StudioError) as info:
        cli_render.build_job(args, Project.load(cli_render.sample_project_path()))
    assert "needs no weights" in info.value.description and "--backend xdyna" in info.value.description


def test_an_option_of_another_backend_is_a_clear_error(tmp_path):
    args = _args("--sample", "--steps", "3", "-o", str(tmp_path / "o.mp4"))  # the sample renders with draft
    with pytest.raises(StudioError) as info:
        cli_render.build_job(args, Project.load(cli_render.sample_project_path()))
    assert "--steps is an option of xdyna" in info.value.description and "--backend xdyna" in info.value.description
    assert Path(cli_render.sample_project_path()).is_file()
