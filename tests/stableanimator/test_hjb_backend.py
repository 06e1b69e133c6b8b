"""The HJB option in the StableAnimator backend: availability, face boxes from the tracks, a render."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from studio.backends.stableanimator.backend import StableAnimatorBackend  # noqa: E402
from studio.backends.stableanimator.face_boxes import frame_boxes, head_box, pixel_box, whole_frame  # noqa: E402
from studio.backends.stableanimator.spec import SPEC  # noqa: E402
from studio.core.cancel import CancelToken  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402
from studio.core.events import FramesReady  # noqa: E402
from studio.core.jobs import RenderJob  # noqa: E402
from studio.core.settings import RenderSettings  # noqa: E402
from studio.core.tracks import FaceTrack, PoseTrack  # noqa: E402

HJB = dict(steps=2, tile_size=4, tile_overlap=1, hjb=True, hjb_start_step=0, hjb_end_step=0, hjb_iterations=1)


def _job(golden, n: int = 4, face: FaceTrack | None = None, **options) -> RenderJob:
    settings = RenderSettings(backend="stableanimator", width=64, height=64, retarget=False, **options)
    return RenderJob(reference=golden.request("a_tiles_20f").reference, pose=golden.pose(n), frames=tuple(range(n)),
                     settings=settings, face=face)


def _face(n: int) -> FaceTrack:
    face = FaceTrack.empty(n, 96, 128, 25.0)
    face.box[:] = [0.4, 0.1, 0.6, 0.25]
    face.conf[:] = 1.0
    face.conf[1] = 0.0  # no face on frame 1: the head keypoints' box
    return face


@pytest.fixture(scope="module")
def release_with_arcface(tiny_release, arcface_file, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sa_hjb_release")
    shutil.copytree(tiny_release, folder, dirs_exist_ok=True)
    shutil.copy(arcface_file, folder / "Animation" / "glintr100_torch.pth")
    return folder


def _embedder(golden):
    emb = np.load(golden.root / "a_tiles_20f" / "inputs" / "face_embedding.npy")
    return lambda photo: emb


def test_backend_says_hjb_is_unavailable_without_the_file(tiny_release, golden):
    backend = StableAnimatorBackend(tiny_release, face_embedder=_embedder(golden))
    ok, why = backend.hjb_available()
    assert not ok and "glintr100_torch.pth" in why
    with pytest.raises(StudioError) as err:
        backend.request(_job(golden, **HJB))
    assert "glintr100_torch.pth" in err.value.description
    problems = SPEC.weights.check(tiny_release, _job(golden, **HJB).settings.options)
    assert any("glintr100_torch.pth" in p and "HJB" in p for p in problems)
    assert not any("glintr100_torch" in p for p in SPEC.weights.check(tiny_release, _job(golden).settings.options))


def test_hjb_off_requests_carry_no_refinement(release_with_arcface, golden):
    backend = StableAnimatorBackend(release_with_arcface, face_embedder=_embedder(golden))
    assert backend.hjb_available()[0]
    assert backend.request(_job(golden, steps=2)).hjb is None


def test_face_boxes_follow_the_face_track_then_the_head(release_with_arcface, golden):
    backend = StableAnimatorBackend(release_with_arcface, face_embedder=_embedder(golden))
    job = _job(golden, face=_face(4), **HJB)
    req = backend.request(job)
    assert req.hjb.iterations == 1 and req.face_boxes.shape == (4, 4)
    from studio.extract.model_view import ModelView

    fit = ModelView.for_job(job).driving_fit(job.pose)
    x0, y0 = fit.to_canvas_px(np.array([0.4, 0.1]))
    x1, y1 = fit.to_canvas_px(np.array([0.6, 0.25]))
    assert tuple(req.face_boxes[0]) == pixel_box(x0, y0, x1, y1, 64, 64)
    canvas = fit.pose_to_canvas(job.pose)
    assert tuple(req.face_boxes[1]) == head_box(canvas.body[1], canvas.body_conf[1], 64, 64) != whole_frame(64, 64)
    assert req.reference_face_box == whole_frame(64, 64)  # the job has no reference pose


def test_frame_without_face_or_head_is_the_whole_frame():
    pose = PoseTrack.empty(2, 64, 64, 25.0)
    boxes = frame_boxes(pose, pose, None, [0, 1], 64, 48)
    assert boxes.tolist() == [list(whole_frame(64, 48))] * 2


def test_head_box_from_the_ears_and_eyes():
    body, conf = np.full((18, 2), np.nan, np.float32), np.zeros(18, np.float32)
    body[[14, 15, 16, 17, 0]] = [[0.45, 0.3], [0.55, 0.3], [0.4, 0.32], [0.6, 0.32], [0.5, 0.35]]
    conf[[14, 15, 16, 17, 0]] = 1.0
    y0, y1, x0, x1 = head_box(body, conf, 100, 100)
    assert (x1 - x0 + 1) == pytest.approx(22, abs=1) and x0 == 39 and y0 < 30 < y1
    conf[[16, 17]] = 0  # no ears: 2.5 x the eye span
    y0, y1, x0, x1 = head_box(body, conf, 100, 100)
    assert (x1 - x0 + 1) == pytest.approx(25, abs=1)
    conf[:] = 0
    assert head_box(body, conf, 100, 100) is None


def test_hjb_render_streams_frames_that_differ_from_basic(release_with_arcface, golden):
    backend = StableAnimatorBackend(release_with_arcface, face_embedder=_embedder(golden))
    def frames(job):
        return np.concatenate([e.frames for e in backend.render(job, CancelToken()) if isinstance(e, FramesReady)])

    small = dict(HJB, tile_size=2, tile_overlap=0)
    on = frames(_job(golden, n=2, face=_face(2), **small))
    off = frames(_job(golden, n=2, face=_face(2), **{**small, "hjb": False}))
    assert on.shape == off.shape == (2, 64, 64, 3)
    assert np.abs(on.astype(int) - off.astype(int)).max() > 0


def test_the_estimate_states_the_hjb_memory(golden):
    """The render panel's estimate follows the HJB option and its decode chunk (the VRAM model's figures)."""
    from studio.backends.stableanimator.options import HJB_MEMORY_NOTE
    from studio.backends.stableanimator.spec import HJB_VRAM_GIB, estimate

    off = estimate(_job(golden).settings, 16)
    one = estimate(_job(golden, hjb=True, decode_chunk_size=1).settings, 16)
    two = estimate(_job(golden, hjb=True, decode_chunk_size=2).settings, 16)
    four = estimate(_job(golden, hjb=True).settings, 16)
    assert off.vram_gib < one.vram_gib == HJB_VRAM_GIB[1] < two.vram_gib < four.vram_gib == HJB_VRAM_GIB[4]
    assert "HJB" in four.note and "HJB" not in off.note
    assert f"{HJB_VRAM_GIB[4]:.1f} GiB" in HJB_MEMORY_NOTE and f"{HJB_VRAM_GIB[1]:.1f} GiB" in HJB_MEMORY_NOTE
