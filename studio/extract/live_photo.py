"""Live photos: the person in the photo holds still while the scene moves.

A live photo has no driving video. Its "driving" tracks are the photo's own pose and face, held
on every frame (:data:`~studio.core.tracks.FLAG_HELD`) and placed on the output canvas exactly
where the photo is placed (the reference fit), so the pose ControlNet sees the photo's skeleton
on every frame and S-Face sees the photo's own face. X-Dyna then adds the scene and hair
dynamics; the draft renderer adds an idle motion (breathing, sway, a head tilt, hair and loose clothes
stirring: :mod:`studio.backends.draft.idle`, scaled by the draft option ``live_motion``) so the mode
can be previewed without weights.

The held tracks are normalised to the canvas (their ``width``/``height`` are the render size), so
the driving fit onto the canvas is the identity; they are rebuilt when the render size changes.
"""

from __future__ import annotations

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import FLAG_HELD, FaceTrack, PoseTrack
from studio.extract.fit import CanvasFit

#: Longest live photo, in seconds.
MAX_SECONDS = 60.0


def frame_count(seconds: float, fps: float) -> int:
    """Frames of a live photo ``seconds`` long at ``fps`` (at least 1)."""
    if not (0 < seconds <= MAX_SECONDS):
        raise StudioError("Invalid live-photo length",
                          f"{seconds:g} s must be more than 0 and at most {MAX_SECONDS:g} seconds.")
    if not 0 < fps <= 240:
        raise StudioError("Invalid frame rate", f"The live photo's frame rate {fps:g} must be between 0 and 240.")
    return max(1, int(round(seconds * fps)))


def _canvas_fit(track_w: int, track_h: int, width: int, height: int, offset=(0.0, 0.0), scale=1.0) -> CanvasFit:
    from studio.extract.model_view import REFERENCE_FIT

    return CanvasFit.create(track_w, track_h, width, height, REFERENCE_FIT).placed(offset, scale)


def held_pose(reference_pose: PoseTrack | None, n: int, fps: float, width: int, height: int,
              offset: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> PoseTrack:
    """The photo's pose (frame 0 of ``reference_pose``) on ``n`` frames, normalised to the
    ``width`` x ``height`` canvas the way the photo is placed on it (the official fit, then the
    framing ``offset``/``scale``); every frame is flagged :data:`FLAG_HELD`."""
    if reference_pose is None or len(reference_pose) == 0 or not np.isfinite(reference_pose.body[0]).any():
        raise StudioError(
            "No person found in the photo",
            "A live photo holds the photo's own pose, but no person was detected in it. Use a photo "
            "where the person's body is visible.",
        )
    one = _canvas_fit(reference_pose.width, reference_pose.height, width, height, offset, scale).pose_to_canvas(
        reference_pose.slice(0, 1))
    return PoseTrack(
        body=np.repeat(one.body[:1], n, axis=0), body_conf=np.repeat(one.body_conf[:1], n, axis=0),
        hands=np.repeat(one.hands[:1], n, axis=0), hands_conf=np.repeat(one.hands_conf[:1], n, axis=0),
        flags=np.full(n, FLAG_HELD, np.uint8), width=int(width), height=int(height), fps=float(fps),
    )


def held_face(reference_face: FaceTrack | None, n: int, fps: float, width: int, height: int,
              offset: tuple[float, float] = (0.0, 0.0), scale: float = 1.0) -> FaceTrack | None:
    """The photo's face on ``n`` frames, on the canvas like :func:`held_pose` (``None`` without a
    face: S-Face is then off)."""
    if reference_face is None or len(reference_face) == 0 or not reference_face.has_face()[0]:
        return None
    one = _canvas_fit(reference_face.width, reference_face.height, width, height, offset, scale).face_to_canvas(
        reference_face)
    kw = {k: np.repeat(getattr(one, k)[:1], n, axis=0) for k in one._arrays}  # noqa: SLF001
    return FaceTrack(**kw, width=int(width), height=int(height), fps=float(fps))


def is_held(pose: PoseTrack | None) -> bool:
    """Whether ``pose`` is a live photo's held track (every frame flagged :data:`FLAG_HELD`)."""
    return pose is not None and len(pose) > 0 and bool(np.all(pose.flags & FLAG_HELD))



def live_tracks(reference_pose: PoseTrack | None, reference_face: FaceTrack | None, seconds: float, fps: float,
                width: int, height: int, offset: tuple[float, float] = (0.0, 0.0), scale: float = 1.0
                ) -> tuple[PoseTrack, FaceTrack | None]:
    """The held pose and face of a live photo ``seconds`` long at ``fps`` on a ``width`` x
    ``height`` canvas, with the photo framed by ``offset``/``scale``."""
    n = frame_count(seconds, fps)
    return (held_pose(reference_pose, n, fps, width, height, offset, scale),
            held_face(reference_face, n, fps, width, height, offset, scale))
