"""What a DynamiCtrl render is conditioned on, built from a :class:`RenderJob` (numpy, no torch).

* reference: the photo placed on the render canvas (the studio's centre fit moved and scaled by
  the job's framing), so that it lines up with the pose frames. The official script instead
  resizes the whole photo to the target size (aspect distorted); on the canvas-fitted photo the
  pipeline's Lanczos resize is then a no-op;
* pose frames: the job's driving pose mapped to the canvas (retargeted when the job says so)
  drawn as DynamiCtrl's DWPose drawer draws them (:mod:`.pose_images`), one per output frame.
  The official pre-processing puts the reference photo's own pose first and N-1 driving frames
  after it; the studio renders the N frames the artist chose, each from its own driving frame;
* prompt: the artist's, or one built from what the studio knows (:func:`default_prompt`), or
  empty in the explicit empty-prompt mode.
"""

from __future__ import annotations

import numpy as np

from studio.core.jobs import RenderJob
from studio.core.tracks import FLAG_HELD
from studio.extract.model_view import ModelView, model_pose_for_job, photo_fit

from studio.backends.dynamictrl.pose_images import pose_frames

#: Ankles (OpenPose-18 points 10 and 13) and wrists (4 and 7).
_ANKLES, _WRISTS = (10, 13), (4, 7)


def reference_image(job: RenderJob) -> np.ndarray:
    """``(H, W, 3)`` uint8: the photo on the render canvas."""
    ref = job.reference
    return photo_fit(ref.shape[1], ref.shape[0], ModelView.for_job(job)).apply(ref)


def poses(job: RenderJob) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 DynamiCtrl pose frames of the job's output frames."""
    return pose_frames(model_pose_for_job(job), list(job.frames))


def _share_visible(job: RenderJob, points: tuple[int, ...]) -> float:
    conf = job.pose.body_conf[list(job.frames)][:, list(points)]
    return float((conf > 0.3).all(axis=1).mean()) if conf.size else 0.0


def default_prompt(job: RenderJob) -> str:
    """A joint-text prompt from what the studio knows: held pose or motion, how much of the body
    the clip shows, the frame's orientation. It never invents clothes or colours (the photo
    carries those); write your own prompt to describe them and the background."""
    held = bool(np.all(job.pose.flags[list(job.frames)] & FLAG_HELD))
    action = "stands and moves gently, breathing and shifting a little" if held else \
        "moves and dances, following the motion of the pose sequence"
    framing = "shown full body, head to feet" if _share_visible(job, _ANKLES) >= 0.5 else "shown from the waist up"
    hands = " Both hands stay visible and natural." if _share_visible(job, _WRISTS) >= 0.5 else ""
    shape = "portrait" if job.settings.height >= job.settings.width else "landscape"
    return (f"The person in the image {action}, {framing}, in a {shape} frame. The person keeps the same "
            f"face, hair and clothes as in the image, and the background stays the same as in the image, "
            f"with a steady camera.{hands} High quality, sharp, realistic video.")


def prompt_for(job: RenderJob) -> str:
    """The prompt the render uses (the artist's, else the default, or empty when asked)."""
    o = job.options
    if o.prompt.strip():
        return o.prompt
    return "" if o.empty_prompt else default_prompt(job)
