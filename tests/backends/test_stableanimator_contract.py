"""The backend contract for StableAnimator on the tiny release of its golden cases (64x64, 8x8
latents, 10 frames in tiles of 8/2, 1 step, CPU float32). With onnxruntime and onnx installed the
release gets the antelopev2 stand-ins of the synthetic release writer and the backend takes the
photo's face the real way (detection, alignment, ArcFace on onnxruntime); without them, a fixed
face embedding stands in."""

from __future__ import annotations

import importlib.util
import json
import sys
import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from contract import BackendContract  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "stableanimator_tiny"
REAL_FACES = all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


@lru_cache(maxsize=1)
def tiny_release() -> Path:
    """The golden cases' tiny release, rebuilt once per session in a temporary folder."""
    sys.path.insert(0, str(ROOT / "tools" / "stableanimator_reference"))
    try:
        from sa_tiny_release import write_release
    finally:
        sys.path.pop(0)
    spec = json.loads((FIXTURES / "release.json").read_text())
    folder = Path(tempfile.mkdtemp(prefix="sa_contract_")) / "weights"
    write_release(folder, spec["manifest"], spec["weight_seed"], spec["configs"])
    if REAL_FACES:
        standins = importlib.util.spec_from_file_location("antelopev2_standins",
                                                          ROOT / "tools" / "synthetic_releases" / "antelopev2.py")
        module = importlib.util.module_from_spec(standins)
        standins.loader.exec_module(module)
        module.write(folder)
    return folder


def _embedder(photo):
    return np.load(FIXTURES / "a_tiles_20f" / "inputs" / "face_embedding.npy")


@pytest.fixture(scope="module", autouse=True)
def registered():
    from studio.backends.stableanimator.spec import SPEC
    from studio.core import registry

    with registry.installed(SPEC):  # registered, entry point installed or not
        yield


class TestStableAnimatorContract(BackendContract):
    spec_name = "stableanimator"
    n_frames = 10

    def make_backend(self):
        from studio.core import registry

        if REAL_FACES:
            return registry.create_backend("stableanimator", tiny_release())
        return registry.create_backend("stableanimator", tiny_release(), face_embedder=_embedder)

    def make_job(self, output_dir, **options):
        from fakes import make_job
        from PIL import Image

        base = dict(backend="stableanimator", steps=1, tile_size=8, tile_overlap=2, retarget=False, device="cpu",
                    dtype="float32")
        base.update(options)
        ref = np.asarray(Image.open(FIXTURES / "a_tiles_20f" / "inputs" / "reference.png").convert("RGB"))
        return replace(make_job(self.n_frames, **base), reference=ref, weights_dir=tiny_release(),
                       output_dir=output_dir)

    def held(self, backend):
        return backend._pipe

    def load_options(self):
        return [{}, {"model_offload": True}]

    def test_prepare_places_the_models_as_the_job_says(self, tmp_path):
        backend = self.make_backend()
        backend.prepare(self.make_job(tmp_path, model_offload=True))
        placement = backend._pipe.placement
        assert placement.offload and placement.on_device == set()  # nothing on the device before its phase
        backend.prepare(self.make_job(tmp_path))
        assert not placement.offload and placement.on_device == set(placement.units)
        backend.close()

    def option_changes(self):
        changes = super().option_changes()
        changes.update(tile_size=8, tile_overlap=2)  # each valid alone (overlap < tile)
        changes.update(hjb_start_step=1, hjb_end_step=3)  # each valid alone (start <= end)
        changes.update(torch_compile=False)  # not with model_offload, flipped above (stableanimator/test_compiled.py)
        return changes


@pytest.mark.skipif(not REAL_FACES, reason="onnxruntime and onnx make the face path real")
def test_the_face_sessions_load_once_and_close_frees_them(registered):
    import weakref

    from studio.core import registry

    backend = registry.create_backend("stableanimator", tiny_release())
    backend.load()
    faces = backend._faces
    assert faces is not None and faces.recogniser is not None
    backend.load()
    assert backend._faces is faces  # created once per load
    ref = weakref.ref(faces)
    del faces
    backend.close()
    assert ref() is None
