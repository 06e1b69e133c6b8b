"""Overlapping windows are fused with the plan's weights, checked against exact values (issue 14,
item 8: the pipeline test only checks that pyramid weighting gives something finite and different).

Two static 16-frame windows over 28 frames overlap on frames 12-15. Window 0 predicts 1 everywhere,
window 1 predicts 3. Flat weighting averages the overlap to 2; pyramid weights (1..8, 8..1) give
frame 12 (position 12 of window 0: weight 4; position 0 of window 1: weight 1) (4*1 + 1*3) / 5 =
1.4, frame 13 (3, 2) 9/5 = 1.8, frame 14 (2, 3) 11/5 = 2.2 and frame 15 (1, 4) 13/5 = 2.6."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.denoise import WindowFusion  # noqa: E402
from studio.core.windows import WindowPlan, static_windows, window_weights  # noqa: E402


def _fuse(weighting: str) -> np.ndarray:
    plan = WindowPlan(28, schedule="static", weighting=weighting)
    windows = static_windows(28, plan.context, plan.overlap)
    assert [list(w) for w in windows] == [list(range(16)), list(range(12, 28))]
    x = torch.zeros(1, 4, 28, 2, 2)
    fusion = WindowFusion(x, weighting, halves=2)
    for value, frames in zip((1.0, 3.0), windows):
        fusion.add(frames, torch.full((2, 4, 1 + len(frames), 2, 2), value))  # reference first
    out = fusion.result().numpy()
    assert out.shape == (2, 4, 28, 2, 2)
    per_frame = out.reshape(2 * 4, 28, 4)
    assert np.ptp(per_frame, axis=(0, 2)).max() == 0  # every channel, pixel and half alike
    return per_frame[0, :, 0]


def test_pyramid_weights_are_the_exact_ramp():
    np.testing.assert_array_equal(window_weights(16, "pyramid"), [1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1])
    np.testing.assert_array_equal(window_weights(5, "pyramid"), [1, 2, 3, 2, 1])


def test_flat_fusion_averages_the_overlap():
    fused = _fuse("flat")
    np.testing.assert_allclose(fused, [1.0] * 12 + [2.0] * 4 + [3.0] * 12, rtol=0, atol=1e-6)


def test_pyramid_fusion_gives_the_weighted_means():
    fused = _fuse("pyramid")
    np.testing.assert_allclose(fused, [1.0] * 12 + [1.4, 1.8, 2.2, 2.6] + [3.0] * 12, rtol=0, atol=1e-6)
