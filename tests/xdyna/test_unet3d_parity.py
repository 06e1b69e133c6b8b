"""UNet3D parity with the official X-Dyna code on the shipped golden cases (tiny random weights).

Feeds the first UNet call of each case (step 0, window 0) exactly as the official pipeline does
and compares with ``expected/unet_window_outputs.npy[0, 0]`` (tolerance 3e-4 from the fixture
README, about 10x the measured float noise floor).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.unet3d import XDynaUNet3D  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny"
CASES = ["a_pose_16f", "b_sface_28f"]
TOLERANCE = 3e-4


def _residual_for_unet(window_residual: np.ndarray, cfg_halves: int) -> torch.Tensor:
    """(16, C, h, w) ControlNet output of one CFG half -> (halves, C, 17, h, w) as the pipeline builds it.

    The official pipeline runs the ControlNet on [uncond, cond] window frames with identical
    latents, text embeddings and condition images, so both halves' residuals are the same; it
    reshapes them to (b, C, 16, h, w) and prepends a zero frame for the reference.
    """
    video = torch.from_numpy(window_residual).permute(1, 0, 2, 3)[None]
    video = torch.cat([torch.zeros_like(video[:, :, :1]), video], dim=2)
    return video.repeat(cfg_halves, 1, 1, 1, 1)


def _load_case(name: str) -> tuple[XDynaUNet3D, dict]:
    root = FIXTURES / name
    case = json.loads((root / "case.json").read_text())
    weights = case["weights"]
    sd_config = json.loads(
        (root / weights["paths"]["pretrain_weight"] / "unet" / "config.json").read_text()
    )
    motion_kwargs = weights["unet_additional_kwargs (configs/x_dyna.yaml)"]["motion_module_kwargs"]
    unet = XDynaUNet3D.from_config(sd_config, motion_kwargs)
    state = torch.load(root / weights["paths"]["pretrained_unet_path"], map_location="cpu", weights_only=True)
    unet.load_state_dict(state, strict=True)
    return unet.eval(), case


@pytest.mark.parametrize("name", CASES)
def test_first_unet_call_matches_official(name: str) -> None:
    unet, case = _load_case(name)
    expected_dir = FIXTURES / name / "expected"
    sample = torch.from_numpy(np.load(expected_dir / "unet_call0_sample.npy"))
    encoder_states = torch.from_numpy(np.load(expected_dir / "unet_call0_encoder_hidden_states.npy"))
    timestep = json.loads((expected_dir / "windows.json").read_text())["timesteps"][0]
    halves = sample.shape[0]

    prefixes = ["controlnet_call0"] + (["controlnet_face_call0"] if case["call"]["face_controlnet"] else [])
    downs = None
    mid = None
    for prefix in prefixes:  # S-Face residuals are summed with the pose residuals
        part_downs = [np.load(p) for p in sorted(expected_dir.glob(f"{prefix}_down_*.npy"))]
        part_mid = np.load(expected_dir / f"{prefix}_mid.npy")
        downs = part_downs if downs is None else [a + b for a, b in zip(downs, part_downs)]
        mid = part_mid if mid is None else mid + part_mid
    assert downs is not None and len(downs) == 8

    with torch.no_grad():
        eps = unet(
            sample,
            torch.tensor(timestep),
            encoder_states,
            [_residual_for_unet(d, halves) for d in downs],
            _residual_for_unet(mid, halves),
        )

    expected = np.load(expected_dir / "unet_window_outputs.npy")[0, 0]
    assert eps.shape == expected.shape == (2, 4, 17, 8, 8)
    error = np.abs(eps.numpy() - expected).max()
    assert error < TOLERANCE, f"{name}: max abs error {error:.3g} (max |expected| {np.abs(expected).max():.3g})"


def test_checkpoint_keys_match_exactly() -> None:
    """The tiny official-layout checkpoint has no key the model lacks and vice versa."""
    unet, case = _load_case(CASES[0])
    state = torch.load(
        FIXTURES / CASES[0] / case["weights"]["paths"]["pretrained_unet_path"], map_location="cpu", weights_only=True
    )
    assert set(unet.state_dict()) == set(state)
