"""Shared fixtures for the X-Dyna pipeline tests: the tiny golden-case weights and inputs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny"


def _helper(name: str):
    """The module ``name``.py beside these tests, loaded from its file under a name of its own (a
    plain ``import name`` could find another package's module of that name on sys.path)."""
    key = f"tests_xdyna_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


def case_dir(name: str) -> Path:
    """Folder of a shipped golden case."""
    return FIXTURES / name


def case_spec(name: str) -> dict:
    """``case.json`` of a shipped golden case."""
    return json.loads((case_dir(name) / "case.json").read_text())


def case_inputs(name: str) -> dict[str, np.ndarray]:
    """reference / pose / sface_local / sface_global images of a case as uint8 arrays."""
    root, spec = case_dir(name), case_spec(name)
    out = {"reference": np.array(Image.open(root / spec["inputs"]["reference"]).convert("RGB"))}
    for key in ("pose", "sface_local", "sface_global"):
        if key in spec["inputs"]:
            out[key] = np.stack([np.array(Image.open(root / p).convert("RGB")) for p in spec["inputs"][key]])
    return out


def tiny_kwargs(name: str) -> dict:
    """The ``from_release`` overrides the tiny weights need (resampler size)."""
    return {"resampler_kwargs": case_spec(name)["weights"]["resampler_kwargs"]}


@pytest.fixture(scope="session")
def face_pipe():
    """A CPU float32 pipeline on the tiny pose + S-Face weights of ``b_sface_28f``."""
    pytest.importorskip("torch")
    from studio.backends.xdyna.pipeline import XDynaPipeline

    return XDynaPipeline.from_release(
        case_dir("b_sface_28f") / "weights", device="cpu", dtype="float32", face=True, **tiny_kwargs("b_sface_28f")
    )


@pytest.fixture(scope="session")
def face_inputs() -> dict[str, np.ndarray]:
    """Inputs of ``b_sface_28f`` (28 frames, 64x64)."""
    return case_inputs("b_sface_28f")


@pytest.fixture(scope="session")
def noise_floors(face_pipe, face_inputs):
    """Baseline renders of ``b_sface_28f`` and their float noise floors on this CPU (see noise_floor.py)."""
    return _helper("noise_floor").NoiseFloors(face_pipe, face_inputs)


class TinyCases:
    """The helpers above, handed to tests as the ``tiny`` fixture (test modules cannot import conftest)."""

    root = FIXTURES
    dir = staticmethod(case_dir)
    spec = staticmethod(case_spec)
    inputs = staticmethod(case_inputs)
    kwargs = staticmethod(tiny_kwargs)


@pytest.fixture(scope="session")
def tiny() -> TinyCases:
    """Access to the shipped tiny golden cases."""
    return TinyCases()
