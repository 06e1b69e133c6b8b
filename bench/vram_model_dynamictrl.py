"""DynamiCtrl GPU memory at full size, measured without a GPU: a meta-device allocation trace.

Builds the full-size models (CogVideoX1.5-5B transformer with PA-LN, 42 layers x 3072; the
CogVideoX VAE) on the ``meta`` device in bfloat16 -- no memory, no arithmetic -- and runs the
studio's DynamiCtrl pipeline code on them: the VAE encodes of the reference and of the pose
video, one denoising step (the transformer on the CFG batch of 2, the DPM update) and the VAE
decode of the pass, with VAE tiling on as in the official script. The X-Dyna
:class:`~studio.backends.xdyna.memtrace.MemoryTrace` counts live tensor bytes (fused attention
without its score matrix) plus the weights each profile keeps on the device:

* none: transformer + VAE resident the whole render;
* model: the transformer while denoising, the VAE while encoding/decoding (model CPU offload);
* sequential: the transformer's non-block parts plus one block at a time; one VAE part (encoder
  or decoder) at a time.

The T5-XXL encoder stays on the CPU in every profile (``cpu_text_encoder``, the default; on the
GPU it would add its bf16 weights, printed below). Targets (issue #26) at 768x1360x37:
none <= 24 GiB, model <= 12 GiB, sequential <= 6 GiB. Frames do not depend on the profile
(placement only moves weights).

    python bench/vram_model.py --backend dynamictrl [--size 768x1360] [--frames 37] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from studio.backends.xdyna.memtrace import GiB, MemoryTrace  # noqa: E402

PHASES = ("encode", "denoise", "decode")
PROFILES = ("none", "model", "sequential")
TARGETS_GIB = {"none": 24.0, "model": 12.0, "sequential": 6.0}


def nbytes(module: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def full_size_pipeline(dtype: torch.dtype = torch.bfloat16):
    """The studio pipeline over full-size meta-device models (no text encoder: it is on the CPU)."""
    from diffusers import AutoencoderKLCogVideoX
    from synthetic_releases.dynamictrl import FULL_TRANSFORMER, FULL_VAE, SCHEDULER

    from studio.backends.dynamictrl.pipeline import DynamiCtrlPipeline
    from studio.backends.dynamictrl.transformer import DynamiCtrlTransformer

    with torch.device("meta"):
        transformer = DynamiCtrlTransformer(**FULL_TRANSFORMER).to(dtype).eval()
        vae = AutoencoderKLCogVideoX(**FULL_VAE).to(dtype).eval()
    return DynamiCtrlPipeline(transformer, vae, None, None, SCHEDULER, device="meta", dtype=dtype)


def t5_bytes(dtype: torch.dtype = torch.bfloat16) -> int:
    """Bytes of the T5-XXL encoder's weights in ``dtype`` (built on the meta device)."""
    from synthetic_releases.dynamictrl import FULL_T5, FULL_VOCAB
    from transformers import T5Config, T5EncoderModel

    with torch.device("meta"):
        model = T5EncoderModel(T5Config(**FULL_T5, vocab_size=FULL_VOCAB))
    return sum(p.numel() for p in model.parameters()) * torch.empty((), dtype=dtype).element_size()


def resident(pipe, profile: str, phase: str) -> int:
    """Weight bytes on the device during ``phase`` under ``profile``."""
    tr, vae = pipe.transformer, pipe.vae
    if profile == "none":
        return nbytes(tr) + nbytes(vae)
    if profile == "model":
        return nbytes(tr) if phase == "denoise" else nbytes(vae)
    if phase == "denoise":
        rest = nbytes(tr) - sum(nbytes(b) for b in tr.transformer_blocks)
        return rest + max(nbytes(b) for b in tr.transformer_blocks)
    return max(nbytes(c) for c in vae.children())


def measure(pipe, frames: int, height: int, width: int, profile: str, tiling: bool = True) -> dict:
    """Peak allocated bytes per phase for one step of a ``frames``-frame pass."""
    from studio.backends.dynamictrl.pipeline import Conditioning

    if tiling:
        pipe.vae.enable_tiling()
    else:
        pipe.vae.disable_tiling()
    state = {"phase": "encode"}
    trace = MemoryTrace(weights=lambda: resident(pipe, profile, state["phase"]), device="meta")
    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    dt = pipe.dtype
    with torch.no_grad(), trace:
        trace.set_phase("encode")
        f = pipe.latent_frames(frames)
        image = pipe.encode_reference(torch.empty((1, 3, height, width), device="meta", dtype=dt), f, g)
        pose = pipe.encode_pose(torch.empty((1, 3, frames, height, width), device="meta", dtype=dt), g)
        text = torch.empty((2, 226, pipe.transformer.config.text_embed_dim), device="meta", dtype=dt)
        cond = Conditioning(text, image, pose, pipe.rotary(height, width, f), 3.0)
        latents = torch.empty_like(image)
        state["phase"] = "denoise"
        trace.set_phase("denoise")
        for st in pipe.denoise(latents, cond, 1, g):
            latents = st.latents
        del cond, image, pose, text
        state["phase"] = "decode"
        trace.set_phase("decode")
        out = pipe.decode_raw(latents)
        del out
    peaks = {k: trace.peaks.get(k, 0) for k in PHASES}
    return {"profile": profile, "frames": frames, "size": f"{width}x{height}", "tiling": tiling,
            "phases_gib": {k: round(v / GiB, 2) for k, v in peaks.items()},
            "peak_gib": round(max(peaks.values()) / GiB, 2), "seconds": round(time.perf_counter() - t0, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="768x1360", help="WIDTHxHEIGHT (the official portrait run is 768x1360)")
    ap.add_argument("--frames", type=int, default=37)
    ap.add_argument("--profiles", default=",".join(PROFILES))
    ap.add_argument("--no-tiling", action="store_true", help="also trace the VAE without tiling")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    from studio.backends.dynamictrl import rules

    rules.check_frames(args.frames)
    rules.check_size(width, height)
    pipe = full_size_pipeline()
    rows = [measure(pipe, args.frames, height, width, p) for p in args.profiles.split(",")]
    if args.no_tiling:
        rows.append(measure(pipe, args.frames, height, width, "none", tiling=False))
    print(f"DynamiCtrl, {args.frames} frames at {width}x{height}, bfloat16, one step (GiB allocated)")
    print("| profile | VAE tiling | " + " | ".join(PHASES) + " | **peak** | target |")
    print("|---|---|" + "---|" * (len(PHASES) + 2))
    for r in rows:
        target = TARGETS_GIB.get(r["profile"]) if r["tiling"] else None
        mark = "" if target is None else f"<= {target:.0f} {'met' if r['peak_gib'] <= target else 'MISSED'}"
        cells = " | ".join(f"{r['phases_gib'][p]:.2f}" for p in PHASES)
        print(f"| {r['profile']} | {'on' if r['tiling'] else 'off'} | {cells} | **{r['peak_gib']:.2f}** | {mark} |")
    t5 = t5_bytes() / GiB
    print(f"T5-XXL encoder kept on the CPU ({t5:.1f} GiB of bf16 weights if it were on the GPU).")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
