"""A render job's inputs on the render canvas (numpy, no torch), shared by every backend and by
the CLI's side-by-side export: the reference photo placed by the job's framing, the driving pose
mapped onto the canvas (retargeted when asked), its head-less skeleton maps, and the driving video's
frames fitted to the canvas (for a live photo, the placed photo itself). What a backend's model
sees is drawn from these, so an export shows what the model saw.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.core.tracks import PoseTrack
from studio.extract.fit import CanvasFit, fit_image
from studio.extract.model_view import REFERENCE_FIT, ModelView, photo_fit, video_fit
from studio.extract.conditioning import pose_maps  # noqa: F401 - the one pose-map drawing, re-exported


def render_size(job: RenderJob) -> tuple[int, int]:
    """``(width, height)`` of the render."""
    return job.settings.width, job.settings.height


def reference_image(job: RenderJob) -> np.ndarray:
    """The reference photo placed on the render canvas, ``(H, W, 3)`` uint8: the official centre
    fit, moved and scaled by the job's framing (``photo_offset``/``photo_scale``)."""
    w, h = render_size(job)
    if not photo_is_placed(job):
        return fit_image(job.reference, w, h, REFERENCE_FIT)
    return photo_fit(job.reference.shape[1], job.reference.shape[0], ModelView.for_job(job)).apply(job.reference)


def photo_is_placed(job: RenderJob) -> bool:
    """Whether the artist moved or scaled the photo away from the official fit."""
    s = job.settings
    return tuple(s.photo_offset) != (0.0, 0.0) or s.photo_scale != 1.0


def driving_fit(job: RenderJob) -> CanvasFit:
    """How driving frames (size ``job.pose.width x height``) map onto the render canvas."""
    return video_fit(job.pose.width, job.pose.height, ModelView.for_job(job))


def canvas_pose(job: RenderJob) -> PoseTrack:
    """The driving pose normalised to the render canvas (the frame the pose maps are drawn on),
    retargeted to the reference body's proportions when ``settings.retarget`` is on and the job
    carries the reference pose: :func:`studio.extract.model_view.model_pose`, the one function
    for "what the model sees" (the GUI's Pose pane and exports use it too)."""
    from studio.extract.model_view import model_pose_for_job

    return model_pose_for_job(job)


def driving_frames(job: RenderJob) -> Iterator[np.ndarray]:
    """The driving video's output frames fitted to the render size, in output order (for a live
    photo, the fitted photo on every frame)."""
    from studio.extract.live_photo import is_held

    if job.driving_video is None and is_held(job.pose):
        photo = reference_image(job)
        for _ in job.frames:
            yield photo
        return
    if job.driving_video is None:
        raise StudioError(
            "No driving video",
            "This render needs the driving video's pixels (S-Face or side-by-side) but the job has "
            "none. Set the driving video or turn the face ControlNet off.",
        )
    from studio.media.video import VideoReader

    fit = driving_fit(job)
    with VideoReader(job.driving_video) as reader:
        if tuple(reader.size) != (job.pose.width, job.pose.height):
            raise StudioError(
                "Driving video does not match its track",
                f"{job.driving_video} is {reader.size[0]}x{reader.size[1]} but the pose track was "
                f"extracted at {job.pose.width}x{job.pose.height}. Extract the pose again.",
            )
        for i in job.frames:
            yield fit.apply(reader.read(i))
