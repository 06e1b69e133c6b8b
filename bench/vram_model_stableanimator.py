"""StableAnimator GPU memory at full size, measured without a GPU (``vram_model.py --backend stableanimator``).

Builds every model at SVD-xt's real size (UNet 320-1280 channels with the ID adapter, temporal
VAE, CLIP ViT-H/14, PoseNet, face encoder 1024 wide) on the ``meta`` device in float16 -- no
memory, no arithmetic -- and runs the real pipeline code on it: ``prepare`` (CLIP, face encoder,
VAE encode of the photo, PoseNet over every tile), one denoising step over every tile (the UNet
on [uncond, cond] x 16 frames, batched) and the VAE decode of one chunk (``decode_chunk_size``
frames). :class:`~studio.backends.xdyna.memtrace.MemoryTrace` counts live tensor bytes (fused
attention without its score matrix) plus the weights on the device, and reports the peak of
each phase:

* weights: every model resident (StableAnimator's official setup), or with model offload the most
  weights on the device at once (each model there only for its phase: the UNet while denoising);
* prepare: encoders and PoseNet features of every tile;
* UNet call: one tile with CFG;
* VAE decode: one chunk;
* HJB (``--hjb``; the official pro path): one refine iteration of the face optimisation: the
  decode of the whole clip with gradients (each chunk of ``decode_chunk_size`` frames
  checkpointed, :mod:`studio.backends.stableanimator.hjb`; ``no-ckpt``: every chunk's graph
  kept), the 112x112 face crops through the full ArcFace iresnet100 (resident on the device),
  the loss and its backward pass to ``z0``. Attention, also in the backward pass and in the
  recomputation of a checkpointed chunk, is counted as a fused kernel allocates it;
* peak: the largest.

Target (issue #25): <= 8 GiB at 512x512 for 16 frames (the official README reports ~8 GB).

Both settings are printed, every model resident and model offload (``model_offload``), one row each.

    python bench/vram_model.py --backend stableanimator [--frames 16 32] [--size 512x512] [--hjb] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from studio.backends.stableanimator.iresnet import IResNet  # noqa: E402
from studio.backends.stableanimator.components import Components, empty_models  # noqa: E402
from studio.backends.stableanimator.hjb import HJBSettings  # noqa: E402
from studio.backends.stableanimator.pipeline import RenderRequest, StableAnimatorPipeline  # noqa: E402
from studio.backends.xdyna.memtrace import GiB, MemoryTrace  # noqa: E402
from synthetic_releases.stableanimator import full_configs  # noqa: E402

PHASES = ("weights", "prepare", "unet", "decode", "hjb")
TARGET_GIB = 8.0


class _MetaFusedAttention(torch.autograd.Function):
    """SDPA on the meta device as a fused kernel allocates it, forward and backward: the output and a
    float32 log-sum-exp row per query (kept for the backward pass), gradients of q, k, v; no score matrix."""

    @staticmethod
    def forward(ctx, query, key, value):  # noqa: D102
        lse = torch.empty(query.shape[:-1], dtype=torch.float32, device=query.device)
        out = query.new_empty((*query.shape[:-1], value.shape[-1]))
        ctx.save_for_backward(query, key, value, out, lse)
        return out

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        query, key, value, _, _ = ctx.saved_tensors
        return torch.empty_like(query), torch.empty_like(key), torch.empty_like(value)


@contextlib.contextmanager
def fused_attention_everywhere():
    """``F.scaled_dot_product_attention`` on meta tensors as :class:`_MetaFusedAttention`, also where the
    trace's function mode does not reach (the recomputation of a checkpointed chunk in the backward pass)."""
    original = F.scaled_dot_product_attention

    def sdpa(query, key, value, *args, **kwargs):
        if query.device.type == "meta":
            return _MetaFusedAttention.apply(query, key, value)
        return original(query, key, value, *args, **kwargs)

    F.scaled_dot_product_attention = sdpa
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original


def full_size_components(hjb: bool = False) -> Components:
    """Every model at full size with its parameters on the ``meta`` device (``hjb``: with ArcFace)."""
    from transformers import CLIPVisionConfig

    cfg = full_configs()
    clip = {k: v for k, v in cfg["image_encoder"].items() if k not in ("architectures", "model_type")}
    m = empty_models(cfg["unet"], cfg["vae"], CLIPVisionConfig(**clip))
    return Components(unet=m["unet"], vae=m["vae"], image_encoder=m["image_encoder"], pose_net=m["pose_net"],
                      face_encoder=m["face_encoder"], scheduler_config=cfg["scheduler"],
                      arcface=IResNet().to("meta") if hjb else None)


def full_size_pipeline(device: str = "meta", dtype: torch.dtype = torch.float16, hjb: bool = False,
                       offload: bool = False) -> StableAnimatorPipeline:
    """The pipeline with every model at full size on ``device`` (parameters only, no values on meta);
    ``hjb``: with the ArcFace iresnet100 of the HJB path; ``offload``: model offload (each model counted
    on the device only in its phase, :mod:`studio.backends.stableanimator.placement`)."""
    pipe = StableAnimatorPipeline(full_size_components(hjb), device=device, dtype=dtype, offload=offload)
    pipe.scheduler_device = torch.device("cpu")  # meta sigmas cannot be compared with a float
    return pipe


def measure(pipe: StableAnimatorPipeline, frames: int, height: int, width: int, tile: int = 16,
            chunk: int = 4, hjb: str | None = None) -> dict:
    """Peak bytes per phase of one step of a ``frames``-frame render (any device; meta for full size);
    ``hjb`` ``"ckpt"`` / ``"no-ckpt"`` adds one HJB refine iteration (checkpointed decode chunks or not)."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    req = RenderRequest(reference=rng.integers(0, 256, (height, width, 3), dtype=np.uint8),
                        poses=np.zeros((frames, height, width, 3), np.uint8), face_embedding=np.zeros(512, np.float32),
                        steps=1, tile_size=tile, tile_overlap=4, decode_chunk_size=chunk,
                        hjb=HJBSettings(0, 0, 1) if hjb else None, hjb_checkpoint=hjb == "ckpt",
                        face_boxes=np.tile([[height // 4, height // 2, width // 3, 2 * width // 3]], (frames, 1)),
                        reference_face_box=(height // 4, height // 2, width // 3, 2 * width // 3))
    placement = pipe.placement
    placement.release()  # an offloaded render starts with nothing on the device
    placement.peak_bytes = placement.device_bytes
    trace = MemoryTrace(weights=lambda: placement.device_bytes, device=pipe.device)
    attention = fused_attention_everywhere() if hjb else contextlib.nullcontext()
    with torch.no_grad(), attention, trace:
        trace.set_phase("weights")
        with trace.phase("prepare"):
            prep = pipe.prepare(req)
        refiner, prep.refiner = prep.refiner, None  # measured on its own below
        with trace.phase("unet"):
            state = next(iter(pipe.denoise(prep)))
        with trace.phase("decode"):
            z = state.latents[0, :chunk] / pipe.c.vae.config.scaling_factor
            pipe.c.vae.decode(z, num_frames=chunk)
        del z
        if refiner is not None:
            with trace.phase("hjb"):
                refiner.refine(state.denoised, 0, 1)
        del prep, state, refiner
    phases = {k: v for k, v in trace.peaks.items() if k in PHASES}
    phases["weights"] = placement.peak_bytes  # the most weights on the device at once
    return {"frames": frames, "size": f"{height}x{width}", "hjb": hjb or "off", "chunk": chunk,
            "models": "offload" if placement.offload else "resident",
            "phases_gib": {k: v / GiB for k, v in phases.items()},
            "peak_gib": trace.peak / GiB, "seconds": time.perf_counter() - start}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--size", default="512x512", help="HxW in pixels (default 512x512)")
    ap.add_argument("--hjb", action="store_true", help="also the HJB face optimisation (checkpointed decode and not)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    h, w = (int(v) for v in a.size.lower().split("x"))
    rows = []
    for offload in (False, True):
        pipe = full_size_pipeline(offload=offload)
        rows += [measure(pipe, n, h, w) for n in a.frames]
        if a.hjb:
            pipe = full_size_pipeline(hjb=True, offload=offload)
            rows += [measure(pipe, n, h, w, chunk=c, hjb=mode) for mode, c in (("ckpt", 4), ("ckpt", 1), ("no-ckpt", 4))
                     for n in a.frames]
    print(f"StableAnimator, float16, {h}x{w} (target <= {TARGET_GIB} GiB at 16 frames 512x512); models: resident = "
          "every model on the device (official), offload = each model on the device only for its phase "
          "(weights: the most at once)")
    print(f"{'models':>8} {'HJB':>7} {'chunk':>5} {'frames':>6} " + " ".join(f"{p:>9}" for p in PHASES)
          + f" {'peak':>9}")
    for r in rows:
        print(f"{r['models']:>8} {r['hjb']:>7} {r['chunk']:>5} {r['frames']:>6} "
              + " ".join(f"{r['phases_gib'].get(p, 0):9.2f}" for p in PHASES) + f" {r['peak_gib']:9.2f}")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
