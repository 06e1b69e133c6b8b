"""Whether the Render button can start a render now (no Qt widgets: the panel asks)."""

from __future__ import annotations

from typing import Any


def render_ready(doc: Any, busy: bool) -> tuple[bool, str]:
    """``(enabled, tooltip)`` of the Render button for document ``doc``: disabled while a render
    runs and while frames to render still wait for their pose (range-first extraction); other
    problems (no photo, no video) are reported when Render is pressed."""
    if busy:
        return False, "A render is running; cancel it or wait for it to finish."
    waiting = doc.render_waiting()
    if waiting:
        return False, waiting
    frames = doc.render_range()
    if frames and doc.project.frame_range is None and len(frames) < doc.timeline.frame_count:
        return True, (f"Render frames {frames[0]}–{frames[-1]}, the frames with a pose so far (the rest of the "
                      "clip is still being extracted; set an in/out range to choose others).")
    return True, "Render the in/out range, reusing its finished frames."


def preparation_job(doc: Any) -> Any:
    """The job the render worker prepares its renderer with once the inputs settle (the draft's
    rig of the photo, X-Dyna's pipeline): the playhead frame's, or, before a driving clip is
    open, the photo held in its own pose, so the rig is built while the artist picks the clip.
    ``None`` without a photo."""
    from studio.core.jobs import RenderJob
    from studio.core.tracks import PoseTrack

    p = doc.project
    if doc.reference_rgb is None:
        return None
    if doc.timeline.frame_count > 0 and p.pose is not None:
        return doc.make_job((doc.timeline.current,), for_keys=True)
    h, w = doc.reference_rgb.shape[:2]
    pose = p.reference_pose if p.reference_pose is not None and len(p.reference_pose) else \
        PoseTrack.empty(1, w, h, float(p.fps or 25.0))
    from studio.core.job_factory import weights_for

    folder = weights_for(p, preference=doc.weights_preference)  # None for weight-free renderers
    return RenderJob(reference=doc.reference_rgb, pose=pose, frames=(0,), settings=p.settings, face=None,
                     reference_pose=p.reference_pose, weights_dir=folder.path if folder is not None else None)
