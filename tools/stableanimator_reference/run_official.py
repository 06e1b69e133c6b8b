"""Run the OFFICIAL StableAnimator inference on tiny random weights and record golden arrays.

Runs in the official venv (/work/venvs/sa-official: diffusers 0.31.0, transformers 4.35.2,
accelerate 0.25.0, numpy 1.26.4, torch 2.13.0 CPU) against an export of
github Francis-Rings/StableAnimator (commit 020e7f2). The official files are not edited: its
``inference_basic.py`` runs through ``runpy`` with these run-time swaps only:

* stand-in modules (``stubs/``) for xformers (exact float32 attention), insightface (returns the
  case's 512-d embedding) and facexlib (never reached: insightface always finds the face);
* CUDA generators become CPU generators, ``torch.cuda.device`` a no-op, and the pipeline's
  ``.to("cuda", float16)`` stays on the CPU in float32;
* the script hard-codes the face encoder at 1024 wide: the tiny release is ``cross`` wide;
* ``--perturb EPS`` (noise-floor runs only) adds EPS N(0, 1) to every random draw, to the photo
  in [0, 1] (both its CLIP and VAE paths), to the face embedding and to PoseNet's input;
* where a case ramps guidance, ``min_guidance_scale`` is passed to the pipeline (the script passes
  ``--guidance_scale`` as both min and max);
* ``--time N`` (the CPU bench, bench/stableanimator_bench.py): after the recorded call, the
  pipeline is called N more times with the same arguments and every recording hook passing
  straight through; each call's wall and CPU (``time.process_time``) seconds go to ``run.json``
  (``timed_calls``). The first, recorded call doubles as the warm-up.

Recorded (``expected.npz``): every random draw, CLIP embeddings, ID tokens, VAE image latents, the
UNet's encoder states and time ids, PoseNet output per tile, every UNet call of step 0, the
latents in and out of every step with the guided prediction, and the decoded frames.

usage: run_official.py --official DIR --case NAME --out DIR [--weights DIR] [--threads N] [--perturb EPS] [--time N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _setup_paths(official: Path) -> None:
    sys.path.insert(0, str(HERE / "stubs"))
    sys.path.insert(0, str(official))
    sys.path.insert(0, str(HERE))


def build_manifest(configs: dict) -> dict:
    """``{release file: {key: shape}}`` from the official model classes at the tiny configs."""
    from diffusers import AutoencoderKLTemporalDecoder
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from animation.modules.id_encoder import FusionFaceId
    from animation.modules.pose_net import PoseNet
    from animation.modules.unet import UNetSpatioTemporalConditionModel

    def shapes(model) -> dict:
        return {k: list(v.shape) for k, v in model.state_dict().items()}

    unet = shapes(UNetSpatioTemporalConditionModel.from_config(configs["unet"]))
    animation_unet = dict(unet)
    pattern = re.compile(r"^(.*\.transformer_blocks\.\d+\.attn2)\.to_([kv])\.weight$")
    for key, shape in unet.items():
        m = pattern.match(key)
        if m and "temporal_transformer_blocks" not in key:  # the ID-adapter processors' projections
            animation_unet[f"{m.group(1)}.processor.id_to_{m.group(2)}.weight"] = shape
    cfg = {k: v for k, v in configs["image_encoder"].items() if k not in ("architectures", "model_type")}
    return {
        "unet": unet,
        "vae": shapes(AutoencoderKLTemporalDecoder.from_config(configs["vae"])),
        "image_encoder": shapes(CLIPVisionModelWithProjection(CLIPVisionConfig(**cfg))),
        "pose_net": shapes(PoseNet(noise_latent_channels=configs["unet"]["block_out_channels"][0])),
        "face_encoder": shapes(FusionFaceId(**configs["face_encoder"])),
        "animation_unet": animation_unet,
    }


class Recorder:
    """Collects arrays from the wrapped official functions."""

    def __init__(self) -> None:
        self.draws: list = []
        self.arrays: dict = {}
        self.unet_calls: list = []
        self.pose_calls: list = []
        self.steps: list = []
        self.seconds = 0.0  # wall time of the official pipeline call (no loading)
        self.on = True  # False during the timed calls: every hook passes straight through
        self.timed: list = []  # {"wall": s, "cpu": s} of each timed call

    def put(self, name, tensor) -> None:
        if self.on:
            self.arrays[name] = tensor.detach().float().cpu().numpy().copy()


#: The official pipelines: module and class (``basic``: inference_basic.py, ``pro``: inference_op.py).
PIPELINES = {"basic": ("animation.pipelines.inference_pipeline_animation", "InferenceAnimationPipeline"),
             "pro": ("animation.pipelines.inference_pipeline_animation_pro", "InferenceAnimationProPipeline")}


def _install_swaps(rec: Recorder, case: dict, cross: int, perturb: float, pipeline: str = "basic",
                   timed_calls: int = 0):
    """The run-time swaps of the module docstring; returns ``nudge`` (the perturbation of a run)."""
    import importlib

    import torch

    import animation.modules.id_encoder as id_encoder
    from animation.modules.pose_net import PoseNet
    from animation.modules.unet import UNetSpatioTemporalConditionModel
    from diffusers import EulerDiscreteScheduler

    module, class_name = PIPELINES[pipeline]
    pipe_mod = importlib.import_module(module)
    if pipeline == "pro":
        from animation.pipelines.euler_discrete_pro import EulerDiscreteSchedulerPro as EulerDiscreteScheduler

    base_generator = torch.Generator

    class CPUGenerator(base_generator):
        def __new__(cls, device="cpu"):
            return super().__new__(cls, device="cpu")

        def __init__(self, device="cpu"):
            pass

    torch.Generator = CPUGenerator
    torch.cuda.device = lambda *a, **k: contextlib.nullcontext()

    cls = getattr(pipe_mod, class_name)
    orig_to = cls.to
    cls.to = lambda self, *a, **k: orig_to(self, device="cpu", dtype=torch.float32)
    orig_call = cls.__call__

    def call(self, *a, **k):
        import time

        k["min_guidance_scale"] = case["min_guidance"]
        assert k["max_guidance_scale"] == case["max_guidance"]
        t0 = time.perf_counter()
        out = orig_call(self, *a, **k)
        rec.seconds = time.perf_counter() - t0
        rec.on = False
        try:
            for _ in range(timed_calls):
                w0, c0 = time.perf_counter(), time.process_time()
                orig_call(self, *a, **k)
                rec.timed.append({"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0})
        finally:
            rec.on = True
        return out

    cls.__call__ = call

    base_face = id_encoder.FusionFaceId

    class TinyFusionFaceId(base_face):
        def __init__(self, cross_attention_dim=1024, id_embeddings_dim=512, clip_embeddings_dim=1024, num_tokens=4):
            super().__init__(cross_attention_dim=cross, id_embeddings_dim=id_embeddings_dim,
                             clip_embeddings_dim=cross, num_tokens=num_tokens)

        def forward(self, id_embeds, clip_embeds, *a, **k):
            id_embeds = nudge(id_embeds)
            rec.put("face_encoder_id_embeds", id_embeds)
            rec.put("face_encoder_clip_embeds", clip_embeds)
            out = super().forward(id_embeds, clip_embeds, *a, **k)
            rec.put("id_tokens", out)
            return out

    id_encoder.FusionFaceId = TinyFusionFaceId

    orig_randn = pipe_mod.randn_tensor
    perturb_gen = base_generator().manual_seed(99)

    def nudge(x):
        """``x + perturb * N(0, 1)`` (the noise-floor runs), else ``x``."""
        if not perturb:
            return x
        noise = torch.randn(tuple(x.shape), generator=perturb_gen, dtype=torch.float32).numpy()
        if isinstance(x, torch.Tensor):
            return x + perturb * torch.from_numpy(noise).to(x.dtype)
        return (x + perturb * noise).astype(x.dtype)

    from diffusers.image_processor import VaeImageProcessor

    orig_pil_to_numpy = VaeImageProcessor.pil_to_numpy
    VaeImageProcessor.pil_to_numpy = staticmethod(lambda images: nudge(orig_pil_to_numpy(images)))

    def randn(shape, generator=None, device=None, dtype=None, layout=None):
        out = nudge(orig_randn(shape, generator=generator, device=device, dtype=dtype, layout=layout))
        if rec.on:
            rec.draws.append(out.detach().float().numpy().copy())
        return out

    pipe_mod.randn_tensor = randn

    orig_enc_img = cls._encode_image
    cls._encode_image = lambda self, *a, **k: _keep(rec, "image_embeddings", orig_enc_img(self, *a, **k))
    orig_enc_vae = cls._encode_vae_image
    cls._encode_vae_image = lambda self, *a, **k: _keep(rec, "image_latents", orig_enc_vae(self, *a, **k))
    orig_decode = cls.decode_latents

    def decode(self, latents, num_frames, decode_chunk_size=8):
        rec.put("decode_input_latents", latents)
        return _keep(rec, "decoded", orig_decode(self, latents, num_frames, decode_chunk_size))

    cls.decode_latents = decode

    orig_pose = PoseNet.forward

    def pose_forward(self, x):
        x = nudge(x)
        out = orig_pose(self, x)
        if rec.on:
            rec.pose_calls.append((x.detach().float().numpy().copy(), out.detach().float().numpy().copy()))
        return out

    PoseNet.forward = pose_forward

    orig_unet = UNetSpatioTemporalConditionModel.forward

    def unet_forward(self, sample, timestep, encoder_hidden_states, added_time_ids, pose_latents=None, **k):
        out = orig_unet(self, sample, timestep, encoder_hidden_states, added_time_ids, pose_latents=pose_latents, **k)
        if not rec.on:
            return out
        rec.unet_calls.append({
            "sample": sample.detach().float().numpy().copy(), "t": float(timestep),
            "encoder_hidden_states": encoder_hidden_states.detach().float().numpy().copy(),
            "added_time_ids": added_time_ids.detach().float().numpy().copy(),
            "pose": pose_latents is not None, "out": out[0].detach().float().numpy().copy(),
        })
        return out

    UNetSpatioTemporalConditionModel.forward = unet_forward

    orig_step = EulerDiscreteScheduler.step

    def step(self, model_output, timestep, sample, *a, **k):
        out = orig_step(self, model_output, timestep, sample, *a, **k)
        if not rec.on:
            return out
        prev = out[0] if isinstance(out, tuple) else out.prev_sample
        if not rec.steps:
            rec.put("sigmas", self.sigmas)
            rec.put("timesteps", self.timesteps)
        rec.steps.append({"in": sample.detach().float().numpy().copy(),
                          "noise_pred": model_output.detach().float().numpy().copy(),
                          "out": prev.detach().float().numpy().copy(), "t": float(timestep)})
        return out

    EulerDiscreteScheduler.step = step
    return nudge


def _keep(rec: Recorder, name: str, value):
    rec.put(name, value)
    return value


def collect(rec: Recorder, case: dict) -> dict:
    """The golden arrays of one run."""
    import numpy as np

    from cases import tile_indices

    tiles = tile_indices(case["frames"], case["tile_size"], case["tile_overlap"])
    n = len(tiles)
    out = dict(rec.arrays)
    out["noise_aug_noise"], out["init_noise"] = rec.draws[0], rec.draws[1]
    assert len(rec.draws) == 2, f"expected 2 random draws, got {len(rec.draws)}"
    assert len(rec.unet_calls) == 2 * n * case["steps"] and len(rec.steps) == case["steps"]
    first = rec.unet_calls[: 2 * n]
    assert [c["pose"] for c in first] == [False, True] * n  # uncond without pose, cond with pose
    out["unet_step0_outputs"] = np.stack([np.stack([first[2 * i]["out"][0], first[2 * i + 1]["out"][0]]) for i in range(n)])
    out["unet_step0_samples"] = np.stack([np.stack([first[2 * i]["sample"][0], first[2 * i + 1]["sample"][0]]) for i in range(n)])
    out["unet_encoder_hidden_states"] = np.concatenate([first[0]["encoder_hidden_states"], first[1]["encoder_hidden_states"]])
    out["unet_added_time_ids"] = first[1]["added_time_ids"]
    out["unet_timesteps"] = np.array([c["t"] for c in rec.unet_calls[:: 2 * n]], np.float64)
    out["pose_images_tile0"] = rec.pose_calls[0][0]
    out["pose_features"] = np.stack([rec.pose_calls[i][1] for i in range(n)])
    out["step_latents_in"] = np.stack([s["in"] for s in rec.steps])
    out["step_noise_pred"] = np.stack([s["noise_pred"] for s in rec.steps])
    out["step_latents_out"] = np.stack([s["out"] for s in rec.steps])
    out["tiles"] = np.array(tiles, np.int64)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official", required=True, type=Path)
    ap.add_argument("--case", required=True)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--weights", type=Path, help="tiny release folder (default OUT/weights)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time", type=int, default=0, metavar="N",
                    help="after the recorded call, time N more calls with the recording hooks off (run.json: timed_calls)")
    ap.add_argument("--perturb", type=float, default=0.0,
                    help="add EPS*N(0,1) to every random draw, the photo's pixels, the face embedding and the pose images")
    a = ap.parse_args(argv)
    _setup_paths(a.official.resolve())

    import numpy as np
    import torch

    from cases import BENCH_CASES, CASES, WEIGHT_SEED, write_inputs
    from sa_tiny_release import ANIMATION_DIR, SVD_DIR, tiny_configs, write_release

    torch.set_num_threads(a.threads)
    case = {**CASES, **BENCH_CASES}[a.case]
    configs = tiny_configs()
    out = a.out.resolve()
    weights = (a.weights or out / "weights").resolve()
    manifest = build_manifest(configs)
    digests = write_release(weights, manifest, WEIGHT_SEED, configs)
    inputs = write_inputs(case, out / "inputs")
    os.environ["SA_STUB_FACE_EMBEDDING"] = str(out / inputs["face_embedding"])

    rec = Recorder()
    _install_swaps(rec, case, configs["face_encoder"]["cross_attention_dim"], a.perturb, timed_calls=a.time)
    run_dir = out / "official_output"
    sys.argv = [
        "inference_basic.py", f"--pretrained_model_name_or_path={weights / SVD_DIR}", f"--output_dir={run_dir}",
        f"--validation_control_folder={out / 'inputs' / 'poses'}", f"--validation_image={out / inputs['reference']}",
        f"--width={case['width']}", f"--height={case['height']}", f"--guidance_scale={case['max_guidance']}",
        f"--num_inference_steps={case['steps']}",
        f"--posenet_model_name_or_path={weights / ANIMATION_DIR / 'pose_net.pth'}",
        f"--face_encoder_model_name_or_path={weights / ANIMATION_DIR / 'face_encoder.pth'}",
        f"--unet_model_name_or_path={weights / ANIMATION_DIR / 'unet.pth'}",
        f"--tile_size={case['tile_size']}", f"--overlap={case['tile_overlap']}",
        f"--noise_aug_strength={case['noise_aug_strength']}", f"--frames_overlap={case['tile_overlap']}",
        f"--decode_chunk_size={case['decode_chunk_size']}",
    ]
    cwd = os.getcwd()
    os.chdir(out)
    try:
        runpy.run_path(str(a.official / "inference_basic.py"), run_name="__main__")
    finally:
        os.chdir(cwd)
    arrays = collect(rec, case)
    np.savez_compressed(out / "expected.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    import diffusers
    import transformers

    meta = {"case": a.case, "pipeline_seconds": rec.seconds, "timed_calls": rec.timed, "call": case,
            "argv": sys.argv[1:], "threads": a.threads, "perturb": a.perturb,
            "weight_seed": WEIGHT_SEED, "configs": configs, "digests": digests, "inputs": inputs,
            "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                         "transformers": transformers.__version__, "numpy": np.__version__}}
    (out / "run.json").write_text(json.dumps(meta, indent=1))
    (out / "manifest.json").write_text(json.dumps(manifest))
    print(f"{a.case}: {len(arrays)} arrays -> {out / 'expected.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
