"""Prompt and negative prompt: in the settings, the project file, the CLI, the cache key and the
X-Dyna text encoding (empty by default, as in the official examples)."""

from __future__ import annotations

import argparse

import pytest

from studio.core.project import Project
from studio.core.settings import RenderSettings


def test_defaults_are_empty_and_the_project_file_keeps_them(tmp_path) -> None:
    s = RenderSettings(backend="xdyna")
    assert s.options.prompt == "" and s.options.negative_prompt == ""
    p = Project(settings=s.updated(prompt="a dancer, wind in the hair", negative_prompt="blurry"))
    back = Project.load(p.save(tmp_path / "p.studio.json"))
    assert (back.settings.options.prompt, back.settings.options.negative_prompt) == ("a dancer, wind in the hair", "blurry")


def test_prompt_changes_the_cache_key() -> None:
    a = RenderSettings(backend="xdyna")
    assert a.fingerprint() != a.updated(prompt="x").fingerprint()
    assert a.fingerprint() != a.updated(negative_prompt="x").fingerprint()


def test_cli_options_override_the_project() -> None:
    from studio.cli import render as cli_render

    parser = argparse.ArgumentParser(prog="studio")
    cli_render.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", "--sample", "--prompt", "hair in the wind", "--negative-prompt", "extra arms",
                              "-o", "x.mp4"])
    s = cli_render.build_settings(RenderSettings(backend="xdyna", prompt="old"), args)
    assert (s.options.prompt, s.options.negative_prompt) == ("hair in the wind", "extra arms")
    args = parser.parse_args(["render", "--sample", "-o", "x.mp4"])
    assert cli_render.build_settings(RenderSettings(backend="xdyna", prompt="kept"), args).options.prompt == "kept"


torch = pytest.importorskip("torch")

from test_live_photo import WEIGHTS, live_job, xdyna_backend  # noqa: E402, F401 - shared tiny-weights fixture


def test_xdyna_call_carries_the_prompts() -> None:
    from studio.backends.xdyna.backend import XDynaBackend
    from studio.core.windows import WindowPlan

    job = live_job(0.5, 8.0, prompt="flowing hair", negative_prompt="static", face_controlnet=False, steps=1)
    call = XDynaBackend.pipeline_call(job, WindowPlan(job.n_frames), use_face=False)
    assert (call.prompt, call.negative_prompt) == ("flowing hair", "static")


def test_xdyna_pipeline_encodes_them(xdyna_backend) -> None:  # noqa: F811
    """The render's text halves are the prompt (conditional) and the negative prompt."""
    from studio.core.events import Finished
    from studio.core.render import run_job

    pipe = xdyna_backend.pipeline(WEIGHTS, "cpu", "float32")
    seen: list[str] = []
    real = pipe.encode_prompt
    pipe.encode_prompt = lambda text: (seen.append(text), real(text))[1]
    try:
        job = live_job(0.5, 8.0, prompt="flowing hair", negative_prompt="static", face_controlnet=False, steps=1)
        assert isinstance(list(run_job(job, xdyna_backend, None))[-1], Finished)
    finally:
        del pipe.encode_prompt
    assert seen == ["flowing hair", "static"]
