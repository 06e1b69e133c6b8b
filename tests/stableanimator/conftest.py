"""Shared fixtures of the StableAnimator tests: the tiny release rebuilt from its manifest, golden cases."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "stableanimator_tiny"
CASES = ("a_tiles_20f", "b_odd_14f")
HJB_CASE = "h_hjb_6f"


def release_spec() -> dict:
    """``release.json``: configs, weight seed, key/shape manifest and digests of the tiny release."""
    return json.loads((FIXTURES / "release.json").read_text())


def case_spec(name: str) -> dict:
    """``case.json`` of a golden case (call, tolerances, noise floor, versions)."""
    return json.loads((FIXTURES / name / "case.json").read_text())


def case_expected(name: str) -> dict[str, np.ndarray]:
    """The golden arrays of a case."""
    return dict(np.load(FIXTURES / name / "expected.npz"))


def case_request(name: str, **overrides):
    """The :class:`RenderRequest` of a golden case (its inputs, its call, the official seed)."""
    from studio.backends.stableanimator.pipeline import RenderRequest

    spec, folder = case_spec(name), FIXTURES / name
    call = spec["call"]
    ref = np.array(Image.open(folder / spec["inputs"]["reference"]).convert("RGB"))
    poses = np.stack([np.array(Image.open(folder / spec["inputs"]["poses"].format(i=i)).convert("RGB"))
                      for i in range(call["frames"])])
    kwargs = dict(reference=ref, poses=poses, face_embedding=np.load(folder / spec["inputs"]["face_embedding"]),
                  steps=call["steps"], min_guidance=call["min_guidance"], max_guidance=call["max_guidance"],
                  tile_size=call["tile_size"], tile_overlap=call["tile_overlap"],
                  noise_aug_strength=call["noise_aug_strength"], decode_chunk_size=call["decode_chunk_size"],
                  seed=spec["official_seed"])
    kwargs.update(overrides)
    return RenderRequest(**kwargs)


def write_tiny_release(folder: Path) -> dict[str, str]:
    """Rebuild the golden cases' tiny release in the official layout; returns its tensor digests."""
    sys.path.insert(0, str(ROOT / "tools" / "stableanimator_reference"))
    try:
        from sa_tiny_release import write_release
    finally:
        sys.path.pop(0)
    spec = release_spec()
    return write_release(folder, spec["manifest"], spec["weight_seed"], spec["configs"])


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory) -> Path:
    """A tiny release folder identical (by tensor digest) to the one the official run used."""
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("sa_release")
    digests = write_tiny_release(folder)
    assert digests == release_spec()["digests"], "the rebuilt tiny release differs from the official run's"
    return folder


@pytest.fixture(scope="session")
def sa_pipe(tiny_release):
    """A CPU float32 StableAnimator pipeline on the tiny release."""
    import torch

    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    torch.manual_seed(0)
    return StableAnimatorPipeline(load_components(tiny_release))


def hjb_request(name: str = HJB_CASE, **overrides):
    """The :class:`RenderRequest` of the HJB golden case: its call, the official HJB settings and the
    face boxes the official run read from its masks."""
    from studio.backends.stableanimator.hjb import HJBSettings

    spec = case_spec(name)
    call, inputs = spec["call"], spec["inputs"]
    kwargs = dict(hjb=HJBSettings(call["start_refine_step"], call["end_refine_step"], call["iterations"]),
                  face_boxes=np.array(inputs["frame_boxes"]), reference_face_box=tuple(inputs["reference_box"]))
    kwargs.update(overrides)
    return case_request(name, **kwargs)


def arcface_state_dict(name: str = HJB_CASE) -> dict:
    """The HJB case's tiny ArcFace (official key layout), rebuilt from its manifest and checked by digest."""
    sys.path.insert(0, str(ROOT / "tools" / "stableanimator_reference"))
    try:
        from sa_tiny_release import arcface_state_dict as build, tensor_digest
    finally:
        sys.path.pop(0)
    spec = case_spec(name)
    sd = build(release_spec()["weight_seed"], spec["arcface_manifest"])
    assert tensor_digest(sd) == spec["arcface_digest"], "the rebuilt ArcFace differs from the official run's"
    return sd


@pytest.fixture(scope="session")
def arcface_file(tmp_path_factory) -> Path:
    """``glintr100_torch.pth`` of the HJB case (a torch zip pickle of the state dict, as published)."""
    import torch

    path = tmp_path_factory.mktemp("sa_arcface") / "glintr100_torch.pth"
    torch.save(arcface_state_dict(), path)
    return path


@pytest.fixture(scope="session")
def hjb_pipe(sa_pipe, arcface_file):
    """The tiny pipeline with the HJB case's ArcFace (the other models shared with ``sa_pipe``)."""
    from dataclasses import replace

    from studio.backends.stableanimator.iresnet import load_arcface
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    return StableAnimatorPipeline(replace(sa_pipe.c, arcface=load_arcface(arcface_file)))


def pose_track(n: int):
    """A pose track of ``n`` frames cycling through the pose-drawing case's three poses (96x128)."""
    from studio.core.tracks import PoseTrack

    poses = json.loads((FIXTURES / "pose_draw" / "poses.json").read_text())["poses"]
    pick = [poses[i % 3] for i in range(n)]
    return PoseTrack(body=np.stack([np.array(p["body"], np.float32) for p in pick]),
                     body_conf=np.stack([np.array(p["body_conf"], np.float32) for p in pick]),
                     hands=np.stack([np.array(p["hands"], np.float32) for p in pick]),
                     hands_conf=np.stack([np.array(p["hands_conf"], np.float32) for p in pick]),
                     flags=np.zeros(n, np.uint16), width=96, height=128)


class GoldenCases:
    """The helpers above, handed to tests as the ``golden`` fixture (test modules cannot import conftest)."""

    names = CASES
    root = FIXTURES
    spec = staticmethod(case_spec)
    expected = staticmethod(case_expected)
    request = staticmethod(case_request)
    release = staticmethod(release_spec)
    hjb = HJB_CASE
    hjb_request = staticmethod(hjb_request)
    pose = staticmethod(pose_track)


@pytest.fixture(scope="session")
def golden() -> GoldenCases:
    """Access to the committed StableAnimator golden cases."""
    return GoldenCases()


def antelopev2_writer():
    """``tools/synthetic_releases/antelopev2.py`` (the face-model stand-ins), imported by path."""
    import importlib.util

    pytest.importorskip("onnx")
    spec = importlib.util.spec_from_file_location("antelopev2_standins",
                                                  ROOT / "tools" / "synthetic_releases" / "antelopev2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def standins():
    """The stand-in writer module (its scene constants: FACE_BOX, FACE_POINTS, SMALL_BOX)."""
    pytest.importorskip("onnxruntime")
    return antelopev2_writer()


@pytest.fixture(scope="session")
def face_folder(tmp_path_factory, standins) -> Path:
    """A folder holding only the stand-in ``models/antelopev2/`` face models."""
    folder = tmp_path_factory.mktemp("sa_faces")
    standins.write(folder)
    return folder


@pytest.fixture(scope="session")
def real_photo() -> np.ndarray:
    """The bundled real sample's photo (512x896 RGB)."""
    return np.asarray(Image.open(ROOT / "resources" / "sample_real" / "reference.jpg").convert("RGB"))


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The StableAnimator spec in the registry for every test here (its entry point installed or not)."""
    from studio.backends.stableanimator.spec import SPEC
    from studio.core import registry

    with registry.installed(SPEC):
        yield
