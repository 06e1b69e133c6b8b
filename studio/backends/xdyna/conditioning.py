"""The images a render is conditioned on, built from a :class:`RenderJob` (numpy, no torch).

* reference: the photo centre-cropped to the render aspect and resized (the official
  ``imread_resize_crop``);
* pose maps: the head-less OpenPose skeleton with hands of every output frame, drawn from the
  job's pose track mapped onto the render canvas (retargeted to the reference body first when
  ``settings.retarget`` is on and the job carries the reference pose);
* S-Face local/global images: from the driving video frames (top-biased crop to the render
  aspect, as the official S-Face mode) and the job's face track. A live photo (a held track,
  :mod:`studio.extract.live_photo`) has no driving video: its "driving frame" is the fitted
  photo itself, and its face track is the photo's face, so S-Face sees the photo's face.

The canvas inputs every backend shares (placed photo, canvas pose, pose maps, fitted driving
frames) live in :mod:`studio.extract.canvas`; the CLI's side-by-side export draws its pose and
driving panels with them, so what it shows is what the model saw.
"""

from __future__ import annotations


import numpy as np

from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.extract.model_view import ModelView, video_fit
from studio.extract.canvas import (  # noqa: F401 - shared canvas inputs, re-exported for X-Dyna's code
    canvas_pose, driving_fit, driving_frames, photo_is_placed, pose_maps, reference_image, render_size,
)


def uses_sface(job: RenderJob) -> bool:
    """Whether the job is rendered with the S-Face ControlNet (setting on and a face track)."""
    return bool(job.options.face_controlnet and job.face is not None)


def sface_maps(job: RenderJob) -> tuple[np.ndarray, np.ndarray]:
    """``(local, global)`` S-Face images, each ``(n_frames, H, W, 3)`` uint8."""
    from studio.extract.sface import sface_for_frame

    if job.face is None:
        raise StudioError("No face track", "S-Face conditioning needs the driving face track; extract it first.")
    fit = driving_fit(job)
    face_fit = video_fit(job.face.width, job.face.height, ModelView.for_job(job))
    local, glob = [], []
    for i, frame in zip(job.frames, driving_frames(job)):
        lo, gl = sface_for_frame(frame, job.face, i, face_fit)
        local.append(lo)
        glob.append(gl)
    return np.stack(local), np.stack(glob)
