"""Pose maps: golden images of a hand-made track, and the DWPose style facts they rest on."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import StudioError
from studio.extract.conditioning import pose_maps
from studio.extract.fit import CanvasFit
from studio.extract.pose_map import (
    HAND_BONE_COLORS, OPENPOSE_COLORS, draw_hand, draw_pose, draw_track_frame,
)

sys.path.insert(0, str(Path(__file__).parent))
from synthetic_tracks import synthetic_pose  # noqa: E402

GOLDEN = Path(__file__).parents[1] / "fixtures" / "extract" / "pose_golden"
SIZE = (256, 512)


def _maps() -> dict[str, np.ndarray]:
    pose = synthetic_pose()
    out = {}
    for mode in ("stretch", "top"):
        fit = CanvasFit.create(pose.width, pose.height, *SIZE, mode) if mode == "stretch" else \
            CanvasFit.create(pose.width, pose.height, 256, 256, mode)
        for i, m in enumerate(pose_maps(pose, fit=fit)):
            out[f"{mode}_headless_{i}"] = m
    fit = CanvasFit.create(pose.width, pose.height, *SIZE, "stretch")
    out["stretch_head_0"] = draw_track_frame(fit.pose_to_canvas(pose), 0, head=True)
    return out


@pytest.mark.parametrize("name", sorted(_maps()))
def test_matches_golden_png(name: str) -> None:
    want = np.asarray(Image.open(GOLDEN / f"{name}.png").convert("RGB"))
    got = _maps()[name]
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def _px(pose, i, j, size=SIZE):
    return (pose.body[i, j] * np.array(size)).astype(int)


def test_style_facts_on_the_canvas() -> None:
    pose = synthetic_pose()
    fit = CanvasFit.create(pose.width, pose.height, *SIZE, "stretch")
    canvas = fit.pose_to_canvas(pose)
    img = draw_track_frame(canvas, 0)
    # keypoint dots at full intensity in the palette colour of the point
    for j in (0, 1, 2, 8, 13):
        x, y = _px(canvas, 0, j)
        assert tuple(img[y, x]) == OPENPOSE_COLORS[j], j
    # limb middles at 0.6 intensity: neck->nose (limb 12, blue) and neck->r_hip (limb 6)
    for limb, (a, b) in ((12, (1, 0)), (6, (1, 8))):
        mid = ((canvas.body[0, a] + canvas.body[0, b]) / 2 * np.array(SIZE)).astype(int)
        want = tuple(int(c * 0.6) for c in OPENPOSE_COLORS[limb])
        assert tuple(img[mid[1], mid[0]]) == want
    # head-less: nothing at the eyes or ears, but present when the head is drawn
    head = draw_track_frame(canvas, 0, head=True)
    for j in (14, 15, 16, 17):
        x, y = _px(canvas, 0, j)
        assert tuple(head[y, x]) == OPENPOSE_COLORS[j]
        assert tuple(img[y, x]) != OPENPOSE_COLORS[j]
    # hands: blue dots at every keypoint
    hx, hy = (canvas.hands[0, 0, 12] * np.array(SIZE)).astype(int)
    assert tuple(img[hy, hx]) == (0, 0, 255)
    # only palette, 0.6-palette, hand-bone and black colours appear
    allowed = {(0, 0, 0), (0, 0, 255)} | set(OPENPOSE_COLORS)
    allowed |= {tuple(int(c * 0.6) for c in col) for col in OPENPOSE_COLORS}
    bones = np.array(HAND_BONE_COLORS)  # cv2 rounds float colours; allow either neighbour
    allowed |= {tuple(int(v) for v in c) for c in np.floor(bones)} | {tuple(int(v) for v in c) for c in np.ceil(bones)}
    colours = {tuple(int(v) for v in c) for c in np.unique(img.reshape(-1, 3), axis=0)}
    assert colours <= allowed


def test_low_confidence_and_missing_points_are_not_drawn() -> None:
    pose = synthetic_pose()
    fit = CanvasFit.create(pose.width, pose.height, *SIZE, "stretch")
    canvas = fit.pose_to_canvas(pose)
    img = draw_track_frame(canvas, 2)
    for j in (10, 13):  # ankles with confidence 0.1
        x, y = _px(canvas, 2, j)
        assert not img[y, x].any()
    empty = draw_pose(np.full((18, 2), np.nan), np.zeros(18), None, None, 64, 64)
    assert empty.shape == (64, 64, 3) and not empty.any()


def test_hand_bones_use_hsv_colours() -> None:
    canvas = np.zeros((200, 200, 3), np.uint8)
    hand = np.full((21, 2), np.nan)
    hand[0], hand[1] = (0.2, 0.5), (0.8, 0.5)  # only the first bone (hue 0 = red)
    draw_hand(canvas, hand, np.ones(21), radius=4)
    assert tuple(canvas[100, 100]) == (255, 0, 0)
    assert tuple(canvas[100, 40]) == (0, 0, 255)  # the dot on point 0


def test_invalid_input_raises() -> None:
    with pytest.raises(StudioError):
        draw_pose(np.zeros((17, 2)), np.ones(17), None, None, 64, 64)
    with pytest.raises(StudioError):
        draw_pose(np.zeros((18, 2)), np.ones(18), None, None, 0, 64)


if __name__ == "__main__" and "--regenerate" in sys.argv:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name, img in _maps().items():
        Image.fromarray(img).save(GOLDEN / f"{name}.png")
    print(f"wrote {len(_maps())} golden PNGs to {GOLDEN}")


OFFICIAL = Path(__file__).parents[1] / "fixtures" / "extract" / "official_pose"


@pytest.mark.parametrize("name", ["a_000", "a_005", "b_005"])
def test_redraws_the_golden_cases_pose_maps(name: str) -> None:
    """Keypoints read off the golden maps' dots, redrawn by our code, give the same picture.

    The golden keypoints were sub-pixel, so ellipse borders may differ by a pixel; everything
    else (palette, 0.6 limbs, dots on top, head-less, drawing order) must agree.
    """
    gold = np.asarray(Image.open(OFFICIAL / f"{name}.png").convert("RGB"))
    h, w = gold.shape[:2]
    body = np.full((18, 2), np.nan)
    conf = np.zeros(18)
    for j, colour in enumerate(OPENPOSE_COLORS):
        ys, xs = np.nonzero((gold == colour).all(axis=2))
        if len(xs):
            body[j] = ((xs.min() + xs.max()) / 2 / w, (ys.min() + ys.max()) / 2 / h)
            conf[j] = 1.0
    assert conf[:14].all() and not conf[14:].any()  # head-less: no eye or ear dots
    mine = draw_pose(body, conf, None, None, w, h, stickwidth=2, radius=2)
    differ = (mine != gold).any(axis=2)
    assert differ.mean() < 0.02
    # every differing pixel lies on a limb border: its 3x3 neighbourhood holds the colour we drew
    for y, x in zip(*np.nonzero(differ)):
        patch = gold[max(0, y - 1):y + 2, max(0, x - 1):x + 2].reshape(-1, 3)
        assert (patch == mine[y, x]).all(axis=1).any() or not mine[y, x].any()
