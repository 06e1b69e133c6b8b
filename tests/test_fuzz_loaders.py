"""Fuzzing the loaders of what the artist keeps on disk: project files and pose/face tracks.

Whatever the input (damaged JSON text, valid JSON of the wrong shape, valid projects with single
values replaced by anything, tracks with arrays of any dtype/shape), loading either succeeds with a
usable object or raises a :class:`StudioError`; no other exception escapes.
"""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from studio.core.errors import StudioError
from studio.core.project import Project
from studio.core.settings import RenderSettings
from studio.core.tracks import FaceTrack, PoseTrack

#: About 20 s per test on a 2-core machine (about a minute for the file).
FUZZ = settings(deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _pose(n: int = 4) -> PoseTrack:
    p = PoseTrack.empty(n, 64, 48, 25.0)
    p.body[:] = 0.5
    p.body_conf[:] = 1.0
    p.flags[:] = 0
    return p


def _valid_project_dict() -> dict[str, Any]:
    proj = Project(reference_image=Path("media/photo.png"), driving_video=Path("media/dance.mp4"), fps=24.0,
                   frame_range=(0, 3), pose=_pose(), face=FaceTrack.empty(4, 64, 48, 25.0),
                   reference_pose=_pose(1), settings=RenderSettings(backend="xdyna", steps=10))
    return proj.to_dict()


VALID = _valid_project_dict()
VALID_TEXT = json.dumps(VALID)


def _paths(d: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path inside nested dicts/lists of ``d``."""
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, prefix + (i,))
    return out


PROJECT_PATHS = _paths(VALID)


def _replace(d: Any, path: tuple, value: Any, delete: bool = False) -> Any:
    d = json.loads(json.dumps(d))  # a deep copy
    node = d
    for k in path[:-1]:
        node = node[k]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


def _load_dict(d: Any) -> None:
    try:
        p = Project.from_dict(d, base=Path("/projects"))
    except StudioError as err:
        assert err.title and err.description
        return
    # what loads is usable: it saves again, counts its frames and fingerprints its tracks
    json.dumps(p.to_dict(base=Path("/projects")))
    p.n_frames()
    for t in (p.pose, p.face, p.reference_pose, p.reference_face):
        if t is not None:
            t.fingerprint()


@FUZZ
@given(path=st.sampled_from(PROJECT_PATHS), value=json_values, delete=st.booleans())
def test_project_with_one_value_replaced(path: tuple, value: Any, delete: bool) -> None:
    _load_dict(_replace(VALID, path, value, delete))


@settings(deadline=None, max_examples=900, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_project_file_text_damaged_or_foreign(tmp_path_factory, data) -> None:
    kind = data.draw(st.sampled_from(["truncated", "flipped", "json", "bytes"]))
    raw = VALID_TEXT.encode()
    if kind == "truncated":
        content = raw[: data.draw(st.integers(0, len(raw) - 1))]
    elif kind == "flipped":
        pos = data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=4))
        b = bytearray(raw)
        for i in pos:
            b[i] = data.draw(st.integers(0, 255))
        content = bytes(b)
    elif kind == "json":
        content = json.dumps(data.draw(json_values)).encode()
    else:
        content = data.draw(st.binary(max_size=200))
    path = tmp_path_factory.mktemp("fuzz") / "p.studio.json"
    path.write_bytes(content)
    try:
        Project.load(path)
    except StudioError as err:
        assert err.title and err.description
    _load_dict(json.loads(VALID_TEXT))  # the pristine file still loads


def _npy(a: np.ndarray) -> dict[str, str]:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return {"npy": base64.b64encode(buf.getvalue()).decode()}


arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.float16, np.uint8, np.int64, np.bool_, np.complex64,
                           np.dtype("<U3"), np.dtype([("x", "<f4"), ("y", "<f4")])]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4),
)


@settings(FUZZ, max_examples=700)
@given(data=st.data(), kind=st.sampled_from([PoseTrack, FaceTrack]))
def test_track_with_fuzzed_arrays_and_scalars(data, kind) -> None:
    base = (_pose(3) if kind is PoseTrack else FaceTrack.empty(3, 64, 48, 25.0)).to_dict()
    d = json.loads(json.dumps(base))
    for _ in range(data.draw(st.integers(1, 3))):
        what = data.draw(st.sampled_from(["array", "scalar", "drop", "raw"]))
        if what == "array":
            d["arrays"][data.draw(st.sampled_from(sorted(d["arrays"])))] = _npy(data.draw(arrays))
        elif what == "scalar":
            d[data.draw(st.sampled_from(["width", "height", "fps", "kind"]))] = data.draw(json_values)
        elif what == "drop":
            d["arrays"].pop(data.draw(st.sampled_from(sorted(d["arrays"]))), None)
        else:
            d = data.draw(st.one_of(json_values, st.just(d)))
            break
    try:
        t = kind.from_dict(d)
    except StudioError as err:
        assert err.title and err.description
        return
    # an accepted track is consistent and usable
    n = len(t)
    for name, (tail, _) in kind._arrays.items():
        assert getattr(t, name).shape == (n, *tail)
    assert t.width > 0 and t.height > 0 and math.isfinite(t.fps) and t.fps > 0
    t.fingerprint()
    kind.from_dict(json.loads(json.dumps(t.to_dict())))
