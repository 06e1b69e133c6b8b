"""X-Dyna pipeline cost: ours (ControlNet residuals shared across windows and CFG halves) next to
the official way (every window recomputes its frames' residuals for both CFG halves).

Builds a mid-size random model (UNet/ControlNet blocks of 64-128 channels, pose + S-Face
ControlNets), renders the same clip (32 frames, 32x32 latents, 16/4 reference windows, a few
steps, one seed) both ways, prints model evaluations per clip (UNet frames, ControlNet frames)
and wall time as ratios, and asserts the outputs agree and that ours needs at most 0.4x the
ControlNet frame evaluations per step.

Step previews: our render runs with the backend's preview sink (latent-resolution RGB of the
frames a step changed, throttled to at most 5 % of the time); the bench prints how many steps got
a preview, what one costs, and the preview share of the denoising time, and asserts it is under
5 %.

    python bench/xdyna_bench.py [--frames 32] [--steps 2] [--device cpu|cuda] [--dtype float32]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from studio.backends.xdyna.components import Components  # noqa: E402
from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline  # noqa: E402
from studio.backends.xdyna.resampler import Resampler  # noqa: E402
from studio.backends.xdyna.unet3d import XDynaUNet3D  # noqa: E402

CHANNELS = [64, 64, 128, 128]
DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
TEXT_DIM = 64


class _ByteTokenizer:
    """A stand-in for the CLIP tokenizer: BOS, the prompt's bytes, EOS padding to 77."""

    model_max_length = 77

    def __call__(self, text, padding=None, max_length=77, truncation=True, return_tensors="pt"):
        ids = [255] + [b % 250 for b in text.encode()][: max_length - 2] + [254]
        ids += [254] * (max_length - len(ids))

        class _Out:
            input_ids = torch.tensor([ids])

        return _Out()


def random_components(seed: int = 0) -> Components:
    """A randomly initialised mid-size X-Dyna (no files needed)."""
    from diffusers import AutoencoderKL, ControlNetModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    sd_config = {
        "block_out_channels": CHANNELS, "down_block_types": DOWN, "up_block_types": UP, "layers_per_block": 1,
        "cross_attention_dim": TEXT_DIM, "attention_head_dim": 4, "norm_num_groups": 32, "in_channels": 4,
        "out_channels": 4, "sample_size": 32,
    }
    unet = XDynaUNet3D.from_config(sd_config, {"num_attention_heads": 4, "zero_initialize": False})

    def controlnet(channels: int) -> ControlNetModel:
        return ControlNetModel(
            block_out_channels=CHANNELS, down_block_types=DOWN, layers_per_block=1, cross_attention_dim=TEXT_DIM,
            attention_head_dim=4, conditioning_embedding_out_channels=(16, 16, 32, 32),
            conditioning_channels=channels,
        )

    vae = AutoencoderKL(block_out_channels=[32, 32, 32, 32], down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=1, norm_num_groups=16,
                        latent_channels=4)
    text = CLIPTextModel(CLIPTextConfig(vocab_size=256, hidden_size=TEXT_DIM, intermediate_size=128,
                                        num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                                        bos_token_id=255, eos_token_id=254, pad_token_id=254))
    image = CLIPVisionModelWithProjection(CLIPVisionConfig(hidden_size=64, intermediate_size=128, projection_dim=32,
                                                           num_hidden_layers=2, num_attention_heads=2,
                                                           image_size=224, patch_size=14))
    proj = Resampler(dim=TEXT_DIM, depth=2, dim_head=16, heads=4, num_queries=16, embedding_dim=64,
                     output_dim=TEXT_DIM, ff_mult=2)
    return Components(unet, controlnet(3), controlnet(6), vae, text, _ByteTokenizer(), image, proj)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--size", type=int, default=256, help="pixels (latents are size/8)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--dtype", default=None)
    args = ap.parse_args()

    pipe = XDynaPipeline(random_components(), device=args.device, dtype=args.dtype)
    rng = np.random.default_rng(0)
    n, s = args.frames, args.size
    reference = rng.integers(0, 256, (s, s, 3), dtype=np.uint8)
    pose, local, glob = (rng.integers(0, 256, (n, s, s, 3), dtype=np.uint8) for _ in range(3))

    def render(reuse: bool, preview=None):
        if pipe.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = pipe(XDynaCall(reference, pose, local, glob, num_inference_steps=args.steps, seed=1,
                             reuse_controlnet=reuse, preview=preview))
        if pipe.device.type == "cuda":
            torch.cuda.synchronize()
        return out, time.perf_counter() - start

    from studio.backends.xdyna.preview import PreviewSink

    render(True)  # warm-up (kernels, allocator)
    delivered = []
    sink = PreviewSink(lambda step, frames, rgb: delivered.append(rgb.shape), max_share=0.05)
    ours, t_ours = render(True, sink)
    naive, t_naive = render(False)

    print(f"device {pipe.device} {pipe.dtype}; {n} frames, {s}x{s} px ({s // 8}x{s // 8} latents), "
          f"{args.steps} steps, windows 16/4 (reference schedule), pose + S-Face ControlNets")
    print(f"{'':28}{'ours':>12}{'official':>12}{'ratio':>8}")
    for label, a, b in (
        ("UNet calls / clip", ours.counts.unet_calls, naive.counts.unet_calls),
        ("UNet frames / clip", ours.counts.unet_frames, naive.counts.unet_frames),
        ("ControlNet frames / clip", ours.counts.controlnet_frames, naive.counts.controlnet_frames),
        ("ControlNet frames / step", ours.counts.controlnet_frames / args.steps,
         naive.counts.controlnet_frames / args.steps),
        ("wall time (s)", t_ours, t_naive),
    ):
        print(f"{label:28}{a:>12.2f}{b:>12.2f}{a / b:>8.3f}")
    lat = float(np.abs(ours.latents - naive.latents).max())
    vid = float(np.abs(ours.video - naive.video).max())
    print(f"max |ours - official|: latents {lat:.2e}, video {vid:.2e} (float rounding only: other batch sizes)")
    tol = 1e-4 if pipe.dtype == torch.float32 else 2e-2
    assert lat <= tol * 10 and vid <= tol, "outputs differ"
    ratio = ours.counts.controlnet_frames / naive.counts.controlnet_frames
    assert ratio <= 0.4, f"ControlNet frame evaluations {ratio:.3f}x naive (> 0.4x)"
    throttle = sink.throttle
    share = throttle.preview_seconds / t_ours
    each = throttle.preview_seconds / max(1, throttle.previews) * 1e3
    print(f"step previews: {throttle.previews} of {throttle.steps} steps, {delivered[0] if delivered else '-'} "
          f"uint8 each, {each:.2f} ms per preview, {100 * share:.3g} % of the render time (limit 5 %)")
    assert throttle.previews >= 1 and share < 0.05, f"previews took {100 * share:.1f} % of the time"
    import os

    print(f"OK: identical output, ControlNet evaluations {ratio:.3f}x, time {t_ours / t_naive:.3f}x, "
          f"previews {100 * share:.3g} % of the time (load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
