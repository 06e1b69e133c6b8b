import json
import os

import numpy as np
import pytest

from studio.core import FaceTrack, PoseTrack, RenderSettings, StudioError
from studio.core.project import SCHEMA_VERSION, Project


def make_project(tmp_path):
    (tmp_path / "media").mkdir()
    ref = tmp_path / "media" / "ref.png"
    ref.write_bytes(b"x")
    pose = PoseTrack.empty(5, 64, 48, 24)
    pose.body[:, 1] = 0.5
    return Project(
        reference_image=ref, driving_video=tmp_path / "media" / "dance.mp4", fps=24, frame_range=(1, 4),
        pose=pose, face=FaceTrack.empty(5, 64, 48, 24), settings=RenderSettings(backend="xdyna", steps=10, seed=7),
    )


def test_save_load_roundtrip_with_relative_paths(tmp_path):
    p = make_project(tmp_path)
    target = p.save(tmp_path / "a.studio.json")
    raw = json.loads(target.read_text())
    assert raw["reference_image"] == os.path.join("media", "ref.png")
    assert raw["schema_version"] == SCHEMA_VERSION
    # move the whole folder: relative paths still resolve
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    tmp_path.rename(moved)
    q = Project.load(moved / "a.studio.json")
    assert q.reference_image == moved / "media" / "ref.png" and q.reference_image.exists()
    assert q.settings == p.settings and q.frame_range == (1, 4) and q.fps == 24
    assert q.pose.fingerprint() == p.pose.fingerprint()
    assert q.missing_files() == [("driving_video", moved / "media" / "dance.mp4")]
    assert q.n_frames() == 3
    assert q.default_render_dir() == moved / "a.renders"


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    p = make_project(tmp_path)
    target = p.save(tmp_path / "a.studio.json")
    before = target.read_text()
    p.fps = 12

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(StudioError, match="is full. Free some space"):
        p.save()
    assert target.read_text() == before
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".")] == []


@pytest.mark.parametrize(
    "content, match",
    [
        ("{not json", "not valid JSON"),
        ("[]", "not an X-Dyna Studio project"),
        (json.dumps({"schema_version": SCHEMA_VERSION + 1}), "newer version"),
        (json.dumps({"schema_version": 1, "settings": {"steps": -3}}), "render settings"),
        (json.dumps({"schema_version": 1, "fps": "fast"}), "fps"),
        (json.dumps({"schema_version": 1, "frame_range": [5, 2]}), "frame_range"),
        (json.dumps({"schema_version": 1, "tracks": {"pose": {"kind": "pose"}}}), "track"),
        (json.dumps({"schema_version": 1, "reference_image": 5}), "not a path"),
    ],
)
def test_bad_project_files_give_clear_errors(tmp_path, content, match):
    f = tmp_path / "bad.studio.json"
    f.write_text(content)
    with pytest.raises(StudioError, match=match):
        Project.load(f)


def test_missing_project_file(tmp_path):
    with pytest.raises(StudioError, match="does not exist"):
        Project.load(tmp_path / "nope.studio.json")


def test_settings_validation_and_fingerprint():
    a = RenderSettings(seed=1)
    assert a.fingerprint() == RenderSettings(seed=1, device="cuda", dtype="float16").fingerprint()
    assert a.fingerprint() != RenderSettings(seed=2).fingerprint()
    with pytest.raises(ValueError):
        RenderSettings(overlap=16, context_frames=16)
    with pytest.raises(ValueError):
        RenderSettings(width=513)
