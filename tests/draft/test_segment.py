"""Person mask and background fill on the synthetic photo."""

import numpy as np
from draft_synth import REST, background, draw

from studio.backends.draft.segment import check_mask, fill_background, person_mask
from studio.core import StudioError


def _inside(mask, pts):
    xy = np.round(pts).astype(int)
    return mask[xy[:, 1], xy[:, 0]]


def test_mask_follows_the_figure_with_and_without_the_segmenter():
    img = draw(REST)
    blind = np.zeros(img.shape[:2], np.float32)  # a segmenter that sees nobody: skeleton seeds decide
    for prob in (None, blind):
        m = person_mask(img, REST, prob)
        assert (_inside(m, REST[:14]) > 0.9).all()
        mid_forearm = (REST[3] + REST[4]) / 2
        assert _inside(m, mid_forearm[None])[0] > 0.9
        assert m[10, 10] < 0.05 and m[440, 250] < 0.05  # background corners
        figure = np.linalg.norm(img.astype(float) - background().astype(float), axis=2) > 30
        agree = ((m > 0.5) == figure).mean()
        assert agree > 0.97, agree


def test_background_fill_removes_the_figure():
    img = draw(REST)
    m = person_mask(img, REST)
    bg = fill_background(img, m)
    clean = background().astype(float)
    assert np.abs(bg.astype(float) - clean).mean() < 2.0
    torso = np.round((REST[2] + REST[11]) / 2).astype(int)
    assert np.linalg.norm(bg[torso[1], torso[0]].astype(float) - clean[torso[1], torso[0]]) < 12


def test_empty_mask_is_a_clear_error():
    try:
        check_mask(np.zeros((64, 64), np.float32), "empty.png")
    except StudioError as err:
        assert "empty.png" in err.description
    else:
        raise AssertionError("no error for an empty mask")
