"""The Driving panel's info and quality lines follow the tracks: a new clip, the rest of a
range-first clip arriving in the background, and pose edits."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from studio.core.tracks import FLAG_NO_PERSON, FLAG_PENDING, FaceTrack

pytestmark = pytest.mark.gui


def _partial(pose, face, first: int):
    """``pose``/``face`` as range-first extraction gives them: frames from ``first`` pending."""
    p, f = pose.copy(), face.copy()
    p.body[first:] = np.nan
    p.body_conf[first:] = 0
    p.hands[first:] = np.nan
    p.hands_conf[first:] = 0
    p.flags[first:] = FLAG_PENDING | FLAG_NO_PERSON
    f.conf[first:] = 0
    f.box[first:] = np.nan
    return p, f


def test_quality_line_follows_the_rest_of_the_clip_and_edits(make_window, sample_project, qtbot, tmp_path,
                                                             errors):
    w = make_window()
    assert w.open_project(sample_project)
    doc, panel = w.doc, w.driving_panel
    full_pose = doc.project.pose.copy()
    # the new clip has a face on its first 40 frames and nobody on frame 30
    n = len(full_pose)
    full_face = FaceTrack.empty(n, full_pose.width, full_pose.height, full_pose.fps)
    full_face.conf[:40] = 0.9
    full_face.box[:40] = (0.4, 0.1, 0.6, 0.2)
    full_pose.body_conf[30] = 0
    full_pose.body[30] = np.nan
    full_pose.flags[30] |= FLAG_NO_PERSON
    part_pose, part_face = _partial(full_pose, full_face, 24)
    clip = tmp_path / "new_clip.mp4"
    gate = threading.Event()

    def first(path, frame_range, playhead, progress, cancel):
        return path, part_pose, part_face, False

    def whole(path, progress, cancel):
        gate.wait(30)
        return path, full_pose, full_face

    panel.first_extractor, panel.extractor = first, whole
    panel.open_path(clip)
    qtbot.waitUntil(lambda: doc.project.pose is part_pose, timeout=10_000)
    assert "24/48 frames extracted" in panel.quality.text()
    assert "no person" not in panel.info.text()  # pending frames are not "no person"
    gate.set()
    qtbot.waitUntil(lambda: not panel.is_extracting(), timeout=10_000)
    q = doc.pose_quality()
    assert q.counts()["face found"] == 40 and q.counts()["no person"] == 1
    assert panel.quality.text() == q.summary()
    assert "face 40/48" in panel.quality.text() and "person on 47/48" in panel.quality.text()
    assert "no person on 1 frame" in panel.info.text()

    # an edit that takes the person off another frame shows at once
    doc.project.pose.flags[10] |= FLAG_NO_PERSON
    doc.project.pose.body_conf[10] = 0
    doc.notify_pose_edited(10, 11)
    assert "person on 46/48" in panel.quality.text()
    assert "no person on 2 frames" in panel.info.text()
    assert errors == []


def test_sface_line_shows_the_face_coverage_and_what_the_controlnet_gets(make_window, sample_project, tmp_path):
    w = make_window()
    assert w.open_project(sample_project)
    doc, panel = w.doc, w.driving_panel
    # the sample has no face track: S-Face is not used, and no frame claims black S-Face images
    assert "no face track" in panel.sface.text() and panel.sface.isVisible()
    assert panel.canvas.note == ""
    pose = doc.project.pose.copy()
    n = len(pose)
    face = FaceTrack.empty(n, pose.width, pose.height, pose.fps)  # a masked face: found on 7 frames
    face.conf[:7] = 0.9
    face.box[:7] = (0.4, 0.1, 0.6, 0.2)
    doc.set_driving(tmp_path / "masked.mp4", pose, face)
    # the sample renders with the draft, which has no face input: the line says so, no warning
    text = panel.sface.text()
    assert "renderer does not use the driving face" in text and not text.startswith("⚠")
    doc.update_settings(backend="xdyna")  # a renderer with the S-Face ControlNet
    text = panel.sface.text()
    assert text.startswith("⚠ S-Face: a usable face on 7/48 frames")
    assert "on the other 41 the S-Face ControlNet gets black images" in text
    doc.timeline.set_current(20)
    assert "black images" in panel.canvas.note
    QApplication.processEvents()
    w.docks["driving"].grab().save(str(tmp_path / "driving_dock_masked.png"))
    doc.update_settings(face_controlnet=False)
    assert "ControlNet is off" in panel.sface.text() and not panel.sface.text().startswith("⚠")
