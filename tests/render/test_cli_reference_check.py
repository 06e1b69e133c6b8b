"""``studio render`` with a photo whose detected pose is broken: a warning line, and retargeting
off for that photo unless ``--retarget`` asks for it."""

from __future__ import annotations

import numpy as np

from studio.cli.render import sample_project_path
from studio.core.files import read_png
from studio.core.project import Project
from studio.extract.pose_check import L_ANKLE, L_ELBOW, L_KNEE, L_WRIST, R_ANKLE, R_ELBOW, R_KNEE, R_WRIST
from test_cli_render import run


def broken_project(tmp_path):
    """The drawn sample with the photo's pose broken the way a detector breaks it: both arms on
    the right arm, both legs on the right leg."""
    project = Project.load(sample_project_path())
    pose = project.reference_pose.copy()
    for left, right in ((L_ELBOW, R_ELBOW), (L_WRIST, R_WRIST), (L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE)):
        pose.body[0, left] = pose.body[0, right] + 0.004
    project.reference_pose = pose
    path = tmp_path / "broken.studio.json"
    project.save(path)
    return path


def retargets(folder) -> bool:
    """The retarget setting a render folder was rendered with (its manifest)."""
    import json

    return json.loads((folder / "manifest.json").read_text())["settings"]["retarget"]


def frames(folder):
    return np.stack([read_png(p) for p in sorted(folder.glob("frame_*.png"))])


def test_broken_photo_pose_warns_and_renders_without_retargeting(tmp_path, capsys):
    path = broken_project(tmp_path)
    small = ("--project", path, "--size", "128x224", "--frames", "0:4", "--no-progress")
    assert run(*small, "--render-dir", tmp_path / "auto", "-o", tmp_path / "auto") == 0
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1
    assert "Both arms" in warning[0] and "legs" in warning[0] and "give --retarget" in warning[0]

    assert run(*small, "--no-retarget", "--render-dir", tmp_path / "off", "-o", tmp_path / "off") == 0
    assert run(*small, "--retarget", "--render-dir", tmp_path / "on", "-o", tmp_path / "on") == 0
    err = capsys.readouterr().err
    assert "Retargeting stays on (--retarget)" in err
    auto, off = frames(tmp_path / "auto"), frames(tmp_path / "off")
    assert np.array_equal(auto, off)  # the default for this photo is no retargeting
    assert [retargets(tmp_path / d) for d in ("auto", "off", "on")] == [False, False, True]  # as rendered


def test_a_normal_photo_gives_no_warning(tmp_path, capsys):
    out = tmp_path / "frames"
    assert run("--sample", "--size", "128x224", "--frames", "0:2", "--no-progress", "-o", out) == 0
    assert "warning" not in capsys.readouterr().err


def test_maps_warns_about_a_broken_reference_pose(tmp_path, capsys, monkeypatch):
    """``studio maps --reference PHOTO`` retargets as asked, and says the photo's pose looks wrong."""
    from studio.cli import main

    project = Project.load(broken_project(tmp_path))
    monkeypatch.setattr("studio.extract.image.detect_image",
                        lambda rgb, detector=None: (project.reference_pose, project.reference_face))
    import json

    from studio.core.tracks import FaceTrack
    from studio.extract.extractor import ExtractionResult

    pose = Project.load(sample_project_path()).pose
    face = FaceTrack.empty(len(pose), pose.width, pose.height, pose.fps)
    track = tmp_path / "track.json"
    track.write_text(json.dumps(ExtractionResult(pose, face, pose, face).to_dict()))
    out = tmp_path / "maps"
    assert main(["maps", str(track), "--size", "64x112", "--pose-only", "-o", str(out),
                 "--reference", str(project.reference_image), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "warning: reference.png: The photo's pose looks wrong" in err and "Retargeting to it anyway" in err
    assert len(list((out / "pose").glob("*.png"))) == 48
