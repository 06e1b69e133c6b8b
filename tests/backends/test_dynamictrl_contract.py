"""The backend contract for DynamiCtrl on the tiny random release (64x64, 8x8 latents, 21 frames
as two passes of 13 with overlap 5, 2 steps, CPU float32): the same checks as every backend,
through the registry."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from contract import BackendContract  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dynamictrl_tiny"
WEIGHTS = FIXTURES / "release"


class TestDynamiCtrlContract(BackendContract):
    spec_name = "dynamictrl"
    n_frames = 21

    def make_backend(self):
        from studio.core import registry

        return registry.create_backend("dynamictrl", WEIGHTS)

    def make_job(self, output_dir, **options):
        from fakes import make_job
        from PIL import Image

        base = dict(backend="dynamictrl", steps=2, guidance=3.0, segment_frames=13, overlap=5, retarget=False,
                    device="cpu", dtype="float32")
        base.update(options)
        ref = Image.open(FIXTURES / "a_13f_48x64" / "inputs" / "reference.png").convert("RGB").resize((64, 64))
        return replace(make_job(self.n_frames, **base), reference=np.asarray(ref), weights_dir=WEIGHTS,
                       output_dir=output_dir)

    def held(self, backend):
        return backend._pipe

    def load_options(self):
        return [{}, {"offload": "model"}, {"offload": "sequential", "cpu_text_encoder": False}]

    def option_changes(self):
        changes = super().option_changes()
        changes.update(segment_frames=21, overlap=13)  # each valid alone and together (8k+5, overlap <= pass - 8)
        return changes
