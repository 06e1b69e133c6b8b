"""X-Dyna GPU memory at full size, measured without a GPU: a meta-device allocation trace.

Builds every X-Dyna model at its real size (SD1.5 UNet3D with motion modules, pose and S-Face
ControlNets, SD VAE, CLIP text encoder, CLIP ViT-H/14 image encoder, IP-Adapter-Plus projection)
on the ``meta`` device in float16 -- no memory, no arithmetic -- and runs the real pipeline code
on it: ``XDynaPipeline.prepare`` (encoders, initial latents), one denoising step over every
window of the clip (``denoise_windows``: ControlNet residuals, the UNet calls with CFG) and a
VAE decode. A :class:`~studio.backends.xdyna.memtrace.MemoryTrace` counts the live tensor bytes
(fused attention without its score matrix) plus the weights the residency policy keeps on the
device (:mod:`studio.backends.xdyna.placement`), and reports the peak per phase:

* weights: on the device while denoising;
* encoders: CLIP text + image encoders, image projection and the VAE encode of the photo;
* ControlNets: a window's ControlNet calls (the residual cache included);
* UNet call: one UNet call on [reference] + 16 frames with CFG;
* residual cache: the most bytes of ControlNet residuals held for later windows;
* VAE decode: one frame;
* peak: the largest of all.

Settings: ``default`` (batched CFG, all denoising models resident) and ``low-VRAM`` (ControlNets
and VAE on the device only for their calls, CFG halves one after the other). Targets (issue
#13): default <= 8.0 GiB and low-VRAM <= 6.0 GiB peak allocated for a 192-frame clip at 896x512.
``--check`` exits with 1 when a target is missed.

The method is tested (tests/xdyna/test_vram_model.py) on a small model: the same code run on
the CPU with real tensors, measured with the same trace, agrees within 10 %.

    python bench/vram_model.py [--frames 16 48 192] [--size 896x512] [--check] [--json out.json]

``--backend stableanimator`` runs the StableAnimator model instead (bench/vram_model_stableanimator.py),
``--backend dynamictrl`` the DynamiCtrl one (bench/vram_model_dynamictrl.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from studio.backends.xdyna.components import Components  # noqa: E402
from studio.backends.xdyna.denoise import denoise_windows  # noqa: E402
from studio.backends.xdyna.memtrace import GiB, MemoryTrace  # noqa: E402
from studio.backends.xdyna.pipeline import RunOptions, XDynaCall, XDynaPipeline  # noqa: E402
from studio.backends.xdyna.residuals import StepResiduals  # noqa: E402
from studio.core.windows import WindowPlan  # noqa: E402

PHASES = ("weights", "encode", "controlnet", "unet", "cache", "decode")
HEADERS = {"weights": "weights", "encode": "encoders", "controlnet": "ControlNets", "unet": "UNet call",
           "cache": "residual cache", "decode": "VAE decode"}
SETTINGS = {"default": RunOptions(), "low-VRAM": RunOptions(low_vram=True)}
TARGETS_GIB = {"default": 8.0, "low-VRAM": 6.0}


def full_size_components(device: str | torch.device = "meta") -> Components:
    """Every X-Dyna model at release size: empty weights on ``meta``, random ones on a real device."""
    from diffusers import AutoencoderKL, ControlNetModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPVisionConfig, CLIPVisionModelWithProjection

    from studio.backends.xdyna.resampler import OFFICIAL_KWARGS, Resampler
    from studio.backends.xdyna.unet3d import XDynaUNet3D
    from xdyna_bench import _ByteTokenizer

    with torch.device(device):
        unet = XDynaUNet3D()  # SD1.5 + the official motion-module settings

        def controlnet(channels: int) -> ControlNetModel:
            return ControlNetModel(cross_attention_dim=768, attention_head_dim=8, conditioning_channels=channels)

        vae = AutoencoderKL(
            block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
            up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=2, latent_channels=4, sample_size=512,
        )
        text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072,
                                            num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77))
        image = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=1280, intermediate_size=5120, projection_dim=1024, num_hidden_layers=32,
            num_attention_heads=16, image_size=224, patch_size=14))
        proj = Resampler(**{**OFFICIAL_KWARGS, "embedding_dim": 1280})
    return Components(unet, controlnet(3), controlnet(6), vae, text, _ByteTokenizer(), image, proj)


@dataclass
class Measurement:
    """Peak bytes by phase of one clip length and setting."""

    frames: int
    setting: str
    phases: dict[str, int]
    peak: int
    seconds: float

    def gib(self, phase: str) -> float:
        """A phase's peak in GiB (``"peak"`` for the overall one)."""
        return (self.peak if phase == "peak" else self.phases.get(phase, 0)) / GiB


def measure(pipe: XDynaPipeline, frames: int, height: int, width: int, setting: str = "default",
            options: RunOptions | None = None, face: bool = True) -> Measurement:
    """Trace one step of a ``frames``-frame render of ``pipe`` (any device; meta for full size)."""
    start = time.perf_counter()
    pipe.configure(options if options is not None else SETTINGS[setting])
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    one = rng.integers(0, 256, (1, height, width, 3), dtype=np.uint8)
    pose = np.broadcast_to(one, (frames, height, width, 3))  # the pixels do not matter, only sizes
    trace = MemoryTrace(weights=lambda: pipe.placement.device_bytes, device=pipe.device)
    placement = pipe.placement
    enter = placement.enter
    cache = [0]
    halves = StepResiduals.halves

    def traced_enter(phase: str) -> None:
        enter(phase)
        trace.set_phase(phase)
        if phase in ("controlnet", "unet"):
            trace.peaks["weights"] = max(trace.peaks.get("weights", 0), placement.device_bytes)

    def traced_halves(self: StepResiduals, window):
        out = halves(self, window)
        cache[0] = max(cache[0], self.cached_bytes)
        return out

    placement.enter = traced_enter  # type: ignore[method-assign]
    StepResiduals.halves = traced_halves  # type: ignore[method-assign]
    try:
        with torch.no_grad(), trace:
            prep = pipe.prepare(XDynaCall(reference, pose, pose if face else None, pose if face else None,
                                          num_inference_steps=1, seed=0, plan=WindowPlan(frames), use_face=face))
            final = denoise_windows(prep.denoiser, prep.latents, prep.plan, prep.draws.window_offsets, 1)
            with placement.phase("decode"):
                pipe.decode_frame(final[:, :, 0])
            del prep, final
    finally:
        placement.enter = enter  # type: ignore[method-assign]
        StepResiduals.halves = halves  # type: ignore[method-assign]
    phases = {k: v for k, v in trace.peaks.items() if k in PHASES}
    phases["cache"] = cache[0]
    return Measurement(frames, setting, phases, trace.peak, time.perf_counter() - start)


def table(rows: list[Measurement]) -> str:
    """A Markdown table of measurements, GiB."""
    head = "| frames | setting | " + " | ".join(HEADERS[p] for p in PHASES) + " | **peak** | target |"
    lines = [head, "|" + "---|" * (len(PHASES) + 4)]
    for m in rows:
        cells = " | ".join(f"{m.gib(p):.2f}" for p in PHASES)
        target = TARGETS_GIB.get(m.setting) if m.frames == 192 else None
        mark = "" if target is None else (f"<= {target:.1f} {'met' if m.gib('peak') <= target else 'MISSED'}")
        lines.append(f"| {m.frames} | {m.setting} | {cells} | **{m.gib('peak'):.2f}** | {mark} |")
    return "\n".join(lines)


def main() -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--backend", default="xdyna", choices=("xdyna", "stableanimator", "dynamictrl"))
    known, rest = pre.parse_known_args()
    if known.backend == "stableanimator":  # its own model: bench/vram_model_stableanimator.py
        import vram_model_stableanimator

        return vram_model_stableanimator.main(rest)
    if known.backend == "dynamictrl":  # its own model: bench/vram_model_dynamictrl.py
        import vram_model_dynamictrl

        return vram_model_dynamictrl.main(rest)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="xdyna", choices=("xdyna", "stableanimator", "dynamictrl"),
                    help="whose memory to model (stableanimator takes its own options)")
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 48, 192])
    ap.add_argument("--size", default="896x512", help="HxW in pixels (default 896x512)")
    ap.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--check", action="store_true", help="exit 1 if a 192-frame target is missed")
    ap.add_argument("--unchunked", action="store_true",
                    help="also trace the default setting with unchunked feed-forwards (what chunking saves)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    height, width = (int(v) for v in args.size.lower().split("x"))

    import os

    t0 = time.perf_counter()
    pipe = XDynaPipeline(full_size_components(), device="meta", dtype="float16")
    sizes = pipe.placement.sizes
    print(f"full-size X-Dyna in float16 on the meta device ({time.perf_counter() - t0:.1f} s to build); "
          f"{height}x{width} px, 16-frame windows, overlap 4, CFG, pose + S-Face ControlNets")
    print("weights (GiB): " + ", ".join(f"{k} {v / GiB:.2f}" for k, v in sizes.items()))
    rows = []
    for frames in args.frames:
        for setting in args.settings:
            m = measure(pipe, frames, height, width, setting)
            rows.append(m)
            print(f"  {frames:4d} frames, {setting:9s}: peak {m.gib('peak'):.2f} GiB ({m.seconds:.0f} s to trace)",
                  flush=True)
        if args.unchunked:
            m = measure(pipe, frames, height, width, "default", RunOptions(ff_chunk_tokens=0))
            m.setting = "default, FF unchunked"
            rows.append(m)
            print(f"  {frames:4d} frames, unchunked feed-forward: peak {m.gib('peak'):.2f} GiB", flush=True)
    print()
    print(table(rows))
    print(f"\n(load average {os.getloadavg()[0]:.1f}; figures are allocated bytes, not wall time, so load does "
          "not change them)")
    if args.json:
        args.json.write_text(json.dumps([{"frames": m.frames, "setting": m.setting, "peak_gib": m.gib("peak"),
                                          **{f"{p}_gib": m.gib(p) for p in PHASES}} for m in rows], indent=1))
    missed = [m for m in rows if m.frames == 192 and m.setting in TARGETS_GIB and m.gib("peak") > TARGETS_GIB[m.setting]]
    if args.check and missed:
        print("MISSED: " + ", ".join(f"{m.setting} {m.gib('peak'):.2f} GiB" for m in missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
