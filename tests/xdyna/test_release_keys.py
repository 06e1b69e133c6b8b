"""The full-size (SD1.5) UNet3D has exactly the key names and shapes of the official release.

Built on the ``meta`` device, so no memory is allocated. The reference list
(``tests/fixtures/xdyna_release_keys.json["unet3d"]``) was read from the official module tree.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.unet3d import XDynaUNet3D  # noqa: E402

RELEASE_KEYS = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_release_keys.json"

SD15_UNET_CONFIG = {
    "_class_name": "UNet2DConditionModel",
    "act_fn": "silu",
    "attention_head_dim": 8,
    "block_out_channels": [320, 640, 1280, 1280],
    "center_input_sample": False,
    "cross_attention_dim": 768,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "in_channels": 4,
    "layers_per_block": 2,
    "mid_block_scale_factor": 1,
    "norm_eps": 1e-05,
    "norm_num_groups": 32,
    "out_channels": 4,
    "sample_size": 64,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
}


def _meta_state_shapes() -> dict[str, list[int]]:
    with torch.device("meta"):
        unet = XDynaUNet3D.from_config(SD15_UNET_CONFIG)
    return {key: list(value.shape) for key, value in unet.state_dict().items()}


def test_sd15_size_state_dict_matches_release() -> None:
    release = json.loads(RELEASE_KEYS.read_text())["unet3d"]
    ours = _meta_state_shapes()
    missing = sorted(set(release) - set(ours))
    unexpected = sorted(set(ours) - set(release))
    assert not missing and not unexpected, f"missing {missing[:5]} ({len(missing)}), unexpected {unexpected[:5]}"
    wrong = {k: (ours[k], release[k]) for k in release if ours[k] != release[k]}
    assert not wrong, f"shape mismatches: {list(wrong.items())[:5]}"
    assert len(ours) == 1326
    total = sum(math.prod(shape) for shape in ours.values())
    assert abs(total / 1e9 - 1.3215) < 5e-4, total


def test_release_has_every_xdyna_specific_key_family() -> None:
    ours = _meta_state_shapes()
    attn1_ff = [k for k in ours if k.endswith("attn1.to_q_ff.weight")]
    attn1_out_ff = [k for k in ours if k.endswith("attn1.to_out_ff.bias")]
    attn2_ip = [k for k in ours if k.endswith("attn2.to_k_ip.weight")]
    pe = [k for k in ours if k.endswith("pos_encoder.pe")]
    assert len(attn1_ff) == len(attn1_out_ff) == len(attn2_ip) == 16  # 6 down + 1 mid + 9 up transformers
    assert len(pe) == 2 * 20  # 2 temporal attentions x (4 down x 2 + 4 up x 3) motion modules
    assert all(ours[k] == [1, 24, ours[k][2]] for k in pe)
    assert not any(k.startswith("mid_block.motion_modules") for k in ours)
