"""Parity with the official UNet3D on odd, non-square latents and other window lengths (float64).

``tests/fixtures/xdyna_unet_odd/official_float64.npz`` holds outputs of the official X-Dyna code
(run in float64 by ``make_fixture.py`` there) with the tiny golden weights on latents of 7x5,
6x10, 3x9 and 13x8, windows of 1, 8 and 24 frames plus the reference, with and without ControlNet
residuals. float64 isolates the implementation from float32 rounding, which some of these tiny
shapes amplify (a 1x2 mid-block GroupNorm group of two values).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.unet3d import XDynaUNet3D  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CASE = FIXTURES / "xdyna_tiny" / "a_pose_16f"
OFFICIAL = FIXTURES / "xdyna_unet_odd" / "official_float64.npz"


@pytest.fixture(scope="module")
def unet64() -> XDynaUNet3D:
    weights = json.loads((CASE / "case.json").read_text())["weights"]
    motion = weights["unet_additional_kwargs (configs/x_dyna.yaml)"]["motion_module_kwargs"]
    unet = XDynaUNet3D.from_config(weights["unet_config_json"], motion)
    state = torch.load(CASE / weights["paths"]["pretrained_unet_path"], map_location="cpu", weights_only=True)
    unet.load_state_dict(state, strict=True)
    return unet.eval().double()


def _cases() -> list[int]:
    with np.load(OFFICIAL) as data:
        return sorted({int(name.split("_")[0]) for name in data.files})


@pytest.mark.parametrize("index", _cases())
def test_matches_official_in_float64(unet64: XDynaUNet3D, index: int) -> None:
    with np.load(OFFICIAL) as data:
        arrays = {name.split("_", 1)[1]: data[name] for name in data.files if name.startswith(f"{index}_")}
    kwargs = {}
    downs = sorted(name for name in arrays if name.startswith("down_"))
    if downs:
        kwargs = {
            "down_block_additional_residuals": [torch.from_numpy(arrays[n]).double() for n in downs],
            "mid_block_additional_residual": torch.from_numpy(arrays["mid"]).double(),
        }
    sample = torch.from_numpy(arrays["sample"]).double()
    with torch.no_grad():
        eps = unet64(
            sample, torch.tensor(int(arrays["timestep"])), torch.from_numpy(arrays["context"]).double(), **kwargs
        )
    expected = arrays["eps"]
    assert eps.shape == expected.shape
    error = np.abs(eps.numpy() - expected).max()
    assert error < 1e-9, f"shape {tuple(sample.shape)}: max abs error {error:.3g}"
