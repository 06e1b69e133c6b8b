"""The X-Dyna conditioning maps of a clip: pose skeleton, S-Face local and global images.

Ties the pieces together for a whole clip: frames are fitted to the render size with a
:class:`~studio.extract.fit.CanvasFit`, the tracks are mapped with the same fit, and each frame
yields the maps the pose and S-Face ControlNets consume.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import FaceTrack, PoseTrack
from studio.extract.fit import CanvasFit
from studio.extract.pose_map import draw_track_frame
from studio.extract.sface import sface_for_frame


@dataclass
class FrameMaps:
    """The conditioning images of one frame (``(H, W, 3)`` uint8 RGB at the render size).

    ``frame`` is the driving frame fitted to the render size (``None`` when no frames were
    given); ``sface_local`` / ``sface_global`` are ``None`` when S-Face maps were not asked for.
    """

    index: int
    pose: np.ndarray
    frame: np.ndarray | None = None
    sface_local: np.ndarray | None = None
    sface_global: np.ndarray | None = None


def pose_maps(pose: PoseTrack, frames: Sequence[int] | None = None, *, fit: CanvasFit | None = None,
              head: bool = False, hands: bool = True) -> np.ndarray:
    """``(len(frames), H, W, 3)`` uint8 skeleton maps of driving frames ``frames`` (default: every
    frame) of ``pose``: the one drawing of the pose ControlNet's input. ``pose`` is normalised to
    the render canvas (what the model sees, e.g. :func:`~studio.extract.model_view.model_pose`), or
    to the source frames when ``fit`` maps them onto the canvas. A frame outside the track is a
    :class:`StudioError`."""
    if fit is not None:
        _check_fit(pose, fit)
        pose = fit.pose_to_canvas(pose)
    frames = range(len(pose)) if frames is None else frames
    for i in frames:
        if not 0 <= i < len(pose):
            raise StudioError(
                "Frame out of range",
                f"The render asks for driving frame {i} but the pose track has {len(pose)} frames. "
                "Choose a frame range inside the clip.",
            )
    return np.stack([draw_track_frame(pose, i, head=head, draw_hands=hands) for i in frames])


def iter_frame_maps(
    pose: PoseTrack,
    face: FaceTrack | None,
    fit: CanvasFit,
    frames: Iterable[np.ndarray] | None = None,
    *,
    head: bool = False,
    hands: bool = True,
) -> Iterator[FrameMaps]:
    """The maps of every frame. S-Face maps need ``frames`` (source frames) and ``face``."""
    _check_fit(pose, fit)
    if face is not None and len(face) != len(pose):
        raise StudioError("Tracks do not match",
                          f"The pose track has {len(pose)} frames but the face track {len(face)}.")
    canvas = fit.pose_to_canvas(pose)
    frame_iter = iter(frames) if frames is not None else None
    for i in range(len(canvas)):
        maps = FrameMaps(i, draw_track_frame(canvas, i, head=head, draw_hands=hands))
        if frame_iter is not None:
            src = next(frame_iter, None)
            if src is None:
                raise StudioError("Video is shorter than the track",
                                  f"The video ended at frame {i} but the track has {len(pose)} frames. "
                                  "Re-run the extraction on this video.")
            maps.frame = fit.apply(src)
            if face is not None:
                maps.sface_local, maps.sface_global = sface_for_frame(maps.frame, face, i, fit)
        yield maps


def _check_fit(pose: PoseTrack, fit: CanvasFit) -> None:
    if (pose.width, pose.height) != (fit.src_w, fit.src_h):
        raise StudioError(
            "Fit does not match the track",
            f"The track is for {pose.width}x{pose.height} frames but the fit was made for "
            f"{fit.src_w}x{fit.src_h}. Create the fit from the track's size.",
        )
