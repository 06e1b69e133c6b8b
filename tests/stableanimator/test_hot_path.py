"""The hot path's reorderings compute what the plain path computes, within the golden noise floor."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from studio.backends.stableanimator.temporal_conv import FrameConv3d, use_frame_conv2d  # noqa: E402


def test_a_frame_only_conv3d_runs_as_2d_with_the_same_result_and_keys():
    torch.manual_seed(0)
    conv = nn.Conv3d(6, 5, (3, 1, 1), padding=(1, 0, 0))
    x = torch.randn(2, 6, 4, 3, 7)
    ref, keys = conv(x), set(conv.state_dict())
    assert use_frame_conv2d(conv) == 1 and type(conv) is FrameConv3d
    torch.testing.assert_close(conv(x), ref, rtol=1e-5, atol=1e-6)
    assert set(conv.state_dict()) == keys
    permuted = torch.randn(2, 4, 6, 3, 7).permute(0, 2, 1, 3, 4)  # the layout SVD's temporal blocks hand over
    torch.testing.assert_close(conv(permuted), nn.functional.conv3d(permuted, conv.weight, conv.bias, padding=(1, 0, 0)),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("conv", [nn.Conv3d(4, 4, 3, padding=1), nn.Conv3d(4, 4, (3, 1, 1), stride=(2, 1, 1)),
                                  nn.Conv3d(4, 4, (3, 1, 1), padding=(1, 1, 1))])
def test_other_conv3d_are_left_alone(conv):
    assert use_frame_conv2d(conv) == 0 and type(conv) is nn.Conv3d


def test_the_pipeline_runs_every_frame_only_conv_as_2d(sa_pipe):
    for model in (sa_pipe.c.unet, sa_pipe.c.vae):
        kinds = [type(m) for m in model.modules() if isinstance(m, nn.Conv3d)]
        assert kinds and all(k is FrameConv3d for k in kinds), kinds


def _render(pipe, req, tile_batch_pixels):
    sizes: list[int] = []
    hook = pipe.c.unet.register_forward_pre_hook(lambda m, args: sizes.append(args[0].shape[0]))
    saved = pipe.tile_batch_pixels
    pipe.tile_batch_pixels = tile_batch_pixels
    try:
        return pipe(req, keep=True), sizes
    finally:
        pipe.tile_batch_pixels = saved
        hook.remove()


def test_tiles_sharing_a_unet_call_give_the_one_call_per_tile_result(sa_pipe, golden):
    """Case a (2 tiles of 16 frames at 8x8 latents): one call of batch 4 instead of two of batch 2,
    equal to within the noise floor of the official code (not only within the 10x tolerance)."""
    req = golden.request("a_tiles_20f", steps=2, decode=False)
    alone, calls_alone = _render(sa_pipe, req, 0)
    shared, calls_shared = _render(sa_pipe, req, 2 * 2 * 16 * 8 * 8)
    assert calls_alone == [2, 2, 2, 2] and calls_shared == [4, 4]
    floor = golden.spec("a_tiles_20f")["noise_floor"]
    for key in ("unet_step0_outputs", "step_noise_pred", "step_latents_out"):
        diff = float((alone.intermediates[key] - shared.intermediates[key]).abs().max())
        assert diff <= floor[key], (key, diff, floor[key])


def test_a_pipeline_renders_the_same_twice(sa_pipe, golden):
    """The scheduler is built once and copied per render: no state leaks from one render to the next."""
    req = golden.request("b_odd_14f", steps=2, decode=False)
    first, second = sa_pipe(req), sa_pipe(req)
    np.testing.assert_array_equal(first.latents.numpy(), second.latents.numpy())
