"""The backend contract for X-Dyna on the tiny random release (64x64, 8x8 latents, 8 frames,
1 step, CPU float32): the same checks as every backend, through the registry."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from contract import BackendContract  # noqa: E402

CASE = Path(__file__).resolve().parents[1] / "fixtures" / "xdyna_tiny" / "a_pose_16f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def _tiny_kwargs() -> dict:
    w = json.loads((CASE / "case.json").read_text())["weights"]
    motion = next((v.get("motion_module_kwargs") for k, v in w.items() if k.startswith("unet_additional_kwargs")),
                  None)
    return {"resampler_kwargs": w["resampler_kwargs"], "motion_module_kwargs": motion}


class TestXDynaContract(BackendContract):
    spec_name = "xdyna"
    n_frames = 8

    def make_backend(self):
        from studio.core import registry

        return registry.create_backend("xdyna", WEIGHTS, decode_chunk=4, **_tiny_kwargs())

    def make_job(self, output_dir, **options):
        from fakes import make_job
        from PIL import Image

        base = dict(backend="xdyna", steps=1, cfg=2.0, face_controlnet=False, retarget=False, device="cpu",
                    dtype="float32", context_frames=8, overlap=2)
        base.update(options)
        ref = np.asarray(Image.open(CASE / "inputs" / "reference.png").convert("RGB"))
        return replace(make_job(self.n_frames, **base), reference=ref, weights_dir=WEIGHTS, output_dir=output_dir)

    def held(self, backend):
        return backend._pipe

    def load_options(self):
        return [{}, {"low_vram": True}]

    def test_prepare_places_the_models_as_the_job_says(self, tmp_path):
        from studio.backends.xdyna.placement import idle_resident

        backend = self.make_backend()
        backend.prepare(self.make_job(tmp_path, low_vram=True))
        placement = backend._pipe.placement
        assert placement.low_vram and placement.on_device == idle_resident(True)  # loaded as low VRAM keeps it
        backend.prepare(self.make_job(tmp_path))
        assert not placement.low_vram and placement.on_device == idle_resident(False)
        backend.close()

    def option_changes(self):
        changes = super().option_changes()
        changes.update(context_frames=8, overlap=2)  # each valid alone (overlap < window)
        return changes


def test_the_contract_runs_for_every_backend_in_this_tree():
    """Every backend registered from studio/ has a contract test here."""
    from studio.core import registry

    mine = {name for name, spec in registry.specs().items() if spec.factory.startswith("studio.backends.")}
    here = Path(__file__).parent
    covered = set()
    for path in here.glob("test_*_contract.py"):
        text = path.read_text()
        covered |= {name for name in mine if f'spec_name = "{name}"' in text}
    assert mine <= covered, f"no contract test for: {sorted(mine - covered)}"
    assert "contract" in sys.modules
