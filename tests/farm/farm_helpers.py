"""Helpers of the render-farm tests (importable by test modules, helper processes and actors)."""

from __future__ import annotations

import functools
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CASE = HERE.parent / "fixtures" / "xdyna_tiny" / "a_pose_16f"
WEIGHTS = CASE / "weights" / "pretrained_weights"


def tiny_xdyna_factory():
    """A picklable factory of the X-Dyna backend on the tiny test weights."""
    from studio.backends.xdyna.backend import XDynaBackend

    w = json.loads((CASE / "case.json").read_text())["weights"]
    motion = next((v.get("motion_module_kwargs") for k, v in w.items() if k.startswith("unet_additional_kwargs")),
                  None)
    return functools.partial(XDynaBackend, WEIGHTS, resampler_kwargs=w["resampler_kwargs"],
                             motion_module_kwargs=motion)


def xdyna_job(n: int, out: Path | None = None, **settings):
    """An X-Dyna job of ``n`` frames at 64x64 (8x8 latents), 2 steps, CPU float32."""
    from fakes import make_job
    from PIL import Image

    base = dict(backend="xdyna", steps=2, cfg=2.0, face_controlnet=False, retarget=False, device="cpu",
                dtype="float32")
    base.update(settings)
    ref = np.asarray(Image.open(CASE / "inputs" / "reference.png").convert("RGB"))
    return replace(make_job(n, **base), reference=ref, weights_dir=WEIGHTS, output_dir=out)
