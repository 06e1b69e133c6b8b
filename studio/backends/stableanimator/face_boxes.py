"""Face boxes for the HJB face optimisation, from the studio's tracks (torch-free).

The official pro script reads one face mask per driving frame and one for the photo
(``face_mask_extraction.py``: insightface's detection boxes filled into a mask, the whole image
where it finds no face) and crops each decoded frame to the mask's extent. The studio has those
faces already, so no detector runs here:

* a rendered frame's box is the driving face track's landmark extent (:class:`~studio.core.
  tracks.FaceTrack` ``box``) mapped onto the render canvas with the driving fit; when the job
  retargets the skeleton, the box moves with the retargeted nose and scales with the head
  (nose-to-neck length) as the pose images do;
* without a face on that frame (or no face track), the box is drawn around the canvas pose's head
  keypoints (:func:`head_box`);
* the photo's box is :func:`head_box` of the reference pose on the photo's canvas fit;
* with neither, the whole frame (as the official mask extraction does).

So the crops differ from the official ones by the detector (MediaPipe landmarks and OpenPose head
points instead of insightface SCRFD boxes); the optimisation itself is the official one. Boxes are
``(y0, y1, x0, x1)`` inclusive pixel bounds, the form the official script derives from a mask.
"""

from __future__ import annotations

import numpy as np

from studio.core.tracks import PoseTrack

NOSE, NECK, R_EYE, L_EYE, R_EAR, L_EAR = 0, 1, 14, 15, 16, 17
#: Body keypoints count as seen above this confidence.
MIN_CONF = 0.3


def whole_frame(width: int, height: int) -> tuple[int, int, int, int]:
    """The box of the whole image."""
    return 0, height - 1, 0, width - 1


def pixel_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` inclusive pixels of a continuous box ``[x0, x1) x [y0, y1)`` (pixel edges rounded
    to the nearest), clipped to the image."""
    bx0, bx1 = int(np.clip(np.round(x0), 0, width - 1)), int(np.clip(np.round(x1) - 1, 0, width - 1))
    by0, by1 = int(np.clip(np.round(y0), 0, height - 1)), int(np.clip(np.round(y1) - 1, 0, height - 1))
    return by0, max(by0, by1), bx0, max(bx0, bx1)


def head_box(body: np.ndarray, conf: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """A face box around one frame's head keypoints (normalised ``body`` (18, 2)), or None.

    Width: 1.1 x the ear-to-ear span when both ears are seen, else 2.5 x the eye span; the box is
    square, centred on the eyes' midpoint (the nose where an eye is missing), 45 % above it.
    """
    px = np.asarray(body, np.float64) * (width, height)
    seen = np.asarray(conf) > MIN_CONF
    seen &= np.isfinite(px).all(axis=1)
    if seen[R_EAR] and seen[L_EAR]:
        side = 1.1 * np.hypot(*(px[R_EAR] - px[L_EAR]))
    elif seen[R_EYE] and seen[L_EYE]:
        side = 2.5 * np.hypot(*(px[R_EYE] - px[L_EYE]))
    else:
        return None
    centre = (px[R_EYE] + px[L_EYE]) / 2 if seen[R_EYE] and seen[L_EYE] else px[NOSE] if seen[NOSE] else None
    if centre is None or side < 2:
        return None
    return pixel_box(centre[0] - side / 2, centre[1] - 0.45 * side, centre[0] + side / 2, centre[1] + 0.55 * side,
                     width, height)


def _head_scale(pose: PoseTrack, i: int) -> tuple[np.ndarray, float] | None:
    b, c = pose.body[i], pose.body_conf[i]
    if c[NOSE] > MIN_CONF and c[NECK] > MIN_CONF and np.isfinite(b[[NOSE, NECK]]).all():
        return b[NOSE].astype(np.float64), float(np.hypot(*(b[NOSE] - b[NECK])))
    return None


def frame_boxes(canvas_pose: PoseTrack, fitted_pose: PoseTrack, canvas_face, frames, width: int,
                height: int) -> np.ndarray:
    """(F, 4) boxes of the rendered frames (see the module docstring).

    ``canvas_pose`` is the pose the model sees (retargeted, on the canvas), ``fitted_pose`` the
    driving pose only fitted onto the canvas (equal to ``canvas_pose`` without retargeting) and
    ``canvas_face`` the driving face track on the canvas (or None); all normalised to the canvas.
    """
    out = []
    for i in frames:
        box = None
        if canvas_face is not None and 0 <= i < len(canvas_face) and canvas_face.conf[i] > 0 \
                and np.isfinite(canvas_face.box[i]).all():
            x0, y0, x1, y1 = canvas_face.box[i].astype(np.float64)
            a, b = _head_scale(fitted_pose, i), _head_scale(canvas_pose, i)
            if a is not None and b is not None and a[1] > 0:  # follow the retargeted head
                s = b[1] / a[1]
                x0, x1 = b[0][0] + (x0 - a[0][0]) * s, b[0][0] + (x1 - a[0][0]) * s
                y0, y1 = b[0][1] + (y0 - a[0][1]) * s, b[0][1] + (y1 - a[0][1]) * s
            box = pixel_box(x0 * width, y0 * height, x1 * width, y1 * height, width, height)
        if box is None:
            box = head_box(canvas_pose.body[i], canvas_pose.body_conf[i], width, height)
        out.append(box if box is not None else whole_frame(width, height))
    return np.asarray(out, np.int64).reshape(-1, 4)
