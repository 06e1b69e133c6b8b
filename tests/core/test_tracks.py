import json

import numpy as np
import pytest

from studio.core import FaceTrack, PoseTrack, StudioError
from studio.core.tracks import FLAG_EDITED, FLAG_NO_PERSON


def _pose(n=4):
    rng = np.random.default_rng(0)
    t = PoseTrack.empty(n, 640, 480, 30.0)
    t.body[:] = rng.random((n, 18, 2))
    t.body_conf[:] = 0.9
    t.flags[:] = 0
    return t


def test_roundtrip_through_json_is_exact():
    t = _pose()
    t.body[1, 3] = np.nan
    d = json.loads(json.dumps(t.to_dict()))
    t2 = PoseTrack.from_dict(d)
    assert t2.fingerprint() == t.fingerprint()
    np.testing.assert_array_equal(t2.body, t.body)
    assert (t2.width, t2.height, t2.fps) == (640, 480, 30.0)


def test_fingerprint_changes_with_any_value_and_per_frame():
    t = _pose()
    fp, f0, f2 = t.fingerprint(), t.frame_fingerprint(0), t.frame_fingerprint(2)
    t.body[2, 5, 0] += 0.01
    t.flags[2] |= FLAG_EDITED
    assert t.fingerprint() != fp
    assert t.frame_fingerprint(0) == f0
    assert t.frame_fingerprint(2) != f2


def test_empty_track_has_no_person():
    t = PoseTrack.empty(3, 10, 10, 25)
    assert not t.has_person().any()
    assert (t.flags & FLAG_NO_PERSON).all()
    f = FaceTrack.empty(3, 10, 10, 25)
    assert not f.has_face().any()


def test_shape_mismatch_is_a_studio_error():
    with pytest.raises(StudioError, match="body"):
        PoseTrack(
            body=np.zeros((2, 17, 2)), body_conf=np.zeros((2, 18)), hands=np.zeros((2, 2, 21, 2)),
            hands_conf=np.zeros((2, 2, 21)), flags=np.zeros(2),
        )


@pytest.mark.parametrize(
    "bad",
    [None, [], {"kind": "face"}, {"kind": "pose", "arrays": {}}, {"kind": "pose", "width": 1, "height": 1, "fps": 1,
     "arrays": {"body": {"npy": "!!"}}}],
)
def test_malformed_dicts_raise_studio_error(bad):
    with pytest.raises(StudioError):
        PoseTrack.from_dict(bad)


def test_slice_and_copy_are_independent():
    t = _pose(6)
    s = t.slice(2, 5)
    assert len(s) == 3
    np.testing.assert_array_equal(s.body, t.body[2:5])
    c = t.copy()
    c.body[0, 0, 0] = 5
    assert t.body[0, 0, 0] != 5


def _arrays(n=2, **replace):
    a = {"body": np.zeros((n, 18, 2)), "body_conf": np.zeros((n, 18)), "hands": np.zeros((n, 2, 21, 2)),
         "hands_conf": np.zeros((n, 2, 21)), "flags": np.zeros(n)}
    return {**a, **replace}


@pytest.mark.parametrize("name, value, said", [
    ("flags", np.array([1 + 2j, 0]), "complex128 values"),  # was cast to 1 with a ComplexWarning
    ("flags", np.array([0.5, 0]), "whole numbers from 0 to 65535"),  # was truncated to 0
    ("flags", np.array([70000, 0]), "whole numbers from 0 to 65535"),  # was wrapped to 4464
    ("flags", np.array([np.nan, 0]), "whole numbers"),
    ("body", np.full((2, 18, 2), 1e39), "beyond the range of float32"),  # was inf
    ("body_conf", np.zeros((2, 18), dtype=np.complex64), "complex64 values"),
])
def test_values_a_cast_would_change_are_a_studio_error_naming_the_array(name, value, said):
    with pytest.raises(StudioError, match=name) as err:
        PoseTrack(**_arrays(**{name: value}))
    assert said in err.value.description


def test_face_track_flags_are_checked_for_their_own_range():
    f = FaceTrack.empty(2, 10, 10, 25)
    d = f.to_dict()
    with pytest.raises(StudioError, match="whole numbers from 0 to 255"):
        FaceTrack(**{**{k: getattr(f, k) for k in FaceTrack._arrays}, "flags": np.array([256, 0])})
    assert FaceTrack.from_dict(d).fingerprint() == f.fingerprint()  # an ordinary track still loads


def test_values_that_survive_the_cast_load_unchanged():
    t = PoseTrack(**_arrays(flags=np.array([True, False]), body=np.full((2, 18, 2), np.nan)))
    assert t.flags.tolist() == [1, 0] and t.flags.dtype == np.uint16 and np.isnan(t.body).all()
    assert PoseTrack(**_arrays(flags=np.array([65535.0, 3]))).flags.tolist() == [65535, 3]
