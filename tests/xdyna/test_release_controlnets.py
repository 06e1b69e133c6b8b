"""Full-size ControlNets (pose: 3 conditioning channels, S-Face: 6) and the IP-Adapter-Plus
projection have exactly the keys and shapes of the official release.

Built on the ``meta`` device with the same builders ``from_release`` uses, so nothing is
allocated. Reference: ``tests/fixtures/xdyna_release_keys.json`` (read from the official
module tree).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.components import build_controlnet, build_resampler  # noqa: E402
from studio.backends.xdyna.resampler import OFFICIAL_KWARGS  # noqa: E402

RELEASE_KEYS = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_release_keys.json"

#: ``control_v11p_sd15_openpose/config.json`` (the S-Face ``controlnet2`` differs only in channels)
SD15_CONTROLNET_CONFIG = {
    "_class_name": "ControlNetModel",
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "class_embed_type": None,
    "conditioning_embedding_out_channels": [16, 32, 96, 256],
    "controlnet_conditioning_channel_order": "rgb",
    "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "global_pool_conditions": False,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "num_class_embeds": None,
    "only_cross_attention": False,
    "projection_class_embeddings_input_dim": None,
    "resnet_time_scale_shift": "default",
    "upcast_attention": False,
    "use_linear_projection": False,
}


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def _diff(ours: dict, release: dict) -> str:
    missing = sorted(set(release) - set(ours))[:5]
    extra = sorted(set(ours) - set(release))[:5]
    shapes = [k for k in release if k in ours and ours[k] != release[k]][:5]
    return f"missing {missing}, unexpected {extra}, shape {shapes}"


@pytest.mark.parametrize("name,channels", [("controlnet_pose", 3), ("controlnet_face", 6)])
def test_controlnet_matches_release(name, channels):
    release = json.loads(RELEASE_KEYS.read_text())[name]
    with torch.device("meta"):
        model = build_controlnet({**SD15_CONTROLNET_CONFIG, "conditioning_channels": channels}, None, name)
    ours = _shapes(model)
    assert len(release) == len(ours) == 340
    assert ours == release, _diff(ours, release)
    assert ours["controlnet_cond_embedding.conv_in.weight"][1] == channels
    # 12 down residuals + 1 mid, as the UNet3D expects for SD1.5
    assert sum(k.startswith("controlnet_down_blocks.") and k.endswith(".weight") for k in ours) == 12


def test_image_projection_matches_release():
    release = json.loads(RELEASE_KEYS.read_text())["image_proj"]
    with torch.device("meta"):
        model = build_resampler(OFFICIAL_KWARGS, None, "image_proj")
    ours = _shapes(model)
    assert len(release) == len(ours) == 51
    assert ours == release, _diff(ours, release)
