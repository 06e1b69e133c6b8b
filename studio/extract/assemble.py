"""Stack per-frame :class:`FrameDetection` results into PoseTrack / FaceTrack arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from studio.core.tracks import FLAG_MULTIPLE, FLAG_NO_PERSON, FaceTrack, PoseTrack
from studio.extract.detector import FrameDetection


def tracks_from_detections(
    dets: Sequence[FrameDetection], width: int, height: int, fps: float
) -> tuple[PoseTrack, FaceTrack]:
    """Raw tracks (no gap filling, no smoothing) from one detection per frame.

    A frame without a person gets ``FLAG_NO_PERSON`` and NaN points; a frame where the detector
    saw several people gets ``FLAG_MULTIPLE``. Face frames without a face get ``FLAG_NO_PERSON``
    in the face track.
    """
    n = len(dets)
    pose = PoseTrack.empty(n, width, height, fps)
    face = FaceTrack.empty(n, width, height, fps)
    for i, d in enumerate(dets):
        flags = 0
        if d.has_person:
            pose.body[i] = d.body
            pose.body_conf[i] = d.body_conf
            pose.hands[i] = d.hands
            pose.hands_conf[i] = d.hands_conf
        else:
            flags |= FLAG_NO_PERSON
        if d.n_people > 1:
            flags |= FLAG_MULTIPLE
        pose.flags[i] = flags
        if d.has_face:
            face.box[i] = d.face_box
            face.left_eye[i] = d.left_eye
            face.right_eye[i] = d.right_eye
            face.mouth[i] = d.mouth
            face.conf[i] = d.face_conf
            face.flags[i] = flags & ~FLAG_NO_PERSON
        else:
            face.flags[i] = flags | FLAG_NO_PERSON
    # Missing points are NaN with confidence 0 (the track convention).
    pose.body[pose.body_conf <= 0] = np.nan
    pose.hands[pose.hands_conf <= 0] = np.nan
    return pose, face
