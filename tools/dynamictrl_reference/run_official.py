"""Run the OFFICIAL DynamiCtrl pipeline on a tiny release and record golden arrays.

Run in the official venv (diffusers 0.32.0, transformers 4.49.0; see the fixture README):

    python run_official.py CASE_DIR --release REL --official SRC [--frames 13 --height 64
        --width 64 --steps 3 --guidance 3 --seed 42 --prompt TEXT --threads 1 --perturb 0]

It follows ``scripts/dynamictrl_inference.py``'s ``generate_video`` step by step, in float32 on
the CPU: the pipeline is built from the release's folders, the scheduler swapped for
``CogVideoXDPMScheduler`` with trailing spacing, VAE slicing and tiling on, the reference loaded
with ``load_image`` (the pipeline resizes it straight to the target size), the pose frames
turned into the control tensor by the official ``load_contorl_video_from_Image`` (what the script
does after DWPose), then the pipeline call with the script's arguments and the script's
"first ``num_frames`` frames" cut. Hooks only record (nothing the official code computes is
changed): every random draw, token ids, text embeddings, the preprocessed image, both VAE
posteriors, the prepared latents, every transformer call, the latents after each step and the
decoded frames. ``--perturb E`` adds E * (a fixed +-1 pattern) to the image and pose tensors
and to T5's token embeddings (noise-floor runs); ``--threads`` sets torch's thread count.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np
import torch

import harness_env
import make_inputs


class Recorder:
    """Collects named arrays (``add``) and numbered random draws (``draw``)."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.draws: list[dict] = []
        self.draw_arrays: list[np.ndarray] = []

    def add(self, name: str, value) -> None:
        if isinstance(value, torch.Tensor):
            value = value.detach().to(torch.float32).cpu().numpy() if value.is_floating_point() \
                else value.detach().cpu().numpy()
        self.arrays[name] = np.asarray(value)

    def draw(self, label: str, tensor: torch.Tensor) -> None:
        self.draws.append({"index": len(self.draws), "label": label, "shape": list(tensor.shape)})
        self.draw_arrays.append(tensor.detach().to(torch.float32).cpu().numpy())


def sign_pattern(shape, seed: int = 7) -> torch.Tensor:
    """A fixed +-1 tensor (the perturbation direction of noise-floor runs)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, tuple(shape), generator=g).float() * 2 - 1


def install_hooks(pipe, rec: Recorder, perturb: float):
    """Record-only wrappers around the official pipeline's pieces (see the module docstring)."""
    import diffusers.models.autoencoders.vae as vae_mod
    import diffusers.schedulers.scheduling_dpm_cogvideox as dpm_mod
    import dynamictrl.pipelines.dynamictrl_pipeline as pipe_mod

    for mod, label in ((vae_mod, "vae_posterior_noise"), (pipe_mod, "init_noise"),
                       (dpm_mod, "scheduler_noise")):
        original = mod.randn_tensor

        def recording(*args, _orig=original, _label=label, **kwargs):
            out = _orig(*args, **kwargs)
            rec.draw(_label, out)
            return out

        mod.randn_tensor = recording

    te_calls = []

    def te_hook(module, args, output):
        idx = len(te_calls)
        te_calls.append(idx)
        name = "prompt" if idx == 0 else "negative"
        rec.add(f"token_ids_{name}", args[0])
        rec.add(f"text_embeds_{name}", output[0])

    pipe.text_encoder.register_forward_hook(te_hook)
    if perturb:  # move the token embeddings too, so the text path has a measured floor
        pipe.text_encoder.get_input_embeddings().register_forward_hook(
            lambda m, a, out: out + perturb * sign_pattern(out.shape, 17))

    vp = pipe.video_processor
    orig_pre = vp.preprocess

    def preprocess(*args, **kwargs):
        out = orig_pre(*args, **kwargs)
        if perturb:
            out = out + perturb * sign_pattern(out.shape, 11)
        rec.add("image_pixels", out)
        return out

    vp.preprocess = preprocess

    enc_calls = []
    orig_encode = pipe.vae.encode

    def encode(x, *args, **kwargs):
        out = orig_encode(x, *args, **kwargs)
        name = "image" if not enc_calls else "pose"
        enc_calls.append(name)
        rec.add(f"{name}_posterior_mean", out.latent_dist.mean)
        rec.add(f"{name}_posterior_std", out.latent_dist.std)
        return out

    pipe.vae.encode = encode

    orig_prepare = pipe.prepare_latents

    def prepare_latents(*args, **kwargs):
        latents, image_latents, control_latents, extra = orig_prepare(*args, **kwargs)
        rec.add("latents_init", latents)
        rec.add("image_latents", image_latents)
        rec.add("pose_latents", control_latents)
        return latents, image_latents, control_latents, extra

    pipe.prepare_latents = prepare_latents

    calls: list[dict] = []

    def tr_hook(module, args, kwargs, output):
        c = {k: kwargs[k] for k in ("hidden_states", "encoder_hidden_states", "timestep",
                                     "control_hidden_states", "ofs")}
        c["output"] = output[0]
        if not calls:
            rec.add("rotary_cos", kwargs["image_rotary_emb"][0])
            rec.add("rotary_sin", kwargs["image_rotary_emb"][1])
            for k, v in c.items():
                rec.add(f"transformer_call0_{k}", v)
        calls.append({"output": c["output"].detach().float().cpu().numpy(),
                      "timestep": c["timestep"].detach().cpu().numpy()})

    pipe.transformer.register_forward_hook(tr_hook, with_kwargs=True)

    orig_decode = pipe.vae.decode

    def decode(z, *args, **kwargs):
        rec.add("decode_input", z)
        out = orig_decode(z, *args, **kwargs)
        rec.add("decoded", out.sample)
        return out

    pipe.vae.decode = decode
    return calls


def build_pipeline(release: Path):
    """The official pipeline from the release folders (what ``from_pretrained`` assembles)."""
    from diffusers import CogVideoXDDIMScheduler, CogVideoXDPMScheduler
    from transformers import T5EncoderModel, T5Tokenizer

    from dynamictrl.models.model_dynamictrl import DynamiCtrlTransformerModel
    from dynamictrl.models.modules.model_cogvideox_autoencoderKL import AutoencoderKLCogVideoX
    from dynamictrl.pipelines.dynamictrl_pipeline import DynamiCtrlAnimationPipeline

    pipe = DynamiCtrlAnimationPipeline(
        tokenizer=T5Tokenizer.from_pretrained(release / "tokenizer"),
        text_encoder=T5EncoderModel.from_pretrained(release / "text_encoder", torch_dtype=torch.float32),
        vae=AutoencoderKLCogVideoX.from_pretrained(release / "vae", torch_dtype=torch.float32),
        transformer=DynamiCtrlTransformerModel.from_pretrained(release / "transformer", torch_dtype=torch.float32),
        scheduler=CogVideoXDDIMScheduler.from_pretrained(release / "scheduler"),
    )
    # As the script: DPM scheduler with trailing spacing, VAE slicing and tiling.
    pipe.scheduler = CogVideoXDPMScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing")
    pipe.vae.enable_slicing()
    pipe.vae.enable_tiling()
    return pipe


def run(args) -> None:
    harness_env.setup(args.official)
    torch.set_num_threads(args.threads)
    from diffusers.utils import load_image
    from PIL import Image

    from utils.load_validation_control import load_contorl_video_from_Image

    out = Path(args.case_dir)
    inputs = out / "inputs"
    if not (inputs / "reference.png").exists():
        make_inputs.write(inputs, args.frames, args.height, args.width, seed=args.input_seed)
    pose_files = sorted((inputs / "pose").glob("*.png"))[: args.frames]

    pipe = build_pipeline(Path(args.release))
    rec = Recorder()
    calls = install_hooks(pipe, rec, args.perturb)

    image = load_image(str(inputs / "reference.png"))
    poses = [Image.open(p).convert("RGB") for p in pose_files]
    control = load_contorl_video_from_Image(poses, args.height, args.width).unsqueeze(0)
    if args.perturb:
        control = control + args.perturb * sign_pattern(control.shape, 13)
    if args.tag:  # expected/ omits it: pose_pixels = (png / 255 - 0.5) / 0.5, frames x RGB x H x W
        rec.add("pose_pixels", control)

    steps: list[torch.Tensor] = []

    def on_step(p, i, t, kw):
        steps.append(kw["latents"].detach().float().cpu().clone())
        return {}

    result = pipe(
        height=args.height, width=args.width, prompt=args.prompt,
        negative_prompt=args.negative_prompt, image=image, control_video=control,
        pose_control_function="padaln", num_videos_per_prompt=1,
        num_inference_steps=args.steps, num_frames=args.frames, use_dynamic_cfg=False,
        guidance_scale=args.guidance, generator=torch.Generator().manual_seed(args.seed),
        re_init_noise_latent=False, output_type="np", callback_on_step_end=on_step,
    ).frames[0]
    frames = np.stack(result)                           # (N + 3, H, W, 3) in [0, 1]
    video = frames[: args.frames]                       # the script keeps the first num_frames

    rec.add("step_latents", torch.stack(steps))
    rec.add("transformer_outputs", np.stack([c["output"] for c in calls]))
    rec.add("transformer_timesteps", np.stack([c["timestep"] for c in calls]))
    rec.add("timesteps", pipe.scheduler.timesteps)
    if args.tag:  # expected/ keeps only `decoded`: video = clamp(decoded / 2 + 0.5)[first N frames]
        rec.add("video", video)

    exp = out / ("expected" if not args.tag else f"runs/{args.tag}")
    exp.mkdir(parents=True, exist_ok=True)
    for name, arr in rec.arrays.items():
        np.save(exp / f"{name}.npy", arr.astype(np.float32) if arr.dtype == np.float64 else arr)
    draws_dir = exp / "draws"
    draws_dir.mkdir(exist_ok=True)
    for d, arr in zip(rec.draws, rec.draw_arrays):
        d["file"] = f"draws/{d['index']:02d}_{d['label']}.npy"
        np.save(exp / d["file"], arr)
    import diffusers
    import transformers

    meta = {
        "call": {"height": args.height, "width": args.width, "num_frames": args.frames,
                 "num_inference_steps": args.steps, "guidance_scale": args.guidance,
                 "seed": args.seed, "prompt": args.prompt, "negative_prompt": args.negative_prompt,
                 "pose_control_function": "padaln", "use_dynamic_cfg": False, "dtype": "float32"},
        "draws": rec.draws,
        "run": {"threads": args.threads, "perturb": args.perturb, "python": platform.python_version(),
                "torch": torch.__version__, "diffusers": diffusers.__version__,
                "transformers": transformers.__version__, "official_commit": "15eb5e9"},
    }
    (exp / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps({"written": str(exp), "arrays": len(rec.arrays), "draws": len(rec.draws),
                      "frames": list(frames.shape)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case_dir")
    ap.add_argument("--release", required=True)
    ap.add_argument("--official", required=True)
    ap.add_argument("--frames", type=int, default=13)
    ap.add_argument("--height", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--input-seed", type=int, default=0)
    ap.add_argument("--prompt", default="A woman in a red shirt dances on a wooden stage.")
    ap.add_argument("--negative-prompt", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--perturb", type=float, default=0.0)
    ap.add_argument("--tag", default="", help="write to runs/TAG instead of expected/")
    run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
