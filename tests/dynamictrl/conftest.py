"""Shared fixtures for the DynamiCtrl tests: the tiny golden cases and their release."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dynamictrl_tiny"
RELEASE = FIXTURES / "release"
CASES = ["a_13f_48x64", "b_21f_32x48_nocfg"]


class Case:
    """One golden case: its call, tolerances, inputs and expected arrays."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.dir = FIXTURES / name
        spec = json.loads((self.dir / "case.json").read_text())
        self.call, self.atol, self.draws = spec["call"], spec["atol"], spec["draws"]

    def expected(self, key: str) -> np.ndarray:
        return np.load(self.dir / "expected" / f"{key}.npy")

    def has(self, key: str) -> bool:
        return (self.dir / "expected" / f"{key}.npy").exists()

    def draw(self, index: int) -> np.ndarray:
        return np.load(self.dir / "expected" / self.draws[index]["file"])

    def reference(self) -> Image.Image:
        return Image.open(self.dir / "inputs" / "reference.png")

    def poses(self) -> np.ndarray:
        files = sorted((self.dir / "inputs" / "pose").glob("*.png"))[: self.call["num_frames"]]
        return np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files])

    def assert_close(self, key: str, got) -> float:
        """Max |got - expected| for ``key``, asserted within the case's measured tolerance."""
        got = np.asarray(got.detach().float().cpu().numpy() if hasattr(got, "detach") else got)
        ref = self.expected(key)
        assert got.shape == ref.shape, f"{key}: shape {got.shape} != {ref.shape}"
        diff = float(np.abs(got.astype(np.float64) - ref.astype(np.float64)).max())
        assert diff <= self.atol[key], f"{self.name} {key}: max |diff| {diff:.3e} > atol {self.atol[key]:.1e}"
        return diff


@pytest.fixture(scope="session")
def cases() -> dict[str, Case]:
    return {name: Case(name) for name in CASES}


@pytest.fixture(scope="session")
def tiny_pipeline():
    """Our pipeline on the tiny release (loaded once; float32, CPU)."""
    pytest.importorskip("torch")
    from studio.backends.dynamictrl.loading import load_pipeline

    return load_pipeline(RELEASE)
