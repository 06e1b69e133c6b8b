"""The bundled sample project (``resources/sample``, made by ``tools/make_sample.py``) and a
one-call render of it, for ``studio render --sample`` and first-run demos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from studio.backends.draft.backend import DraftBackend
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import FramesReady, Progress
from studio.core.jobs import RenderJob
from studio.core.project import Project

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "resources" / "sample"
SAMPLE_PROJECT = SAMPLE_DIR / "sample.studio.json"


def load_sample(path: Path = SAMPLE_PROJECT) -> Project:
    """The sample project; :class:`StudioError` if it is missing from this installation."""
    if not Path(path).is_file():
        raise StudioError(
            "The sample project is missing",
            f"{path} does not exist. Re-install the studio, or run `python tools/make_sample.py` "
            "from a source checkout to recreate it.",
        )
    return Project.load(path)


def sample_job(project: Project | None = None) -> RenderJob:
    """A draft :class:`RenderJob` for the whole sample clip."""
    from studio.media.image import read_image

    project = project or load_sample()
    if project.pose is None or project.reference_image is None:
        raise StudioError("Broken sample project", f"{project.path} lacks its reference image or pose track.")
    reference = read_image(project.reference_image)
    settings = project.settings.updated(backend="draft")
    return RenderJob(
        reference=reference,
        pose=project.pose,
        frames=tuple(range(project.n_frames())),
        settings=settings,
        reference_pose=project.reference_pose,
    )


def render_sample_frames(cancel: CancelToken | None = None,
                         progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """All frames of the sample clip rendered by the draft backend, ``(N, H, W, 3)`` uint8."""
    job = sample_job()
    frames = np.empty((job.n_frames, job.settings.height, job.settings.width, 3), np.uint8)
    for ev in DraftBackend().render(job, cancel or CancelToken()):
        if isinstance(ev, FramesReady):
            frames[list(ev.indices)] = ev.frames
        elif isinstance(ev, Progress) and progress is not None and ev.phase == "render":
            progress(ev.step, ev.total)
    return frames


def render_sample(out_path: str | Path, cancel: CancelToken | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Path:
    """Render the sample with the draft backend and export it to ``out_path`` (MP4, WebM, GIF or
    a PNG folder, by extension, via :mod:`studio.media.exporters`); returns the written path."""
    from studio.media.exporters import export_frames

    project = load_sample()
    frames = render_sample_frames(cancel, progress)
    return export_frames(list(frames), project.fps, out_path, cancel=cancel, frame_count=len(frames))
