"""DynamiCtrl GPU memory at full size, measured without a GPU: a meta-device allocation trace.

Builds the release-size models (CogVideoX1.5-5B-I2V transformer with PA-LN: 42 blocks x 3072;
the CogVideoX VAE; the T5-XXL encoder) on the ``meta`` device in bfloat16 -- no memory, no
arithmetic -- and runs the studio's DynamiCtrl pipeline code on them, phase by phase:

* text: T5 on the 226-token prompt, once per CFG half (as the official pipeline);
* encode: the VAE posterior of the reference, then of the whole pose video;
* denoise: ``--steps`` DPM steps, the FULL 42-block transformer on the CFG batch of 2 (a
  full-size meta trace takes seconds, so no block is extrapolated);
* decode: the VAE decode of the pass and the float frames (what goes to the CPU).

The X-Dyna :class:`~studio.backends.xdyna.memtrace.MemoryTrace` counts the live activation
bytes (a TorchDispatchMode on the meta tensors: each new storage counted once, uncounted when
freed). Attention is counted as the fused SDPA kernel CUDA runs at bf16 (flash /
memory-efficient): its output and a float32 log-sum-exp row per query, never the queries x
keys score matrix (on the meta device SDPA would decompose into the math kernel and count it).

Weights are not traced: each offload profile's resident weights per phase are added from the
parameter bytes of what :mod:`studio.backends.dynamictrl.placement` keeps on the device:

* none: transformer + VAE for the whole render;
* model: the transformer while denoising, the VAE while encoding/decoding (model CPU offload);
* sequential: the transformer's non-block parts, plus one part of one block at a time (norm,
  PA-LN, attention or feed-forward); the VAE encoder or decoder while it runs;
  (tests/dynamictrl/test_vram_model.py checks these sums against ``Placement.on_device``;)
* T5: on the CPU (``cpu_text_encoder``, the default; only its 226 x 4096 states reach the
  GPU), or on the GPU for the text phase (whole; block by block under sequential).

Goals (issue #26) at 768x1360 x 37 frames: none <= 24 GiB, model <= 12 GiB, sequential <= 6
GiB, judged on the default placement (T5 on the CPU, VAE tiling on as the official script).
Each profile's activations are traced with its own pieces (``placement.LOW_MEMORY``: none the
official batching; model the chunked feed-forward and rotary and the CFG halves one after the
other; sequential the chunks).

    python bench/vram_model.py --backend dynamictrl [--size 768x1360] [--frames 37] [--check] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from studio.backends.xdyna.memtrace import GiB, MemoryTrace  # noqa: E402

PHASES = ("text", "encode", "denoise", "decode")
PROFILES = ("none", "model", "sequential")
TARGETS_GIB = {"none": 24.0, "model": 12.0, "sequential": 6.0}
#: The modelling assumptions, printed with the figures.
ASSUMPTIONS = (
    "figures are bytes allocated by tensors (torch.cuda.memory_allocated); the CUDA context "
    "(~0.5 GiB), the caching allocator's reserve/fragmentation and cuDNN/cuBLAS workspaces come on "
    "top (nvidia-smi shows more)",
    "attention = fused SDPA (flash / memory-efficient, what CUDA picks at bf16, head dim 64, no "
    "mask): output + float32 log-sum-exp per query; the score matrix is NOT held",
    "the full 42-block transformer is traced (not one block times 42), guidance > 1 (CFG), each "
    "profile with its own pieces (none: CFG batch 2; model: CFG halves one after the other, feed-forward "
    "in 4096-token chunks, rotary 8 heads at a time; sequential: the chunks, CFG batch 2)",
    "VAE: diffusers' AutoencoderKLCogVideoX code as is (frame batches of 2 latent / 8 sample "
    "frames; tiling as configured; slicing is on but the batch is 1, so it changes nothing)",
    "weights: parameter bytes of what the profile keeps on the device in that phase (placement.py); "
    "moved weights are freed at once (no allocator reserve kept)",
    "one prompt pair and one pass; a longer clip repeats passes and does not add memory",
)


def nbytes(module: torch.nn.Module) -> int:
    """Parameter and buffer bytes of ``module`` (tied weights once)."""
    return sum(t.numel() * t.element_size() for t in [*module.parameters(), *module.buffers()])


def build_pipeline(transformer_cfg: dict, vae_cfg: dict, t5_cfg: dict, device: str = "meta",
                   dtype: torch.dtype = torch.bfloat16):
    """(pipeline, T5 encoder) with random/empty weights built on ``device`` (meta: no memory)."""
    from diffusers import AutoencoderKLCogVideoX
    from synthetic_releases.dynamictrl import SCHEDULER
    from transformers import T5Config, T5EncoderModel

    from studio.backends.dynamictrl.pipeline import DynamiCtrlPipeline
    from studio.backends.dynamictrl.transformer import DynamiCtrlTransformer

    with torch.device(device):
        transformer = DynamiCtrlTransformer(**transformer_cfg).to(dtype).eval()
        vae = AutoencoderKLCogVideoX(**vae_cfg).to(dtype).eval()
        t5 = T5EncoderModel(T5Config(**t5_cfg)).to(dtype).eval()
    return DynamiCtrlPipeline(transformer, vae, t5, None, SCHEDULER, device=device, dtype=dtype), t5


def full_size_pipeline(dtype: torch.dtype = torch.bfloat16):
    """The release-size models on the meta device (configs: tools/synthetic_releases/dynamictrl.py)."""
    from synthetic_releases.dynamictrl import FULL_T5, FULL_TRANSFORMER, FULL_VAE, FULL_VOCAB

    return build_pipeline(FULL_TRANSFORMER, FULL_VAE, dict(FULL_T5, vocab_size=FULL_VOCAB), "meta", dtype)


def weight_bytes(pipe, t5) -> dict[str, int]:
    """Bytes of each model and of the parts that sequential offload moves one at a time."""
    tr, vae = pipe.transformer, pipe.vae
    blocks = [nbytes(b) for b in tr.transformer_blocks]
    parts = [nbytes(part) for b in tr.transformer_blocks for part in b.children()]
    t5_blocks = [nbytes(b) for b in t5.encoder.block]
    return {"transformer": nbytes(tr), "transformer block": max(blocks),
            "transformer block part": max(parts), "transformer rest": nbytes(tr) - sum(blocks),
            "vae": nbytes(vae), "vae encoder": nbytes(vae.encoder), "vae decoder": nbytes(vae.decoder),
            "t5": nbytes(t5), "t5 block": max(t5_blocks), "t5 rest": nbytes(t5) - sum(t5_blocks)}


def resident(w: dict[str, int], offload: str, t5_gpu: bool, phase: str) -> int:
    """Weight bytes on the device during ``phase`` (mirrors :mod:`~studio.backends.dynamictrl.placement`)."""
    if offload == "none":
        base = w["transformer"] + w["vae"]
        return base + (w["t5"] if t5_gpu and phase == "text" else 0)
    if offload == "model":
        return {"text": w["t5"] if t5_gpu else 0, "encode": w["vae"], "denoise": w["transformer"],
                "decode": w["vae"]}[phase]
    base = w["transformer rest"]
    return base + {"text": w["t5 rest"] + w["t5 block"] if t5_gpu else 0, "encode": w["vae encoder"],
                   "denoise": w["transformer block part"], "decode": w["vae decoder"]}[phase]


def trace_phases(pipe, t5, frames: int, height: int, width: int, offload: str = "none", tiling: bool = True,
                 guidance: float = 3.0, steps: int = 3, vae: bool = True) -> dict[str, int]:
    """Peak live activation bytes per phase of one pass (weights excluded), on ``pipe.device``.

    The text phase's figure is T5 running on the device; what stays after it (the states) is
    counted in every later phase, as is everything the pass keeps (conditioning, latents).
    The transformer computes in the pieces of profile ``offload`` (chunks, CFG halves:
    :data:`~studio.backends.dynamictrl.placement.LOW_MEMORY`). ``vae=False`` skips the VAE
    phases (zero latents of the same shapes stand in for the encodes)."""
    from studio.backends.dynamictrl.pipeline import Conditioning
    from studio.backends.dynamictrl.placement import LOW_MEMORY, set_low_memory

    (pipe.vae.enable_tiling if tiling else pipe.vae.disable_tiling)()
    set_low_memory(pipe, *LOW_MEMORY[offload])
    dev, dt = pipe.device, pipe.dtype
    trace = MemoryTrace(device=dev.type)
    g = torch.Generator().manual_seed(0)
    k = 2 if guidance > 1.0 else 1
    s = pipe.spatial_factor
    with torch.no_grad(), trace:
        trace.set_phase("text")
        ids = torch.zeros((1, 226), dtype=torch.long, device=dev)
        text = torch.cat([t5(ids)[0].to(dt) for _ in range(k)])
        del ids
        trace.set_phase("encode")
        f = pipe.latent_frames(frames)
        if vae:
            image = pipe.encode_reference(torch.zeros((1, 3, height, width), device=dev, dtype=dt), f, g)
            pose = pipe.encode_pose(torch.zeros((1, 3, frames, height, width), device=dev, dtype=dt), g)
        else:
            image = torch.zeros((1, f, 16, height // s, width // s), device=dev, dtype=dt)
            pose = torch.zeros_like(image)
        trace.set_phase("denoise")
        cond = Conditioning(text, image, pose, pipe.rotary(height, width, f), guidance)
        latents = pipe.initial_noise(f, height, width, g)
        for state in pipe.denoise(latents, cond, steps, g):
            latents = state.latents
        if vae:
            trace.set_phase("decode")
            video = pipe.decode_video(latents, frames)
            del video
        del state, latents, cond, image, pose, text
    set_low_memory(pipe, False)
    pipe.vae.enable_tiling()
    return {p: trace.peaks[p] for p in PHASES if p in trace.peaks}


def rows_for(w: dict[str, int], acts: dict[tuple[str, bool], dict[str, int]], text_states: int) -> list[dict]:
    """One row per profile x VAE tiling x T5 placement: the peak phase's weights, activations,
    total. ``acts[(profile, tiling)]``: :func:`trace_phases` under that profile's pieces."""
    rows = []
    for (offload, tiling), a in acts.items():
        for t5_gpu in (False, True):
            per = {p: (resident(w, offload, t5_gpu, p), a[p] if (p != "text" or t5_gpu) else text_states)
                   for p in PHASES}
            phase = max(per, key=lambda p: sum(per[p]))
            rows.append({"profile": offload, "t5": "GPU" if t5_gpu else "CPU", "tiling": tiling,
                         "peak_phase": phase, "weights_gib": per[phase][0] / GiB,
                         "activation_gib": per[phase][1] / GiB, "total_gib": sum(per[phase]) / GiB,
                         "phases_gib": {p: sum(v) / GiB for p, v in per.items()}})
    return rows


def verdict(row: dict) -> str:
    """Goal check of a row, with what would close a miss."""
    goal = TARGETS_GIB[row["profile"]]
    if row["total_gib"] <= goal:
        return f"<= {goal:.0f} met ({goal - row['total_gib']:.1f} spare)"
    fix = {"text": "keep T5 on the CPU (cpu_text_encoder, the default)",
           "encode": "VAE tiling" if not row["tiling"] else "smaller VAE tiles",
           "decode": "VAE tiling" if not row["tiling"] else "smaller VAE tiles",
           "denoise": "fewer transformer weights on the device (sequential offload) or smaller activations: "
                      "CFG halves one after the other, chunked feed-forward, fewer frames per pass"}[row["peak_phase"]]
    return f"<= {goal:.0f} MISSED by {row['total_gib'] - goal:.1f} ({row['peak_phase']}): {fix}"


def print_report(frames: int, width: int, height: int, pipe, w: dict[str, int],
                 acts: dict[tuple[str, bool], dict[str, int]], rows: list[dict], seconds: float) -> None:
    f = pipe.latent_frames(frames)
    s = pipe.spatial_factor
    p, pt = pipe.transformer.config.patch_size, pipe.transformer.config.patch_size_t
    tokens = (f // pt) * (height // s // p) * (width // s // p)
    heads = pipe.transformer.config.num_attention_heads
    vae = pipe.vae
    print(f"DynamiCtrl GPU memory, {frames} frames at {width}x{height} (WxH), bfloat16, meta-device trace "
          f"({seconds:.0f} s)")
    print(f"latents {f} x {height // s} x {width // s}; {tokens} video + 226 text tokens per CFG half; "
          f"a materialised score matrix would be {2 * heads * (tokens + 226) ** 2 * 2 / GiB:.0f} GiB per block "
          "(not held by the fused kernel)")
    print(f"VAE tiles: {vae.tile_sample_min_height}x{vae.tile_sample_min_width} px samples "
          f"(overlap {vae.tile_overlap_factor_height:.3f} / {vae.tile_overlap_factor_width:.3f}), "
          f"{vae.num_latent_frames_batch_size} latent / {vae.num_sample_frames_batch_size} sample frames per batch")
    print("\nweights (GiB, bf16): " + ", ".join(f"{k} {v / GiB:.2f}" for k, v in w.items()))
    print("\nactivation peaks per phase (GiB; text = T5 on the GPU; the profile sets the transformer's pieces):")
    print("| profile | VAE tiling | " + " | ".join(PHASES) + " |\n|---|---|" + "---|" * len(PHASES))
    for (offload, tiling), a in acts.items():
        print(f"| {offload} | {'on' if tiling else 'off'} | " + " | ".join(f"{a[p] / GiB:.2f}" for p in PHASES) + " |")
    print("\nper profile (GiB at the peak phase; total = weights resident + activations):")
    print("| profile | T5 | VAE tiling | peak phase | weights | activations | **total** | goal |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['profile']} | {r['t5']} | {'on' if r['tiling'] else 'off'} | {r['peak_phase']} | "
              f"{r['weights_gib']:.2f} | {r['activation_gib']:.2f} | **{r['total_gib']:.2f}** | {verdict(r)} |")
    print("\nassumptions:\n" + "\n".join(f"- {a}" for a in ASSUMPTIONS))


def missed_goals(rows: list[dict]) -> list[dict]:
    """Rows of the default placement (T5 on the CPU, VAE tiling on) above their profile's goal."""
    return [r for r in rows if r["t5"] == "CPU" and r["tiling"] and r["total_gib"] > TARGETS_GIB[r["profile"]]]


def main(argv: list[str] | None = None, pipeline=None) -> int:
    """The command line (module docstring); ``pipeline``: (pipe, T5) to trace instead of the
    full-size meta models (the tests pass a tiny one)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="768x1360", help="WIDTHxHEIGHT (the official portrait run: 768x1360)")
    ap.add_argument("--frames", type=int, default=37)
    ap.add_argument("--steps", type=int, default=3, help="steps traced (3 reaches the scheduler's 2nd-order branch)")
    ap.add_argument("--profiles", nargs="+", choices=PROFILES, default=list(PROFILES))
    ap.add_argument("--tiling", choices=("both", "on", "off"), default="both", help="VAE tiling traced")
    ap.add_argument("--check", action="store_true", help="exit 1 if a goal is missed (T5 on the CPU, tiling on)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    from studio.backends.dynamictrl import rules

    rules.check_frames(args.frames)
    rules.check_size(width, height)
    t0 = time.perf_counter()
    pipe, t5 = pipeline or full_size_pipeline()
    w = weight_bytes(pipe, t5)
    tilings = {"both": (True, False), "on": (True,), "off": (False,)}[args.tiling]
    acts = {(o, t): trace_phases(pipe, t5, args.frames, height, width, o, t, steps=args.steps)
            for o in args.profiles for t in tilings}
    text_states = 2 * 226 * pipe.transformer.config.text_embed_dim * pipe.dtype.itemsize  # T5 on the CPU
    rows = rows_for(w, acts, text_states)
    print_report(args.frames, width, height, pipe, w, acts, rows, time.perf_counter() - t0)
    print(f"(load average {os.getloadavg()[0]:.1f}; the figures are bytes, not time)")
    if args.json:
        args.json.write_text(json.dumps({"frames": args.frames, "size": f"{width}x{height}",
                                         "weights_gib": {k: v / GiB for k, v in w.items()},
                                         "rows": rows}, indent=1) + "\n")
    missed = missed_goals(rows)
    if args.check and missed:
        print("MISSED: " + ", ".join(f"{r['profile']} {r['total_gib']:.2f} GiB" for r in missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
