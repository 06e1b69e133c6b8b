"""The driving poses a draft render follows, in render pixels, with gaps filled.

A frame without a person (``FLAG_NO_PERSON``) holds the last pose before it, and a single
missing joint keeps its last known position; both look back along the driving *track*, not
along the render order, so a frame renders the same whichever frames are requested with it.
Before the first detected person the reference pose itself is used.

With ``settings.retarget`` on, the driving skeleton first gets the reference person's limb
lengths (:func:`studio.extract.retarget.retarget_body`), anchored at the hips and placed where the
reference person stands, so the photo moves by the dancer's motion rather than jumping to the
dancer's place in the video.
"""

from __future__ import annotations

import numpy as np

from studio.backends.draft.framing import body_pixels, track_fit
from studio.backends.draft.skeleton import fill_driving
from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.extract.retarget import RetargetOptions, retarget_body


def driving_poses(job: RenderJob, ref_pose: np.ndarray) -> np.ndarray:
    """``(job.n_frames, 18, 2)`` complete driving poses for ``job.frames`` (render pixels)."""
    n = len(job.pose)
    bad = [i for i in job.frames if not 0 <= i < n]
    if bad:
        raise StudioError(
            "Frames outside the driving clip",
            f"The render asks for driving frame(s) {bad[:5]} but the pose track has {n} frames "
            f"(0..{n - 1}). Re-run the extraction or change the frame range.",
        )
    s = job.settings
    body = body_pixels(job.pose, track_fit(job.pose, s.width, s.height, s.video_fit, tuple(s.video_offset),
                                           s.video_scale))
    if job.settings.retarget:
        conf = np.isfinite(body).all(axis=2).astype(np.float64)  # missing points are NaN already
        options = RetargetOptions(anchor="hips", place="reference", threshold=0.5)
        body, _ = retarget_body(body, conf, ref_pose, np.ones(len(ref_pose)), options)
    last = max(job.frames) + 1 if job.frames else 0
    filled = np.empty((last, 18, 2))
    previous: np.ndarray | None = None
    for i in range(last):
        current = body[i]
        if not np.isfinite(current).all(axis=1).any():
            current = previous if previous is not None else ref_pose
        filled[i] = fill_driving(current, previous, ref_pose)
        previous = filled[i]
    return filled[list(job.frames)]

