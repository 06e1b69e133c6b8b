"""Run the OFFICIAL StableAnimator pro path (``inference_op.py``, HJB face optimisation) on tiny weights.

Same venv, stand-ins and swaps as ``run_official.py`` (whose recorder and swaps this reuses, on
``InferenceAnimationProPipeline`` and ``EulerDiscreteSchedulerPro``), plus:

* the ArcFace: ``face_embedding_extractor_get_model('r100')`` builds the official ``IResNet``
  with one block per layer (``_iresnet(..., IBasicBlock, [1, 1, 1, 1])``; iresnet100 is
  ``[3, 13, 30, 3]``), its weights drawn in the official key layout and written to
  ``Animation/glintr100_torch.pth``, which the script loads strictly;
* ``.to("cuda")`` of the script's ArcFace and reference crop stays on the CPU;
* the face masks (``--validation_image_mask``, ``--validation_control_mask_folder``) are written
  from the case's boxes (``cases.write_masks``), so both sides crop the same pixels;
* recorded: the ArcFace calls (the reference embedding; each iteration's frame embeddings), the
  loss of every iteration (``backward``), and around every Adam step the gradient, the learning
  rate and ``z0`` before and after;
* ``--reorder KINDS`` (noise-floor runs only): the same arithmetic summed in another order, no
  input changed; comma-separated kinds: ``conv`` turns oneDNN off (the 2D convolutions on
  PyTorch's native kernel), ``attention`` puts the attention stand-in on torch's
  ``scaled_dot_product_attention`` kernel (``SA_STUB_ATTENTION=sdpa``).

usage: run_official_hjb.py --official DIR --case NAME --out DIR [--threads N] [--perturb EPS] [--reorder KINDS]
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _cpu(v):
    import torch

    if isinstance(v, str) and v.startswith("cuda"):
        return "cpu"
    if isinstance(v, torch.device) and v.type == "cuda":
        return torch.device("cpu")
    return v


def _install_hjb_swaps(rec, case: dict) -> None:
    import torch

    import animation.helper.backbones as backbones
    from animation.helper.backbones.iresnet import IBasicBlock, IResNet, _iresnet

    def get_model(name, **kwargs):
        assert name == "r100", name
        return _iresnet("iresnet_tiny", IBasicBlock, case["arcface_layers"], False, True, **kwargs)

    backbones.face_embedding_extractor_get_model = get_model

    orig_module_to, orig_tensor_to = torch.nn.Module.to, torch.Tensor.to
    torch.nn.Module.to = lambda self, *a, **k: orig_module_to(self, *[_cpu(x) for x in a],
                                                                **{n: _cpu(x) for n, x in k.items()})
    torch.Tensor.to = lambda self, *a, **k: orig_tensor_to(self, *[_cpu(x) for x in a],
                                                           **{n: _cpu(x) for n, x in k.items()})

    rec.arcface_calls, rec.losses, rec.adam = [], [], []
    orig_forward = IResNet.forward

    def forward(self, x):
        out = orig_forward(self, x)
        rec.arcface_calls.append((x.detach().float().numpy().copy(), out.detach().float().numpy().copy()))
        return out

    IResNet.forward = forward
    orig_backward = torch.Tensor.backward

    def backward(self, *a, **k):
        rec.losses.append(float(self.detach()))
        return orig_backward(self, *a, **k)

    torch.Tensor.backward = backward
    orig_step = torch.optim.Adam.step

    def adam_step(self, *a, **k):
        p = self.param_groups[0]["params"][0]
        before = p.detach().float().numpy().copy()
        grad = p.grad.detach().float().numpy().copy()
        out = orig_step(self, *a, **k)
        rec.adam.append({"lr": self.param_groups[0]["lr"], "before": before, "grad": grad,
                         "after": p.detach().float().numpy().copy()})
        return out

    torch.optim.Adam.step = adam_step


def collect_hjb(rec, case: dict) -> dict:
    """The HJB arrays: per refine step (axis 0) and iteration (axis 1)."""
    import numpy as np

    steps = case["end_refine_step"] - case["start_refine_step"] + 1
    it = case["iterations"]
    assert len(rec.adam) == steps * it and len(rec.losses) == steps * it, (len(rec.adam), len(rec.losses))
    assert len(rec.arcface_calls) == 1 + steps * it
    adam = [rec.adam[s * it: (s + 1) * it] for s in range(steps)]
    return {
        "hjb_reference_embedding": rec.arcface_calls[0][1],
        "hjb_reference_crop": rec.arcface_calls[0][0],
        "hjb_embeddings_first": rec.arcface_calls[1][1],
        "hjb_steps": np.arange(case["start_refine_step"], case["end_refine_step"] + 1),
        "hjb_lr": np.array([a[0]["lr"] for a in adam], np.float64),
        "hjb_losses": np.array(rec.losses, np.float64).reshape(steps, it),
        "hjb_z0_in": np.stack([a[0]["before"] for a in adam]),
        "hjb_z0_iter": np.stack([np.stack([x["after"] for x in a]) for a in adam]),
        "hjb_z0_out": np.stack([a[-1]["after"] for a in adam]),
        "hjb_grads": np.stack([np.stack([x["grad"] for x in a]) for a in adam]),
        "hjb_grad0": np.stack([a[0]["grad"] for a in adam]),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--case", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--perturb", type=float, default=0.0)
    ap.add_argument("--reorder", default="", help="comma-separated: conv, attention")
    a = ap.parse_args(argv)
    reorder = {k for k in a.reorder.split(",") if k}
    if reorder - {"conv", "attention"}:
        ap.error(f"--reorder: unknown kinds {sorted(reorder - {'conv', 'attention'})}")
    if "attention" in reorder:
        os.environ["SA_STUB_ATTENTION"] = "sdpa"
    sys.path.insert(0, str(HERE))
    from run_official import Recorder, _install_swaps, _setup_paths, build_manifest, collect

    _setup_paths(a.official.resolve())
    import numpy as np
    import torch

    from cases import HJB_CASES, WEIGHT_SEED, write_inputs, write_masks
    from sa_tiny_release import (ANIMATION_DIR, ARCFACE_FILE, SVD_DIR, arcface_state_dict, tensor_digest,
                                 tiny_configs, write_release)

    torch.set_num_threads(a.threads)
    torch.backends.mkldnn.enabled = "conv" not in reorder
    case = HJB_CASES[a.case]
    configs = tiny_configs()
    out = a.out.resolve()
    weights = out / "weights"
    manifest = build_manifest(configs)
    digests = write_release(weights, manifest, WEIGHT_SEED, configs)
    inputs = write_inputs(case, out / "inputs")
    masks = write_masks(case, out / "inputs")
    os.environ["SA_STUB_FACE_EMBEDDING"] = str(out / inputs["face_embedding"])

    rec = Recorder()
    _install_swaps(rec, case, configs["face_encoder"]["cross_attention_dim"], a.perturb, pipeline="pro")
    _install_hjb_swaps(rec, case)
    import animation.helper.backbones as backbones

    arc_shapes = {k: list(v.shape) for k, v in backbones.face_embedding_extractor_get_model("r100").state_dict().items()}
    arcface = arcface_state_dict(WEIGHT_SEED, arc_shapes)
    torch.save(arcface, weights / ARCFACE_FILE)
    digests["arcface"] = tensor_digest(arcface)
    manifest["arcface"] = arc_shapes

    sys.argv = [
        "inference_op.py", f"--pretrained_model_name_or_path={weights / SVD_DIR}", f"--output_dir={out / 'official_output'}",
        f"--validation_control_folder={out / 'inputs' / 'poses'}", f"--validation_image={out / inputs['reference']}",
        f"--validation_image_mask={out / masks['reference_mask']}",
        f"--validation_control_mask_folder={out / 'inputs' / 'faces'}",
        f"--width={case['width']}", f"--height={case['height']}", f"--guidance_scale={case['max_guidance']}",
        f"--num_inference_steps={case['steps']}",
        f"--posenet_model_name_or_path={weights / ANIMATION_DIR / 'pose_net.pth'}",
        f"--face_encoder_model_name_or_path={weights / ANIMATION_DIR / 'face_encoder.pth'}",
        f"--unet_model_name_or_path={weights / ANIMATION_DIR / 'unet.pth'}",
        f"--face_embedding_extractor_weight_path={weights / ARCFACE_FILE}",
        f"--num_optimization_iter={case['iterations']}", f"--start_refine_step={case['start_refine_step']}",
        f"--end_refine_step={case['end_refine_step']}", f"--noise_aug_strength={case['noise_aug_strength']}",
        f"--frames_overlap={case['tile_overlap']}", "--gradient_checkpointing",
    ]
    cwd = os.getcwd()
    os.chdir(out)
    try:
        runpy.run_path(str(a.official / "inference_op.py"), run_name="__main__")
    finally:
        os.chdir(cwd)
    arrays = {**collect(rec, case), **collect_hjb(rec, case)}
    np.savez_compressed(out / "expected.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    import diffusers
    import transformers

    meta = {"case": a.case, "pipeline_seconds": rec.seconds, "call": case, "argv": sys.argv[1:], "threads": a.threads,
            "perturb": a.perturb, "reorder": sorted(reorder), "weight_seed": WEIGHT_SEED, "configs": configs, "digests": digests,
            "inputs": {**inputs, **masks},
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                         "transformers": transformers.__version__, "numpy": np.__version__}}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    (out / "manifest.json").write_text(json.dumps(manifest))
    print(f"{a.case}: {len(arrays)} arrays -> {out / 'expected.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
