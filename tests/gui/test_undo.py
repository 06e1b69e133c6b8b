"""One undo stack for every document edit: settings, range, photo and video swaps, retargeting
and pose edits; each step's menu text names the edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.project import Project
from studio.gui.document import Document
from studio.gui.undo import MoveKeypointCommand


@pytest.fixture
def doc(qapp, sample_project: Path, tmp_path: Path) -> Document:
    """The sample project, rendering with X-Dyna (whose options the edits below change)."""
    p = Project.load(sample_project)
    p.choose_backend("xdyna")
    d = Document()
    d.open(p.save(tmp_path / "xdyna.studio.json"))
    return d


def texts(d: Document) -> list[str]:
    return [d.undo_stack.text(i) for i in range(d.undo_stack.count())]


def test_settings_edits_undo_and_redo_with_named_menu_texts(doc: Document) -> None:
    s0 = doc.settings
    doc.update_settings(steps=30)
    doc.update_settings(retarget=False)
    doc.update_settings(prompt="a dancer on a beach")
    assert texts(doc) == ["Set steps to 30", "Turn retargeting off", "Set prompt to “a dancer on a beach”"]
    assert doc.dirty
    doc.undo_stack.undo()
    assert doc.settings.options.prompt == "" and doc.settings.retarget is False
    doc.undo_stack.undo()
    assert doc.settings.retarget is True
    doc.undo_stack.undo()
    assert doc.settings == s0 and not doc.dirty
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert doc.settings.options.steps == 30 and doc.settings.retarget is False
    assert doc.undo_stack.undoText() == "Turn retargeting off"


def test_typing_into_one_field_is_one_step(doc: Document) -> None:
    doc.update_settings(steps=3)
    doc.update_settings(steps=30)  # the second key press of "30"
    assert texts(doc) == ["Set steps to 30"]
    doc.undo_stack.undo()
    assert doc.settings.options.steps == 25


def test_settings_change_emits_keys_and_settings_signals_on_undo(doc: Document, qtbot) -> None:
    doc.update_settings(cfg=3.0)
    with qtbot.waitSignals([doc.settings_changed, doc.keys_changed], order="strict"):
        doc.undo_stack.undo()


def test_range_edits_are_undoable(doc: Document) -> None:
    tl = doc.timeline
    tl.set_in(4)
    tl.set_out(20)
    assert doc.project.frame_range == (4, 21)
    assert texts(doc) == ["Set in point to frame 4", "Set out point to frame 20"]
    doc.undo_stack.undo()
    assert (tl.in_point, tl.out_point) == (4, 47) and doc.project.frame_range == (4, 48)
    doc.undo_stack.undo()
    assert (tl.in_point, tl.out_point) == (0, 47) and doc.project.frame_range is None
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert (tl.in_point, tl.out_point) == (4, 20) and doc.undo_stack.count() == 2
    tl.clear_range()
    assert doc.undo_stack.undoText() == "Clear in/out range"


def test_photo_swap_is_undoable(doc: Document, tmp_path: Path) -> None:
    old_path, old_rgb, old_pose = doc.project.reference_image, doc.reference_rgb, doc.project.reference_pose
    rgb = np.zeros((64, 48, 3), np.uint8)
    doc.set_reference(tmp_path / "other.png", rgb, None, None)
    assert doc.undo_stack.undoText() == "Replace photo other.png"
    assert doc.reference_rgb is rgb and doc.project.reference_pose is None
    doc.undo_stack.undo()
    assert doc.project.reference_image == old_path and doc.reference_rgb is old_rgb
    assert doc.project.reference_pose is old_pose
    doc.undo_stack.redo()
    assert doc.project.reference_image == tmp_path / "other.png"


def test_video_swap_keeps_history_and_undo_restores_tracks_edits_and_range(doc: Document, tmp_path: Path) -> None:
    pose = doc.pose
    doc.timeline.set_in(2)
    doc.undo_stack.push(MoveKeypointCommand(doc, 5, "body", 4, 0.5, 0.5))
    edited = pose.body[5, 4].copy()
    other = Project.load(doc.project.path).pose
    other_short = type(other).from_dict(other.to_dict())
    doc.set_driving(tmp_path / "new.mp4", other_short, None)
    assert doc.undo_stack.undoText() == "Replace driving video new.mp4"
    assert doc.undo_stack.count() == 3  # the swap did not clear the history
    assert doc.pose is other_short and doc.project.frame_range is None and doc.timeline.in_point == 0
    doc.undo_stack.undo()  # back to the first video, with its edit and range
    assert doc.pose is pose and np.allclose(doc.pose.body[5, 4], edited)
    assert doc.project.frame_range == (2, 48) and doc.timeline.in_point == 2
    doc.undo_stack.undo()  # the keypoint edit, on the restored track
    assert not np.allclose(doc.pose.body[5, 4], edited)
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert doc.pose is other_short and doc.project.driving_video == tmp_path / "new.mp4"


def test_menu_texts_in_the_window(make_window, sample_project) -> None:
    w = make_window()
    w.open_project(sample_project)
    w.render_panel.retarget.setChecked(not w.doc.settings.retarget)
    assert w.a_undo.text() == "&Undo Turn retargeting off"
    w.a_undo.trigger()
    assert w.doc.settings.retarget and w.render_panel.retarget.isChecked()
    assert w.a_redo.text() == "&Redo Turn retargeting off"


def test_live_photo_is_undoable_and_follows_the_render_size(doc: Document) -> None:
    from studio.extract.live_photo import is_held

    video_pose = doc.pose
    doc.set_live_photo(2.0, 12)
    assert doc.undo_stack.undoText() == "Make a 2 s live photo"
    assert doc.project.is_live_photo and doc.project.driving_video is None and is_held(doc.pose)
    assert doc.timeline.frame_count == 24 and doc.pose.width == doc.settings.width
    doc.update_settings(width=256, height=448)
    assert (doc.pose.width, doc.pose.height) == (256, 448) and is_held(doc.pose)
    job = doc.make_job()
    assert job.n_frames == 24 and job.driving_video is None
    doc.undo_stack.undo()  # the size
    doc.undo_stack.undo()  # the live photo
    assert not doc.project.is_live_photo and doc.pose is video_pose and doc.timeline.frame_count == 48
    doc.undo_stack.redo()
    assert doc.project.live_seconds == 2.0 and doc.timeline.frame_count == 24


def test_weights_folder_is_undoable(doc: Document, tmp_path: Path) -> None:
    doc.set_weights_dir(tmp_path / "pretrained_weights")
    assert doc.undo_stack.undoText() == "Use the weights in pretrained_weights"
    assert doc.project.weights_dir == tmp_path / "pretrained_weights" and doc.dirty
    doc.undo_stack.undo()
    assert doc.project.weights_dir is None and not doc.dirty
    doc.set_weights_dir(None)  # no change: no step
    assert doc.undo_stack.count() == 1
