"""Keypoint layouts: BlazePose-33 and FaceMesh-468 indices, and their conversion to OpenPose-18.

Pure numpy: the detector returns raw landmark arrays and this module turns them into the
layouts the tracks store (see :mod:`studio.core.tracks` for the OpenPose-18 order).
"""

from __future__ import annotations

import numpy as np

from studio.core.tracks import N_BODY

# BlazePose-33 landmark indices (subject's left/right).
BP_NOSE = 0
BP_L_EYE, BP_R_EYE = 2, 5
BP_L_EAR, BP_R_EAR = 7, 8
BP_L_SHOULDER, BP_R_SHOULDER = 11, 12
BP_L_ELBOW, BP_R_ELBOW = 13, 14
BP_L_WRIST, BP_R_WRIST = 15, 16
BP_L_PINKY, BP_R_PINKY = 17, 18
BP_L_INDEX, BP_R_INDEX = 19, 20
BP_L_THUMB, BP_R_THUMB = 21, 22
BP_L_HIP, BP_R_HIP = 23, 24
BP_L_KNEE, BP_R_KNEE = 25, 26
BP_L_ANKLE, BP_R_ANKLE = 27, 28
N_BLAZEPOSE = 33

#: For each OpenPose-18 point, the BlazePose index it is copied from (-1: the neck, derived).
OPENPOSE_FROM_BLAZEPOSE: tuple[int, ...] = (
    BP_NOSE, -1, BP_R_SHOULDER, BP_R_ELBOW, BP_R_WRIST, BP_L_SHOULDER, BP_L_ELBOW, BP_L_WRIST,
    BP_R_HIP, BP_R_KNEE, BP_R_ANKLE, BP_L_HIP, BP_L_KNEE, BP_L_ANKLE,
    BP_R_EYE, BP_L_EYE, BP_R_EAR, BP_L_EAR,
)

#: BlazePose points around each hand (wrist, pinky, index, thumb), index 0 = left hand.
HAND_ANCHORS: tuple[tuple[int, ...], tuple[int, ...]] = (
    (BP_L_WRIST, BP_L_PINKY, BP_L_INDEX, BP_L_THUMB),
    (BP_R_WRIST, BP_R_PINKY, BP_R_INDEX, BP_R_THUMB),
)

# FaceMesh-468 subsets (from mediapipe's face_mesh_connections; subject's left/right).
FM_LEFT_EYE: tuple[int, ...] = (
    249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
FM_RIGHT_EYE: tuple[int, ...] = (
    7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)
FM_LIPS: tuple[int, ...] = (
    0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185, 191,
    267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415)
FM_FACE_OVAL: tuple[int, ...] = (
    10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234,
    251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454)
FM_BROWS: tuple[int, ...] = (
    276, 282, 283, 285, 293, 295, 296, 300, 334, 336, 46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
N_FACEMESH = 468


def openpose18_from_blazepose(points: np.ndarray, conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convert BlazePose-33 landmarks to the OpenPose-18 body layout.

    Parameters
    ----------
    points: ``(33, 2)`` normalised ``x, y``.
    conf: ``(33,)`` per-landmark confidence (BlazePose visibility) in [0, 1].

    Returns
    -------
    ``(18, 2)`` float32 points and ``(18,)`` float32 confidences. The neck is the shoulder
    midpoint with the lower of the two shoulder confidences.
    """
    points = np.asarray(points, np.float32)
    conf = np.asarray(conf, np.float32)
    if points.shape != (N_BLAZEPOSE, 2) or conf.shape != (N_BLAZEPOSE,):
        raise ValueError(f"expected (33, 2) points and (33,) confidences, got {points.shape}, {conf.shape}")
    body = np.empty((N_BODY, 2), np.float32)
    bconf = np.empty(N_BODY, np.float32)
    for j, src in enumerate(OPENPOSE_FROM_BLAZEPOSE):
        if src >= 0:
            body[j] = points[src]
            bconf[j] = conf[src]
    body[1] = 0.5 * (points[BP_L_SHOULDER] + points[BP_R_SHOULDER])
    bconf[1] = min(conf[BP_L_SHOULDER], conf[BP_R_SHOULDER])
    return body, bconf


def face_anchors_from_facemesh(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Face box and S-Face anchor points from FaceMesh-468 landmarks (any consistent units).

    The box mimics the extent of the iBUG-68 landmarks the X-Dyna S-Face ControlNet was trained
    with: horizontally the face oval, from the top of the eyebrows down to the chin (the 68-point
    set has no forehead points).

    Returns ``box (x0, y0, x1, y1)``, ``left_eye``, ``right_eye`` (subject's sides, contour means)
    and ``mouth`` (mean of the lip contours).
    """
    points = np.asarray(points, np.float32)
    if points.ndim != 2 or points.shape[0] < N_FACEMESH or points.shape[1] != 2:
        raise ValueError(f"expected (468, 2) FaceMesh landmarks, got {points.shape}")
    oval = points[list(FM_FACE_OVAL)]
    brows = points[list(FM_BROWS)]
    box = np.array(
        [oval[:, 0].min(), brows[:, 1].min(), oval[:, 0].max(), oval[:, 1].max()], np.float32
    )
    left_eye = points[list(FM_LEFT_EYE)].mean(axis=0)
    right_eye = points[list(FM_RIGHT_EYE)].mean(axis=0)
    mouth = points[list(FM_LIPS)].mean(axis=0)
    return box, left_eye.astype(np.float32), right_eye.astype(np.float32), mouth.astype(np.float32)


def face_anchors_from_ibug68(lmks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Face box and anchors from iBUG-68 landmarks, by the official X-Dyna rule.

    Eye centres are the means of the 0-based slices ``lmks[43:48]`` (subject's left eye) and
    ``lmks[37:42]`` (right eye), the mouth the mean of ``lmks[49:68]``; the box is the landmark
    extent. Values are not rounded here (:func:`studio.extract.sface.sface_images` rounds).
    The landmarks' float dtype is kept (face_alignment returns float32), so means and the box
    are computed in the same precision as in the original code.
    """
    lmks = np.asarray(lmks)
    if not np.issubdtype(lmks.dtype, np.floating):
        lmks = lmks.astype(np.float32)
    if lmks.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lmks.shape}")
    box = np.array([lmks[:, 0].min(), lmks[:, 1].min(), lmks[:, 0].max(), lmks[:, 1].max()], lmks.dtype)
    return box, lmks[43:48].mean(axis=0), lmks[37:42].mean(axis=0), lmks[49:68].mean(axis=0)
