"""How the X-Dyna UNet3D mixes frames, plus its input checks, on tiny random models."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.motion_module import MotionModuleConfig, VanillaTemporalModule  # noqa: E402
from studio.backends.xdyna.resnet3d import FramePooledGroupNorm, ResnetBlock3D  # noqa: E402
from studio.backends.xdyna.unet3d import XDynaUNet3D  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402

TINY_SD_CONFIG = {
    "attention_head_dim": 2,
    "block_out_channels": [32, 32, 32, 32],
    "cross_attention_dim": 16,
    "layers_per_block": 1,
    "norm_num_groups": 32,
}
# Official x_dyna.yaml motion kwargs, but without zero init so the modules are not identities.
MOTION = {"num_attention_heads": 8, "temporal_position_encoding_max_len": 24, "zero_initialize": False}


def _randomise(module: torch.nn.Module, seed: int, scale: float = 0.2) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * scale + (1.0 if name.endswith("norm.weight") else 0.0))


@pytest.fixture(scope="module")
def tiny_unet() -> XDynaUNet3D:
    torch.manual_seed(0)
    unet = XDynaUNet3D.from_config(TINY_SD_CONFIG, MOTION).eval()
    _randomise(unet, 0, scale=0.1)
    return unet


def _inputs(batch: int = 2, frames: int = 5, height: int = 8, width: int = 8, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 4, frames, height, width, generator=gen), torch.randn(batch, 93, 16, generator=gen)


# ------------------------------------------------------------------ motion module


def _motion_module() -> VanillaTemporalModule:
    module = VanillaTemporalModule(32, MotionModuleConfig.from_kwargs(MOTION)).eval()
    _randomise(module, 5)
    return module


def test_motion_module_leaves_reference_frame_out() -> None:
    module = _motion_module()
    frames = 6
    x = torch.randn(2 * frames, 32, 3, 3, generator=torch.Generator().manual_seed(6))
    gen = torch.Generator().manual_seed(7)
    changed_ref = x.clone()  # new content (a constant shift would vanish in the per-frame GroupNorm)
    changed_ref[0] = torch.randn(32, 3, 3, generator=gen)
    changed_ref[frames] = torch.randn(32, 3, 3, generator=gen)
    changed_frame = x.clone()
    changed_frame[3] = torch.randn(32, 3, 3, generator=gen)
    with torch.no_grad():
        out, out_ref, out_frame = module(x, frames), module(changed_ref, frames), module(changed_frame, frames)
    assert torch.equal(out[0], x[0]) and torch.equal(out[frames], x[frames])  # reference passes through
    others = [i for i in range(2 * frames) if i % frames]
    assert torch.equal(out[others], out_ref[others])  # the reference never enters temporal attention
    assert (out[5] - out_frame[5]).abs().amax() > 1e-3  # video frames do attend to each other
    assert torch.equal(out[frames:], out_frame[frames:])  # ...within their own batch element only


def test_motion_module_position_encoding_limit() -> None:
    module = _motion_module()
    module(torch.randn(25, 32, 2, 2), 25)  # reference + 24 frames is the longest window
    with pytest.raises(StudioError, match="24"):
        module(torch.randn(26, 32, 2, 2), 26)


# ------------------------------------------------------------------ GroupNorm pooled over frames


def test_pooled_group_norm_equals_groupnorm_on_5d() -> None:
    batch, frames = 2, 4
    norm = FramePooledGroupNorm(8, 32, eps=1e-5)
    _randomise(norm, 7)
    video = torch.randn(batch, 32, frames, 3, 5, generator=torch.Generator().manual_seed(8)) * 3 + 1
    reference = torch.nn.functional.group_norm(video, 8, norm.weight, norm.bias, 1e-5)
    rows = video.transpose(1, 2).reshape(batch * frames, 32, 3, 5)
    ours = norm(rows, frames).view(batch, frames, 32, 3, 5).transpose(1, 2)
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


def test_resnet_features_depend_on_other_frames() -> None:
    block = ResnetBlock3D(32, 32, 8, groups=8, eps=1e-5).eval()
    _randomise(block, 9)
    frames = 4
    x = torch.randn(2 * frames, 32, 4, 4, generator=torch.Generator().manual_seed(10))
    temb = torch.randn(2, 8)
    changed = x.clone()
    changed[2] *= 3.0
    with torch.no_grad():
        a, b = block(x, temb, frames), block(changed, temb, frames)
    assert (a[1] - b[1]).abs().amax() > 1e-3  # convs are per frame, so this is the pooled GroupNorm
    assert torch.equal(a[frames:], b[frames:])  # statistics are per batch element (CFG halves apart)


# ------------------------------------------------------------------ whole UNet


def test_cfg_halves_are_independent(tiny_unet: XDynaUNet3D) -> None:
    sample, context = _inputs()
    changed = sample.clone()
    changed[1] += 1.0
    with torch.no_grad():
        a = tiny_unet(sample, 500, context)
        b = tiny_unet(changed, 500, context)
    assert torch.equal(a[0], b[0])
    assert (a[1] - b[1]).abs().amax() > 1e-3


def test_reference_frame_conditions_every_frame(tiny_unet: XDynaUNet3D) -> None:
    sample, context = _inputs()
    changed = sample.clone()
    changed[:, :, 0] += 1.0
    with torch.no_grad():
        a, b = tiny_unet(sample, 500, context), tiny_unet(changed, 500, context)
    assert ((a - b)[:, :, 1:].abs().amax(dim=(0, 1, 3, 4)) > 1e-4).all()


@pytest.mark.parametrize("size", [(5, 7), (8, 12), (9, 4)])
def test_non_square_and_odd_latents(tiny_unet: XDynaUNet3D, size: tuple[int, int]) -> None:
    sample, context = _inputs(height=size[0], width=size[1])
    residuals = [torch.randn(s) * 0.1 for s in tiny_unet.skip_shapes(2, 5, *size)]
    mid = torch.randn(2, 32, 5, *residuals[-1].shape[-2:]) * 0.1
    with torch.no_grad():
        out = tiny_unet(sample, torch.tensor([10, 20]), context, residuals, mid)
        plain = tiny_unet(sample, torch.tensor([10, 20]), context)
    assert out.shape == sample.shape
    assert torch.isfinite(out).all()
    assert (out - plain).abs().amax() > 1e-4  # the ControlNet residuals are used


def test_dtype_follows_weights(tiny_unet: XDynaUNet3D) -> None:
    """bfloat16 runs on CPU; float16 is checked where CUDA is available."""
    sample, context = _inputs()
    with torch.no_grad():
        reference = tiny_unet(sample, 500, context)
    dtypes = [torch.bfloat16] + ([torch.float16] if torch.cuda.is_available() else [])
    for dtype in dtypes:
        device = "cuda" if dtype == torch.float16 else "cpu"
        model = XDynaUNet3D.from_config(TINY_SD_CONFIG, MOTION).eval()
        model.load_state_dict(tiny_unet.state_dict())
        model.to(device=device, dtype=dtype)
        with torch.no_grad():
            out = model(sample.to(device), 500, context.to(device))  # float32 inputs are cast
        assert out.dtype == dtype and out.device.type == device
        error = (out.float().cpu() - reference).abs().amax() / reference.abs().amax()
        assert error < 0.05, f"{dtype}: relative error {error:.3g}"


# ------------------------------------------------------------------ input and config checks


def test_bad_inputs_raise_studio_error(tiny_unet: XDynaUNet3D) -> None:
    sample, context = _inputs()
    shapes = tiny_unet.skip_shapes(2, 5, 8, 8)
    residuals = [torch.zeros(s) for s in shapes]
    mid = torch.zeros(2, 32, 5, 1, 1)
    cases = [
        dict(sample=sample[:, :, :1], encoder_hidden_states=context),  # reference only
        dict(sample=torch.randn(2, 4, 26, 8, 8), encoder_hidden_states=context),  # window of 25 frames
        dict(sample=sample, encoder_hidden_states=context[:, :77]),  # no image tokens
        dict(sample=sample[0], encoder_hidden_states=context),  # 4-D sample
        dict(sample=sample, encoder_hidden_states=context, down_block_additional_residuals=residuals),
        dict(
            sample=sample,
            encoder_hidden_states=context,
            down_block_additional_residuals=residuals[:-1],
            mid_block_additional_residual=mid,
        ),
    ]
    for kwargs in cases:
        with pytest.raises(StudioError):
            tiny_unet(timestep=1, **kwargs)
    with pytest.raises(StudioError):
        tiny_unet(sample, torch.tensor([1, 2, 3]), context)


@pytest.mark.parametrize(
    "override",
    [
        {"act_fn": "gelu"},
        {"block_out_channels": [32, 32, 32]},
        {"block_out_channels": [32, 48, 32, 32]},
        {"down_block_types": ["DownBlock2D"] * 4},
        {"only_cross_attention": True},
    ],
)
def test_unsupported_sd_configs_raise(override: dict) -> None:
    with pytest.raises(StudioError):
        XDynaUNet3D.from_config({**TINY_SD_CONFIG, **override})


def test_unknown_motion_kwargs_raise() -> None:
    with pytest.raises(StudioError, match="unsupported keys"):
        XDynaUNet3D.from_config(TINY_SD_CONFIG, {"num_attention_heads": 8, "max_len": 32})
    with pytest.raises(StudioError):
        XDynaUNet3D.from_config(TINY_SD_CONFIG, {"attention_block_types": ["Temporal_Cross"]})


def test_motion_module_same_with_and_without_autograd() -> None:
    module = _motion_module()
    x = torch.randn(2 * 5, 32, 3, 3, generator=torch.Generator().manual_seed(13), requires_grad=True)
    with_grad = module(x, 5)
    with_grad.sum().backward()  # differentiable path
    with torch.no_grad():
        without = module(x, 5)  # fused path
    assert x.grad is not None
    torch.testing.assert_close(with_grad.detach(), without, atol=0, rtol=0)


def test_pooled_group_norm_half_precision_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """float16 inputs get float32 statistics (a float16 variance of these values overflows to inf),
    also when reduced a few frames at a time."""
    import studio.backends.xdyna.resnet3d as resnet_module

    batch, frames = 2, 6
    norm = FramePooledGroupNorm(8, 32, eps=1e-5)
    _randomise(norm, 14)
    rows = torch.randn(batch * frames, 32, 4, 4, generator=torch.Generator().manual_seed(15)) * 300 + 400
    rows = rows.half()
    assert torch.isinf(rows.view(batch, frames, 8, -1).var(dim=(1, 3))).any()  # what a naive reduction gives
    video = rows.float().view(batch, frames, 32, 4, 4).transpose(1, 2)
    reference = torch.nn.functional.group_norm(video, 8, norm.weight, norm.bias, 1e-5)
    reference = reference.transpose(1, 2).reshape(batch * frames, 32, 4, 4)
    norm_half = norm.half()
    whole = norm_half(rows, frames)
    monkeypatch.setattr(resnet_module, "_HALF_CHUNK_ELEMENTS", 4 * 16)  # one frame per chunk
    chunked = norm_half(rows, frames)
    assert whole.dtype == torch.float16
    for out in (whole, chunked):
        assert (out.float() - reference).abs().amax() < 0.01 * reference.abs().amax()
