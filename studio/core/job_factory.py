"""The one way a :class:`~studio.core.jobs.RenderJob` is made: the GUI, the CLI and the farm's
queue all call :func:`make_job`, so a job holds the same things whoever made it.

The job holds the chosen backend's name and validated options (``settings``), and the weights
folder resolved for that backend by :mod:`studio.core.weights_folder` (``None`` for weight-free
backends, so their cache keys never depend on a folder they do not read).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from studio.core import registry
from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.core.project import Project
from studio.core.settings import RenderSettings
from studio.core.weights_folder import WeightsFolder, resolve_weights_dir


def weights_for(project: Project, backend: str | None = None, flag: str | os.PathLike | None = None,
                preference: str | os.PathLike | None = None) -> WeightsFolder | None:
    """The weights folder ``backend`` (default: the project's) renders ``project`` with, or ``None``
    when it needs no weights."""
    name = backend or project.settings.backend
    if registry.get_spec(name).weights is None:
        return None
    return resolve_weights_dir(flag, project.weights_dirs.get(name), preference, backend=name)


def make_job(project: Project, reference: np.ndarray, frames: Sequence[int], *,
             settings: RenderSettings | None = None, weights: str | os.PathLike | None = None,
             preference: str | os.PathLike | None = None, output_dir: Path | None = None) -> RenderJob:
    """The frozen job rendering ``frames`` of ``project``.

    Parameters
    ----------
    reference: the reference photo's pixels (``(H, W, 3)`` uint8).
    settings: the settings to render with (default: the project's).
    weights: the weights folder given for this run (``--weights``), else the project's, the
        window's preference, the environment, the default (:func:`weights_for`).
    output_dir: where the PNG sequence goes (``None``: nowhere).
    """
    if project.pose is None:
        raise StudioError("No driving motion", "The project has no pose track; open a driving video first.")
    s = settings if settings is not None else project.settings
    folder = weights_for(project, s.backend, weights, preference)
    return RenderJob(
        reference=reference,
        pose=project.pose,
        frames=tuple(frames),
        settings=s,
        face=project.face,
        reference_pose=project.reference_pose,
        driving_video=project.driving_video,
        weights_dir=folder.path if folder is not None else None,
        output_dir=output_dir,
    )

