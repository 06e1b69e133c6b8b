"""The backend contract run for the example plug-in (examples/echo_backend), registered for the
test with ``registry.installed`` from its source: what a backend outside the tree inherits."""

from __future__ import annotations

import functools

import pytest
from contract import BackendContract

from studio.core import registry
from studio.core.job_factory import make_job
from studio.core.project import Project


@functools.lru_cache(maxsize=1)
def _sample():
    from studio.cli.render import sample_project_path
    from studio.media.image import read_image

    project = Project.load(sample_project_path())
    return project, read_image(project.reference_image)


class TestEchoContract(BackendContract):
    spec_name = "echo"

    @pytest.fixture(autouse=True)
    def _registered(self):
        from studio_echo.spec import SPEC

        with registry.installed(SPEC):
            yield

    def make_job(self, output_dir, **options):
        project, photo = _sample()
        settings = project.settings.updated(backend="echo", width=64, height=112, **options)
        return make_job(project, photo, range(self.n_frames), settings=settings, output_dir=output_dir)

    def held(self, backend):
        return backend._frame[1] if backend._frame is not None else None
