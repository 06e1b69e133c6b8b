"""What the model sees: the driving pose retargeted to the reference body and fitted onto the
output canvas, i.e. the skeleton the pose ControlNet map is drawn from.

There is one function for it, :func:`model_pose`. The X-Dyna conditioning
(:func:`studio.backends.xdyna.conditioning.canvas_pose`), ``studio render --side-by-side``, the
GUI's side-by-side export and the GUI's Pose pane all call it, so they cannot disagree.

The pose editor works in the same space: :func:`driving_point` maps a point the artist placed on
the output canvas back onto the driving track, so that :func:`model_pose` of the edited track
puts that keypoint exactly where it was dropped (to :data:`EDIT_TOLERANCE_PX`).

Geometry: driving frames are fitted to the canvas with the top-biased crop of the official
S-Face mode (``"top"``), the reference photo with the official centre crop (``"center"``); both
tracks are mapped with those fits (:class:`~studio.extract.fit.CanvasFit`) and retargeted in
canvas pixels (:func:`~studio.extract.retarget.retarget_track`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import N_BODY, N_HAND, PoseTrack
from studio.extract.fit import CanvasFit
from studio.extract.retarget import RetargetOptions, retarget_track

if TYPE_CHECKING:  # pragma: no cover
    from studio.core.jobs import RenderJob

#: Fit of the driving video frames (and tracks normalised to them) onto the output canvas.
DRIVING_FIT = "top"
#: Fit of the reference photo (and the reference pose) onto the output canvas.
REFERENCE_FIT = "center"
#: How close (in canvas pixels) an edited keypoint lands to where it was dropped.
EDIT_TOLERANCE_PX = 1e-3


@dataclass(frozen=True, eq=False)
class ModelView:
    """The output canvas a driving pose is shown on, and whether it is retargeted.

    Attributes
    ----------
    width, height: the render size in pixels.
    reference_pose: the reference photo's own pose (frame 0 is used, normalised to the photo,
        whose size is the track's ``width`` x ``height``); ``None`` when there is no photo yet.
    retarget: give the driving skeleton the reference person's proportions (needs
        ``reference_pose``; without one the pose is only fitted).
    options: the retargeting options (anchor, placement, confidence threshold).
    photo_offset, photo_scale: the artist's placement of the photo on the canvas
        (:meth:`~studio.extract.fit.CanvasFit.placed`; the default is the official fit).
    video_fit: how driving frames are fitted onto the canvas (default: the official top crop).
    video_offset, video_scale: the artist's placement of the driving frames after that fit.
    """

    width: int
    height: int
    reference_pose: PoseTrack | None = None
    retarget: bool = True
    options: RetargetOptions = RetargetOptions()
    photo_offset: tuple[float, float] = (0.0, 0.0)
    photo_scale: float = 1.0
    video_fit: str = DRIVING_FIT
    video_offset: tuple[float, float] = (0.0, 0.0)
    video_scale: float = 1.0

    def __post_init__(self) -> None:
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise StudioError("Invalid size", f"The output size {self.width}x{self.height} must be positive.")

    @classmethod
    def for_job(cls, job: "RenderJob") -> "ModelView":
        """The view of a render job (its size, retarget setting and reference pose)."""
        return cls.for_settings(job.settings, job.reference_pose)

    @classmethod
    def for_settings(cls, settings, reference_pose: PoseTrack | None = None) -> "ModelView":
        """The view of render ``settings`` (size, retargeting, framing) and a reference pose."""
        s = settings
        return cls(s.width, s.height, reference_pose, bool(s.retarget), photo_offset=tuple(s.photo_offset),
                   photo_scale=float(s.photo_scale), video_fit=s.video_fit,
                   video_offset=tuple(s.video_offset), video_scale=float(s.video_scale))

    @property
    def retargets(self) -> bool:
        """Whether :func:`model_pose` retargets (switched on and a reference pose is known)."""
        ref = self.reference_pose
        return bool(self.retarget and ref is not None and len(ref))

    def driving_fit(self, driving: PoseTrack) -> CanvasFit:
        """How frames of ``driving``'s size map onto the output canvas."""
        return video_fit(driving.width, driving.height, self)

    def reference_fit(self) -> CanvasFit | None:
        """How the reference photo maps onto the output canvas (``None`` without a reference)."""
        ref = self.reference_pose
        if ref is None:
            return None
        return photo_fit(ref.width, ref.height, self)


def video_fit(frame_w: int, frame_h: int, view: "ModelView") -> CanvasFit:
    """How ``frame_w`` x ``frame_h`` driving frames land on ``view``'s canvas: the chosen crop,
    then the artist's scale and offset of the video."""
    return CanvasFit.create(frame_w, frame_h, view.width, view.height, view.video_fit).placed(
        view.video_offset, view.video_scale)


def photo_fit(photo_w: int, photo_h: int, view: "ModelView") -> CanvasFit:
    """How a ``photo_w`` x ``photo_h`` photo lands on ``view``'s canvas: the official centre fit,
    then the artist's scale and offset."""
    return CanvasFit.create(photo_w, photo_h, view.width, view.height, REFERENCE_FIT).placed(
        view.photo_offset, view.photo_scale)


def model_pose(driving: PoseTrack, view: ModelView) -> PoseTrack:
    """The pose the model sees for every frame of ``driving``: retargeted (when ``view``
    retargets) and normalised to the output canvas (its ``width``/``height`` are the render size).

    Draw it with :func:`studio.extract.pose_map.draw_track_frame`. Retargeting scales each limb by
    a clip-wide factor, so pass the whole driving track, not a slice.
    """
    fit = view.driving_fit(driving)
    pose = driving
    if view.retargets:
        pose = retarget_track(driving, view.reference_pose, view.options, driving_fit=fit,
                              reference_fit=view.reference_fit())
    return fit.pose_to_canvas(pose)


def model_pose_for_job(job: "RenderJob") -> PoseTrack:
    """:func:`model_pose` of a render job's driving track."""
    return model_pose(job.pose, ModelView.for_job(job))


def _point(track: PoseTrack, frame: int, part: str, index: int) -> np.ndarray:
    if part == "body":
        return track.body[frame, index]
    return track.hands[frame, index // N_HAND, index % N_HAND]


def _check_part(driving: PoseTrack, frame: int, part: str, index: int) -> None:
    if not 0 <= frame < len(driving):
        raise StudioError("Frame out of range", f"Frame {frame} is outside the pose track (0..{len(driving) - 1}).")
    limit = N_BODY if part == "body" else 2 * N_HAND if part == "hand" else 0
    if not 0 <= index < limit:
        raise StudioError("Unknown keypoint", f"{part!r} point {index} does not exist (body: 0..17, hand: 0..41).")


def driving_point(driving: PoseTrack, view: ModelView, frame: int, part: str, index: int,
                  canvas_xy: tuple[float, float], *, max_iter: int = 20) -> tuple[float, float]:
    """The driving-track position (normalised to the driving frame) that puts keypoint ``index``
    of ``part`` (``"body"``, or ``"hand"`` as ``side * 21 + i``) on ``frame`` at ``canvas_xy``
    (normalised to the output canvas) in :func:`model_pose`.

    The point must be present on that frame. Retargeting depends on the moved point itself
    (limb lengths are clip medians, the anchor is the hip midpoint), so the inverse is found by
    Newton steps on the real :func:`model_pose` until the point lands within
    :data:`EDIT_TOLERANCE_PX` canvas pixels. Raises :class:`StudioError` when the point is
    missing or no position reaches the target.
    """
    _check_part(driving, frame, part, index)
    start = _point(driving, frame, part, index).astype(np.float64)
    if not np.isfinite(start).all():
        raise StudioError("Keypoint not detected",
                          f"The {part} point {index} is missing on frame {frame}; only detected points can be moved.")
    target = np.asarray(canvas_xy, np.float64)
    size = np.array([view.width, view.height], np.float64)
    work = driving.copy()
    if part == "body":  # an edited point counts as sure, as the edit commands make it
        work.body_conf[frame, index] = max(float(work.body_conf[frame, index]), 1.0)
    else:
        work.hands_conf[frame, index // N_HAND, index % N_HAND] = max(
            float(work.hands_conf[frame, index // N_HAND, index % N_HAND]), 1.0)

    def shown(d: np.ndarray) -> np.ndarray:
        _point(work, frame, part, index)[:] = d
        return _point(model_pose(work, view), frame, part, index).astype(np.float64)

    fit = view.driving_fit(driving)
    d = fit.from_canvas_norm(target).astype(np.float64) if not view.retargets else start.copy()
    f = shown(d)
    for _ in range(max_iter):
        err = (target - f) * size
        if np.all(np.isfinite(err)) and np.hypot(*err) <= EDIT_TOLERANCE_PX:
            return float(d[0]), float(d[1])
        step = 1e-4
        jac = np.empty((2, 2))
        for k in range(2):
            e = np.zeros(2)
            e[k] = step
            jac[:, k] = (shown(d + e) - f) / step
        try:
            delta = np.linalg.solve(jac, target - f)
        except np.linalg.LinAlgError:
            break
        d = d + delta
        f = shown(d)
    err = (target - f) * size
    if np.all(np.isfinite(err)) and np.hypot(*err) <= EDIT_TOLERANCE_PX:
        return float(d[0]), float(d[1])
    raise StudioError(
        "Cannot place the keypoint there",
        f"No driving position puts the {part} point {index} of frame {frame} at the dropped place "
        "on the output canvas. Drop it closer to the body, or edit it on the Driving panel.",
    )


def model_pose_map(canvas_pose: PoseTrack, i: int) -> np.ndarray:
    """The pose ControlNet map of frame ``i`` of a :func:`model_pose` result (head-less skeleton
    with hands at the render size)."""
    from studio.extract.pose_map import draw_track_frame

    return draw_track_frame(canvas_pose, i, head=False)


def side_by_side(result: np.ndarray, pose_map: np.ndarray, driving: np.ndarray | None = None) -> np.ndarray:
    """``driving | pose | result`` in one image (``pose | result`` without a driving frame).

    Panels of another height than ``result`` are resized to its height (keeping their aspect);
    at the render size nothing is resized, so the CLI and the GUI export give the same pixels.
    """
    import cv2

    h = result.shape[0]
    panels = []
    for img in (driving, pose_map, result):
        if img is None:
            continue
        img = np.asarray(img)
        if img.shape[0] != h:
            w = max(2, int(round(img.shape[1] * h / img.shape[0])))
            interp = cv2.INTER_AREA if img.shape[0] > h else cv2.INTER_LINEAR
            img = cv2.resize(img, (w, h), interpolation=interp)
        panels.append(img)
    return np.ascontiguousarray(np.concatenate(panels, axis=1))
