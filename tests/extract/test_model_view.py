""""What the model sees": one function for the retargeted, fitted pose, edits mapped back exactly,
and the GUI export's side-by-side frames equal to ``studio render --side-by-side``'s pixels."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.jobs import RenderJob
from studio.core.settings import RenderSettings
from studio.core.tracks import PoseTrack
from studio.extract.fit import CanvasFit
from studio.extract.model_view import (
    EDIT_TOLERANCE_PX, ModelView, driving_point, model_pose, model_pose_for_job, model_pose_map, side_by_side,
)

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_tracks import STANDING, synthetic_pose  # noqa: E402

W, H = 64, 112


def _driving(n: int = 6) -> PoseTrack:
    """A dancer on a 100x200 frame (from the synthetic track), moving right over the frames."""
    base = synthetic_pose(3)
    idx = [i % 3 for i in range(n)]
    pose = PoseTrack(body=base.body[idx] + 0.0, body_conf=base.body_conf[idx], hands=base.hands[idx] + 0.0,
                     hands_conf=base.hands_conf[idx], flags=base.flags[idx], width=100, height=200, fps=8.0)
    pose.body[:, :, 0] += np.linspace(0, 0.1, n, dtype=np.float32)[:, None]
    pose.hands[..., 0] += np.linspace(0, 0.1, n, dtype=np.float32)[:, None, None]
    return pose


def _reference() -> PoseTrack:
    """A short, wide reference person on an 80x80 photo (different proportions and aspect)."""
    body = (STANDING * [0.6, 0.3] + [10, 8]) / 80.0
    return PoseTrack(body=body[None].astype(np.float32), body_conf=np.ones((1, 18), np.float32),
                     hands=np.full((1, 2, 21, 2), np.nan, np.float32), hands_conf=np.zeros((1, 2, 21), np.float32),
                     flags=np.zeros(1, np.uint8), width=80, height=80, fps=1.0)


def _job(tmp_path: Path, retarget: bool = True, video: Path | None = None) -> RenderJob:
    settings = RenderSettings(width=W, height=H, retarget=retarget)
    return RenderJob(reference=np.zeros((80, 80, 3), np.uint8), pose=_driving(), frames=(1, 2, 4),
                     settings=settings, reference_pose=_reference(), driving_video=video, output_dir=tmp_path / "out")


def test_without_retargeting_the_pose_is_only_fitted() -> None:
    pose = _driving()
    got = model_pose(pose, ModelView(W, H, _reference(), retarget=False))
    fit = CanvasFit.create(100, 200, W, H, "top")
    assert (got.width, got.height) == (W, H)
    np.testing.assert_allclose(got.body, fit.to_canvas_norm(pose.body), equal_nan=True)
    np.testing.assert_allclose(got.hands, fit.to_canvas_norm(pose.hands), equal_nan=True)
    assert not ModelView(W, H, None).retargets  # no reference: nothing to retarget to


def test_retargeted_pose_has_the_reference_proportions() -> None:
    pose = _driving()
    got = model_pose(pose, ModelView(W, H, _reference()))
    ref = CanvasFit.create(80, 80, W, H, "center").to_canvas_px(_reference().body[0])
    drv = CanvasFit.create(100, 200, W, H, "top").to_canvas_px(pose.body)
    px = got.body * [W, H]
    # the upper arm (shoulder 2 -> elbow 3) is scaled by reference length / median driving length
    drv_len = np.linalg.norm(drv[:, 3] - drv[:, 2], axis=-1)
    want = drv_len * np.linalg.norm(ref[3] - ref[2]) / np.median(drv_len)
    np.testing.assert_allclose(np.linalg.norm(px[:, 3] - px[:, 2], axis=-1), want, rtol=1e-4)


def test_xdyna_conditioning_uses_the_same_function(tmp_path: Path) -> None:
    from studio.backends.xdyna.conditioning import canvas_pose, pose_maps

    job = _job(tmp_path)
    a, b = canvas_pose(job), model_pose_for_job(job)
    np.testing.assert_array_equal(a.body, b.body)
    np.testing.assert_array_equal(a.hands, b.hands)
    maps = pose_maps(a, job.frames)
    for k, i in enumerate(job.frames):
        np.testing.assert_array_equal(maps[k], model_pose_map(b, i))


@pytest.mark.parametrize(("part", "index", "offset"), [
    ("body", 3, (0.05, -0.02)),   # an elbow: its forearm and hand follow
    ("body", 8, (0.03, 0.04)),    # a hip: moves the anchor of the whole frame
    ("body", 7, (-0.04, 0.03)),   # a wrist
    ("hand", 21 + 8, (0.02, 0.01)),  # right index fingertip
])
def test_an_edit_in_model_space_lands_exactly_where_it_was_dropped(part: str, index: int, offset) -> None:
    from studio.extract.model_view import _point

    pose, view, frame = _driving(), ModelView(W, H, _reference()), 4
    shown = model_pose(pose, view)
    target = _point(shown, frame, part, index) + np.asarray(offset, np.float32)
    x, y = driving_point(pose, view, frame, part, index, (float(target[0]), float(target[1])))
    edited = pose.copy()
    _point(edited, frame, part, index)[:] = (x, y)  # what MoveKeypointCommand does (conf is already 1)
    after = _point(model_pose(edited, view), frame, part, index)
    assert np.hypot(*((after - target) * [W, H])) <= EDIT_TOLERANCE_PX
    assert not np.allclose(_point(pose, frame, part, index), (x, y))  # the driving track really moved


def test_an_edit_without_retargeting_is_the_inverse_fit() -> None:
    pose, view = _driving(), ModelView(W, H, None)
    x, y = driving_point(pose, view, 2, "body", 4, (0.5, 0.25))
    want = CanvasFit.create(100, 200, W, H, "top").from_canvas_norm(np.array([0.5, 0.25]))
    np.testing.assert_allclose((x, y), want, atol=1e-6)


def test_a_missing_point_cannot_be_edited() -> None:
    with pytest.raises(StudioError, match="missing on frame 2"):
        driving_point(_driving(), ModelView(W, H, _reference()), 2, "hand", 21 + 3, (0.5, 0.5))
    with pytest.raises(StudioError, match="does not exist"):
        driving_point(_driving(), ModelView(W, H, _reference()), 2, "body", 18, (0.5, 0.5))


def test_gui_export_and_cli_side_by_side_give_the_same_pixels(tmp_path: Path) -> None:
    """The same rendered frames through ``studio render --side-by-side`` and the GUI export."""
    from studio.cli.render import side_by_side_frames
    from studio.core.files import write_png_atomic
    from studio.core.frame_cache import FrameCache
    from studio.core.render_store import frame_filename
    from studio.gui.export_frames import ExportSpec, export_frames
    from studio.media.exporters import export_frames as write_video

    rng = np.random.default_rng(3)
    video = write_video([rng.integers(0, 255, (200, 100, 3), dtype=np.uint8) for _ in range(6)], 8,
                        str(tmp_path / "drive.mp4"))
    job = _job(tmp_path, video=Path(video))
    Path(job.output_dir).mkdir()
    cache, keys = FrameCache(), [f"k{i}" for i in range(len(job.pose))]
    for i in job.frames:
        result = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        write_png_atomic(Path(job.output_dir) / frame_filename(i), result)
        cache.put(keys[i], i, result)
    cli = list(side_by_side_frames(job))
    spec = ExportSpec(tmp_path / "x.mp4", job.frames, 8.0, side_by_side=True)
    gui = list(export_frames(spec, cache, keys, job.pose, job.driving_video, ModelView.for_job(job)))
    assert len(cli) == len(gui) == 3
    for a, b in zip(cli, gui):
        assert a.shape == (H, 3 * W, 3)
        np.testing.assert_array_equal(a, b)
    # the pose panel is the retargeted skeleton, not the raw driving pose
    raw = model_pose_map(model_pose(job.pose, ModelView(W, H, None)), job.frames[0])
    assert not np.array_equal(cli[0][:, W:2 * W], raw)


def test_side_by_side_resizes_panels_to_the_result_height() -> None:
    out = side_by_side(np.zeros((32, 20, 3), np.uint8), np.full((64, 40, 3), 9, np.uint8))
    assert out.shape == (32, 40, 3) and out[:, :20].min() == 9


def test_a_hand_whose_wrist_is_doubtful_hangs_from_the_elbow_or_is_dropped() -> None:
    pose = _driving()
    pose.body_conf[1, 4] = 0.1  # right wrist below the retargeting threshold on frame 1
    pose.body_conf[3, [3, 4]] = 0.1  # right elbow and wrist doubtful on frame 3
    view = ModelView(W, H, _reference())
    got = model_pose(pose, view)
    px = got.hands[1, 1] * [W, H]
    elbow = got.body[1, 3] * [W, H]
    drv = CanvasFit.create(100, 200, W, H, "top").to_canvas_px(pose.hands[1, 1])
    drv_elbow = CanvasFit.create(100, 200, W, H, "top").to_canvas_px(pose.body[1, 3])
    # the hand keeps its shape and its place relative to the (retargeted) elbow, scaled alike
    rel, drv_rel = px - elbow, drv - drv_elbow
    ratio = np.linalg.norm(rel, axis=-1) / np.linalg.norm(drv_rel, axis=-1)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)
    assert (got.hands_conf[1, 1] > 0).all()
    assert not (got.hands_conf[3, 1] > 0).any() and np.isnan(got.hands[3, 1]).all()
