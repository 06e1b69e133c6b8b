"""The backend contract for the draft renderer (the bundled sample at 64x112, 16 frames)."""

from __future__ import annotations

import functools

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


class TestDraftContract(BackendContract):
    spec_name = "draft"

    def make_backend(self):
        return registry.create_backend("draft", chunk=4)

    def make_job(self, output_dir, **options):
        project, photo = _sample()
        settings = project.settings.updated(backend="draft", width=64, height=112, **options)
        return make_job(project, photo, range(self.n_frames), settings=settings, output_dir=output_dir)

    def held(self, backend):
        return backend._cached[1] if backend._cached is not None else None
