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


def _feed_forward(dim: int = 24, seed: int = 0):
    from diffusers.models.attention import FeedForward

    torch.manual_seed(seed)
    return FeedForward(dim, activation_fn="geglu").eval().requires_grad_(False)


@pytest.mark.parametrize("tokens", [7, 512, 1300])  # under one block, exactly one, several with a ragged tail
def test_a_blocked_feed_forward_computes_the_plain_one(tokens):
    from studio.backends.stableanimator.feed_forward import BlockedFeedForward, use_blocked_feed_forward

    ff = _feed_forward()
    x = torch.randn(2, tokens, 24)
    with torch.inference_mode():
        ref, keys = ff(x), set(ff.state_dict())
        assert use_blocked_feed_forward(ff) == 1 and type(ff) is BlockedFeedForward
        got = ff(x)
    assert got.shape == ref.shape and got.is_contiguous()
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    assert set(ff.state_dict()) == keys


def test_a_blocked_feed_forward_runs_the_plain_path_under_autograd():
    """HJB differentiates through the models: there it is the diffusers forward, gradients included."""
    from studio.backends.stableanimator.feed_forward import use_blocked_feed_forward

    plain, blocked = _feed_forward(), _feed_forward()
    use_blocked_feed_forward(blocked)
    x = torch.randn(600, 24, requires_grad=True)
    ref = plain(x)
    (g_ref,) = torch.autograd.grad(ref.sum(), x)
    got = blocked(x)
    (g_got,) = torch.autograd.grad(got.sum(), x)
    assert torch.equal(got, ref) and torch.equal(g_got, g_ref)


def test_feed_forwards_of_another_shape_are_left_alone():
    from diffusers.models.attention import FeedForward

    from studio.backends.stableanimator.feed_forward import use_blocked_feed_forward

    assert use_blocked_feed_forward(FeedForward(8, activation_fn="gelu")) == 0
    assert use_blocked_feed_forward(FeedForward(8, activation_fn="geglu", bias=False)) == 0


def test_channels_last_frame_convs_hand_group_norm_a_channels_last_tensor():
    """A batch of one gets the canonical channels-last strides, so the next group norm keeps the layout
    (with the strides the convolution returns, it falls back to a contiguous copy and the next
    convolution reorders it back)."""
    from studio.backends.stableanimator.memory_format import use_channels_last

    torch.manual_seed(0)
    conv = nn.Conv3d(8, 8, (3, 1, 1), padding=(1, 0, 0))
    use_frame_conv2d(conv)
    x = torch.randn(1, 8, 4, 6, 5)
    ref = conv(x)
    assert use_channels_last(conv) == 1
    y = conv(x.contiguous(memory_format=torch.channels_last_3d))
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-6)
    norm = nn.functional.group_norm(y, 4)
    assert norm.is_contiguous(memory_format=torch.channels_last_3d) and not norm.is_contiguous()


def test_the_pipeline_keeps_the_decoder_channels_last_and_the_unet_contiguous(sa_pipe):
    from studio.backends.stableanimator.feed_forward import BlockedFeedForward

    dec = [m.weight for m in sa_pipe.c.vae.decoder.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    assert dec and all(w.is_contiguous(memory_format=torch.channels_last if w.dim() == 4 else torch.channels_last_3d)
                       for w in dec)
    unet = [m.weight for m in sa_pipe.c.unet.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d))]
    assert all(w.is_contiguous() for w in unet)
    ffs = [type(m) for m in sa_pipe.c.unet.modules() if type(m).__name__.endswith("FeedForward")]
    assert ffs and all(k is BlockedFeedForward for k in ffs), ffs


def test_the_hot_path_renders_what_the_plain_modules_render(tiny_release, sa_pipe, golden):
    """Case a with blocked feed-forwards and a channels-last decoder, against the same release with the
    diffusers feed-forwards and contiguous weights: within twice the official code's noise floor (what
    a 1e-6 perturbation of its inputs moves; the reordering moved the final latents by 1.0x of it,
    one float step at their magnitude, and the frames by 1.05x), far inside the golden tolerance."""
    from diffusers.models.attention import FeedForward

    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.feed_forward import BlockedFeedForward
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    plain = StableAnimatorPipeline(load_components(tiny_release))
    for m in plain.c.unet.modules():
        if type(m) is BlockedFeedForward:
            m.__class__ = FeedForward
    for m in plain.c.vae.decoder.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            m.weight.data = m.weight.data.contiguous()
    req = golden.request("a_tiles_20f", steps=2)
    a, b = plain(req, keep=True), sa_pipe(req, keep=True)
    floor = golden.spec("a_tiles_20f")["noise_floor"]
    for key, x, y in [("step_latents_out", a.latents, b.latents), ("decoded", a.decoded, b.decoded)]:
        diff = float((x - y).abs().max())
        assert diff <= 2 * floor[key], (key, diff, floor[key])
    assert float((a.latents - b.latents).abs().max()) > 0  # the paths really differ: the check compares two
