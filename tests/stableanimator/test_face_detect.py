"""SCRFD decoding as insightface does it: letterbox, blob, anchors, distances, threshold, NMS,
the largest face -- against hand-computed expectations (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from studio.backends.stableanimator.face_detect import (
    FaceDetection, anchor_centres, decode, detector_blob, distance_to_box, distance_to_points, largest, letterbox, nms,
)


def test_anchor_centres_are_cell_corners_repeated_per_anchor():
    c = anchor_centres(2, 3, 8)
    expected = [(0, 0), (8, 0), (16, 0), (0, 8), (8, 8), (16, 8)]
    np.testing.assert_array_equal(c, np.repeat(np.array(expected, np.float32), 2, axis=0))


def test_distances_decode_to_boxes_and_points():
    centres = np.array([[16.0, 8.0]], np.float32)
    np.testing.assert_array_equal(distance_to_box(centres, np.array([[1, 2, 3, 4]], np.float32)), [[15, 6, 19, 12]])
    pts = distance_to_points(centres, np.array([[1, -1, 2, 0]], np.float32))
    np.testing.assert_array_equal(pts, [[[17, 7], [18, 8]]])


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 9, 9], [1, 1, 10, 10], [20, 20, 29, 29], [0, 0, 9, 5]], np.float32)
    scores = np.array([0.9, 0.8, 0.85, 0.7], np.float32)
    # B vs A: (9*9) / (100 + 100 - 81) = 0.68 > 0.4 -> gone; D vs A: 60 / (100 + 60 - 60) = 0.6 -> gone
    assert nms(boxes, scores) == [0, 2]
    # at a looser threshold D survives, B (0.68) still does not
    assert nms(boxes, scores, threshold=0.65) == [0, 2, 3]


def _outputs(hw=(64, 64), batched=False):
    outs = []
    for kind, width in (("score", 1), ("bbox", 4), ("kps", 10)):
        for stride in (8, 16, 32):
            outs.append(np.zeros(((hw[0] // stride) * (hw[1] // stride) * 2, width), np.float32))
    # stride 16, cell (x=2, y=1), anchor 1: row (1*4 + 2)*2 + 1 = 13, centre (32, 16)
    outs[1][13, 0] = 0.9
    outs[4][13] = [1, 1, 2, 2]  # stride units: 16, 16, 32, 32 px
    outs[7][13, :2] = [0.5, 0.25]  # point 0 at centre + (8, 4); the others on the centre
    outs[0][5, 0] = 0.49  # below the threshold
    outs[2][3, 0] = 0.5  # stride 32, cell (1, 0), anchor 1: at the threshold, kept; centre (32, 0)
    outs[5][3] = [0.25, 0, 0.25, 0.5]  # box (24, 0, 40, 16)
    return [o[None] for o in outs] if batched else outs


@pytest.mark.parametrize("batched", [False, True])
def test_decode_finds_the_faces_in_image_pixels(batched):
    faces = decode(_outputs(batched=batched), (64, 64), scale=2.0)
    assert [round(f.score, 2) for f in faces] == [0.9, 0.5]
    best = faces[0]
    assert best.box == (8.0, 0.0, 32.0, 24.0)  # (32-16, 16-16, 32+32, 16+32) / 2
    assert best.points[0] == (20.0, 10.0) and best.points[1:] == ((16.0, 8.0),) * 4
    assert faces[1].box == (12.0, 0.0, 20.0, 8.0)


def test_decode_of_nothing_is_no_face():
    outs = _outputs()
    for o in outs[:3]:
        o[:] = 0
    assert decode(outs, (64, 64)) == []


def test_decode_rejects_a_graph_of_another_shape():
    with pytest.raises(ValueError, match="9 outputs"):
        decode(_outputs()[:6], (64, 64))
    with pytest.raises(ValueError, match="anchors"):
        decode(_outputs(), (96, 64))


def test_largest_face_is_the_last_of_the_largest_boxes():
    def face(box, score):
        return FaceDetection(box, ((0.0, 0.0),) * 5, score)

    a, b, c = face((0, 0, 2, 5), 0.9), face((0, 0, 5, 6), 0.8), face((10, 10, 16, 15), 0.7)
    assert largest([a, b, c]) is c  # 30 == 30: the official sort keeps the later one
    assert largest([a]) is a and largest([]) is None


def test_letterbox_keeps_the_aspect_top_left():
    tall = np.full((100, 50, 3), 200, np.uint8)
    canvas, scale = letterbox(tall, (64, 64))
    assert canvas.shape == (64, 64, 3) and scale == 0.64
    assert (canvas[:, :32] == 200).all() and (canvas[:, 32:] == 0).all()
    wide = np.full((30, 60, 3), 9, np.uint8)
    canvas, scale = letterbox(wide, (64, 64))
    assert scale == 32 / 30 and (canvas[:32] == 9).all() and (canvas[32:] == 0).all()


def test_blob_reverses_channels_and_normalises():
    img = np.zeros((2, 2, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 255, 0, 127
    blob = detector_blob(img)
    assert blob.shape == (1, 3, 2, 2) and blob.dtype == np.float32
    np.testing.assert_allclose(blob[0, :, 0, 0], [(127 - 127.5) / 128, -127.5 / 128, 127.5 / 128])
