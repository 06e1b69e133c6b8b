"""Replay a golden case (official X-Dyna run on tiny weights) through the normal pipeline.

A case folder holds ``case.json`` (the call arguments and the tiny hyper-parameters no config
stores), ``weights/pretrained_weights/`` (the release tree), ``inputs/`` (reference, pose and
S-Face PNGs), ``replay/`` (every random draw) and ``expected/`` (see its README).
:func:`run_case` loads the weights with :meth:`XDynaPipeline.from_release`, feeds the inputs
and the recorded draws to the pipeline's ``__call__`` with a :class:`~.trace.Trace`, and
returns the arrays under the names used in ``expected/``; ``windows.json`` is returned as a
dict under ``"windows.json"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.backends.xdyna.draws import Draws
from studio.backends.xdyna.trace import Trace
from studio.core.errors import StudioError
from studio.core.windows import WindowPlan


def _read_images(case: Path, paths: list[str]) -> np.ndarray:
    return np.stack([np.asarray(Image.open(case / p).convert("RGB")) for p in paths])


def _case_json(case: Path) -> dict[str, Any]:
    try:
        return json.loads((case / "case.json").read_text())
    except (OSError, ValueError) as err:
        raise StudioError("Cannot read golden case", f"{case / 'case.json'} is missing or not JSON.", str(err)) from err


def _motion_kwargs(weights: dict) -> dict | None:
    for key, value in weights.items():
        if key.startswith("unet_additional_kwargs") and isinstance(value, dict):
            return value.get("motion_module_kwargs")
    return None


def windows_json(trace: Trace, call: dict, n_frames: int, steps: int) -> dict:
    """The ``expected/windows.json`` equivalent of a traced render."""
    out_steps = []
    for s in trace.steps:
        out_steps.append({
            "step": s["step"],
            "t": s["t"],
            "uniform_args": {
                "step": 0, "num_steps": steps, "num_frames": n_frames,
                "context_size": call.get("context_frames", 16), "context_stride": call.get("context_stride", 1),
                "context_overlap": call.get("context_overlap", 4), "closed_loop": True, "offset": s["offset"],
            },
            "windows": s["windows"],
            "windows_latent_index": [[f + 1 for f in w] for w in s["windows"]],
        })
    return {"timesteps": [s["t"] for s in trace.steps], "steps": out_steps}


def run_case(case_dir: str | Path, device: str = "cpu", dtype: str = "float32", options: Any = None) -> dict[str, Any]:
    """Run golden case ``case_dir``; returns ``{expected file stem: array}`` plus ``windows.json``.

    ``options`` (a :class:`~.pipeline.RunOptions`) turns memory/speed options on for the run."""
    from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline

    case = Path(case_dir)
    spec = _case_json(case)
    call, weights, inputs = spec["call"], spec.get("weights", {}), spec["inputs"]
    for key in ("context_stride", "context_batch_size"):
        if call.get(key, 1) != 1:
            raise StudioError("Unsupported golden case", f"{case}: {key}={call[key]} (only 1 is supported).")
    face = bool(call.get("face_controlnet", False))
    pipe = XDynaPipeline.from_release(
        case / weights.get("root", "weights/pretrained_weights"), device=device, dtype=dtype, face=face,
        resampler_kwargs=weights.get("resampler_kwargs"), motion_module_kwargs=_motion_kwargs(weights),
    )
    if options is not None:
        pipe.configure(options)
    reference = np.asarray(Image.open(case / inputs["reference"]).convert("RGB"))
    pose = _read_images(case, inputs["pose"])
    local = _read_images(case, inputs["sface_local"]) if face else None
    glob = _read_images(case, inputs["sface_global"]) if face else None
    n = int(call.get("length", pose.shape[0]))
    if pose.shape[0] != n:
        raise StudioError("Invalid golden case", f"{case}: {pose.shape[0]} pose frames for length {n}.")
    steps = int(call["num_inference_steps"])
    plan = WindowPlan(n, context=int(call.get("context_frames", 16)), overlap=int(call.get("context_overlap", 4)))
    trace = Trace()
    out = pipe(XDynaCall(
        reference, pose, local, glob,
        height=int(call["height"]), width=int(call["width"]),
        num_inference_steps=steps, guidance_scale=float(call["guidance_scale"]),
        prompt=call.get("prompt", ""), negative_prompt=call.get("negative_prompt") or "",
        draws=Draws.from_replay_folder(case / "replay"), plan=plan,
        controlnet_conditioning_scale=float(call.get("controlnet_conditioning_scale", 1.0)),
        use_face=face, trace=trace,
    ))
    result: dict[str, Any] = trace.result()
    result["final_latents"] = out.latents
    result["video"] = out.video
    result["windows.json"] = windows_json(trace, call, n, steps)
    return result


def write_results(result: dict[str, Any], folder: str | Path) -> None:
    """Save :func:`run_case` output in the ``expected/`` format (``.npy`` + ``windows.json``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in result.items():
        if name.endswith(".json"):
            (folder / name).write_text(json.dumps(value, indent=1))
        else:
            np.save(folder / f"{name}.npy", np.asarray(value, np.float32))
