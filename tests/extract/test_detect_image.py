"""The reference-photo detector on a real photo (the astronaut)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.tracks import FLAG_NO_PERSON
from studio.extract import detect_image

# Where things are on skimage's astronaut (512x512), measured by eye on the photo.
FACE_BOX = (170, 60, 290, 190)  # x0, y0, x1, y1 around the face


def _px(xy: np.ndarray) -> np.ndarray:
    return np.asarray(xy, np.float64) * 512


def test_landmarks_land_on_face_and_shoulders(astronaut: np.ndarray) -> None:
    pose, face = detect_image(astronaut)
    assert len(pose) == 1 and len(face) == 1
    assert pose.has_person()[0] and face.has_face()[0]
    assert (pose.width, pose.height) == (512, 512)
    body = _px(pose.body[0])
    x0, y0, x1, y1 = FACE_BOX
    nose = body[0]
    assert x0 < nose[0] < x1 and y0 < nose[1] < y1
    # shoulders: below the face, to either side of the nose, on the subject's correct side
    r_sh, l_sh = body[2], body[5]
    assert r_sh[1] > y1 and l_sh[1] > y1
    assert r_sh[0] < nose[0] - 60 and l_sh[0] > nose[0] + 40
    assert pose.body_conf[0, [0, 1, 2, 5]].min() > 0.9
    np.testing.assert_allclose(body[1], (r_sh + l_sh) / 2, atol=1e-3)  # neck
    # face: the box is on the face, eyes above the mouth, subject's left eye on image right
    box = _px(face.box[0])
    assert x0 - 10 < box[0] < box[2] < x1 + 10 and y0 - 10 < box[1] < box[3] < y1 + 10
    le, re, mouth = _px(face.left_eye[0]), _px(face.right_eye[0]), _px(face.mouth[0])
    assert le[0] > re[0] and mouth[1] > max(le[1], re[1]) + 20
    for p in (le, re, mouth):
        assert box[0] < p[0] < box[2] and box[1] < p[1] < box[3]
    # pose eyes agree with the face mesh eyes within a few pixels
    assert np.linalg.norm(body[15] - le) < 12 and np.linalg.norm(body[14] - re) < 12


def test_photo_without_person_is_flagged_not_raised() -> None:
    from skimage import data

    pose, face = detect_image(data.coffee())
    assert pose.flags[0] & FLAG_NO_PERSON and not pose.has_person()[0]
    assert not face.has_face()[0]


@pytest.mark.parametrize("bad", [np.zeros((10, 10), np.uint8), np.zeros((32, 32, 3), np.float32),
                                 np.zeros((4, 4, 3), np.uint8)])
def test_bad_images_raise_studio_error(bad: np.ndarray) -> None:
    with pytest.raises(StudioError):
        detect_image(bad)


def test_two_people_are_flagged(astronaut: np.ndarray) -> None:
    from studio.core.tracks import FLAG_MULTIPLE

    two = np.concatenate([astronaut, astronaut[:, ::-1]], axis=1)
    pose, _ = detect_image(two)
    assert pose.flags[0] & FLAG_MULTIPLE and pose.has_person()[0]
    one, _ = detect_image(astronaut)
    assert not one.flags[0] & FLAG_MULTIPLE
