"""Benchmark one X-Dyna UNet3D call (random weights): calls/s, frames/s, and where the time goes.

    python bench/unet3d_bench.py                                  # "medium" width, 32x24 latents, CPU fp32
    python bench/unet3d_bench.py --width sd15 --latent 112x64 --device cuda --dtype float16
    python bench/unet3d_bench.py --profile                        # top operators by self time

A call is what the sampler runs per window: 2 CFG halves x (1 reference + 16 frames), with
ControlNet residuals. ``sd15`` is the real size (1.32 B values); ``medium`` and ``tiny`` shrink
the channels so a CPU run finishes. Prints the machine load, because other work on the cores
skews CPU numbers. The ratio line compares the per-frame cost with a 1-frame window, which
shows what the reference frame and the fixed per-call work cost.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from studio.backends.xdyna.unet3d import XDynaUNet3D  # noqa: E402

WIDTHS = {
    "tiny": {"block_out_channels": [32, 32, 32, 32], "attention_head_dim": 2, "layers_per_block": 1},
    "medium": {"block_out_channels": [64, 128, 256, 256], "attention_head_dim": 8, "layers_per_block": 2},
    "sd15": {"block_out_channels": [320, 640, 1280, 1280], "attention_head_dim": 8, "layers_per_block": 2},
}


def _load() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"
    except OSError:
        return "load average unknown"


def _inputs(unet: XDynaUNet3D, frames: int, height: int, width: int, device: str) -> tuple:
    gen = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, frames, height, width, generator=gen)
    context = torch.randn(2, 93, unet.config.cross_attention_dim, generator=gen)
    downs = [torch.randn(s, generator=gen) * 0.1 for s in unet.skip_shapes(2, frames, height, width)]
    mid_shape = (2, unet.config.block_out_channels[-1], frames, *downs[-1].shape[-2:])
    mid = torch.randn(mid_shape, generator=gen) * 0.1
    move = lambda x: x.to(device=device, dtype=unet.dtype)  # noqa: E731
    return move(sample), move(context), [move(d) for d in downs], move(mid)


def _time_call(unet: XDynaUNet3D, inputs: tuple, repeats: int, device: str) -> float:
    sample, context, downs, mid = inputs
    with torch.inference_mode():
        unet(sample, 500, context, downs, mid)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            unet(sample, 500, context, downs, mid)
        if device == "cuda":
            torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", choices=sorted(WIDTHS), default="medium")
    parser.add_argument("--latent", default="32x24", help="latent HxW (image size / 8)")
    parser.add_argument("--frames", type=int, default=16, help="window frames (the reference is added)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="print the top operators of one call")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    height, width = (int(v) for v in args.latent.lower().split("x"))

    config = {**WIDTHS[args.width], "cross_attention_dim": 768}
    with torch.device("meta"):
        unet = XDynaUNet3D.from_config(config)
    unet = unet.to_empty(device=args.device).to(getattr(torch, args.dtype)).eval()
    with torch.no_grad():
        for p in unet.parameters():
            p.normal_(0.0, 0.02)
    values = sum(p.numel() for p in unet.state_dict().values())
    print(_load())
    print(f"UNet3D width={args.width} ({values / 1e9:.3f} B values), {args.device} {args.dtype}, latent {height}x{width}")

    full = _inputs(unet, args.frames + 1, height, width, args.device)
    seconds = _time_call(unet, full, args.repeats, args.device)
    frames = 2 * (args.frames + 1)
    print(f"window call (2 x {args.frames + 1} frames): {seconds * 1000:.1f} ms, "
          f"{1 / seconds:.2f} calls/s, {frames / seconds:.1f} frames/s")
    single = _time_call(unet, _inputs(unet, 2, height, width, args.device), args.repeats, args.device)
    print(f"per-frame cost of a 16-frame window vs a 1-frame window: {(seconds / frames) / (single / 4):.2f}x")
    if args.device == "cuda":
        print(f"peak CUDA memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    if args.profile:
        sample, context, downs, mid = full
        with torch.inference_mode(), torch.profiler.profile() as prof:
            unet(sample, 500, context, downs, mid)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
