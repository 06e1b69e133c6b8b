"""Load an X-Dyna release (e.g. the synthetic full-size one) and measure what loading costs.

Each mode runs in a fresh process, so its peak RSS is its own:

* ``cpu-fp32``: ``load_components(device="cpu", dtype=float32)``, what a CPU render loads;
* ``device-fp16``: a simulated GPU load. Every component is read, then cast to float16 tensor by
  tensor before the next component is read. Each cast tensor is summed, so its bytes are really
  read, and then handed to a "device": it is dropped from host memory, as a copy to VRAM would be.

Printed per mode: load seconds, peak RSS (whole process, and above the RSS after the imports)
as a ratio to the largest single checkpoint file, and the RSS after every weight was read once
(cpu-fp32 keeps the weights mapped from their files, so they become resident when a render first
uses them). Also printed: the tensors each file provided per component (key coverage). Targets:
peak RSS <= 1.3x the largest file for cpu-fp32 and <= 0.7x for device-fp16. Wall times depend on
the machine's load, which is printed too.

    python bench/release_load.py DIR [--modes cpu-fp32,device-fp16] [--kwargs JSON] [--no-face]

(``--kwargs``: the ``synthetic_release.json`` of a scaled-down synthetic release.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"cpu-fp32": 1.3, "device-fp16": 0.7}


def rss_bytes() -> int:
    """Current resident set size of this process."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def largest_checkpoint(root: Path) -> tuple[Path, int]:
    """The largest weight file under ``root``."""
    files = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".ckpt", ".bin", ".pth", ".safetensors")]
    big = max(files, key=lambda p: p.stat().st_size)
    return big, big.stat().st_size


def _device_sink(dtype):
    """``place`` for load_components: cast tensor by tensor, read it, drop it from host memory."""
    import torch

    from studio.backends.xdyna.loading import MappedPages

    totals = {"bytes": 0, "checksum": 0.0}

    def place(name, model):
        # the same per-tensor file read materialise() does; the float16 cast lands in one reused
        # buffer that stands in for device memory (a real device keeps it, the host does not)
        device_buffer = torch.empty(0, dtype=dtype)
        with MappedPages() as pages:
            for mod in model.modules():
                for attr in ("_parameters", "_buffers"):
                    table = getattr(mod, attr)
                    for key, t in list(table.items()):
                        if t is None:
                            continue
                        raw = pages.read(t.detach())
                        raw = t.detach() if raw is None else raw
                        target = dtype if t.is_floating_point() else t.dtype
                        if target == dtype:
                            if device_buffer.numel() < raw.numel():
                                device_buffer = torch.empty(0, dtype=dtype)
                                device_buffer = torch.empty(raw.numel(), dtype=dtype)
                            half = device_buffer[: raw.numel()].view(raw.shape)
                            half.copy_(raw)
                            totals["checksum"] += float(half.sum(dtype=torch.float32))
                        totals["bytes"] += raw.numel() * torch.empty(0, dtype=target).element_size()
                        meta = torch.empty(raw.shape, dtype=target, device="meta")
                        table[key] = torch.nn.Parameter(meta, requires_grad=False) if attr == "_parameters" else meta
        return model

    return place, totals


def child(args: argparse.Namespace) -> dict:
    """One measured load in this process; returns the figures as a dict."""
    import torch

    from studio.backends.xdyna.components import load_components
    from studio.backends.xdyna.layout import resolve

    kwargs = {}
    if args.kwargs:
        data = json.loads(Path(args.kwargs).read_text())
        kwargs = {k: data[k] for k in ("resampler_kwargs", "motion_module_kwargs") if k in data}
    base = rss_bytes()
    t0 = time.perf_counter()
    src = resolve(args.folder)
    if args.child == "cpu-fp32":
        comps = load_components(src, face=not args.no_face, device="cpu", dtype=torch.float32, **kwargs)
        place_totals = None
    else:
        place, place_totals = _device_sink(torch.float16)
        comps = load_components(src, face=not args.no_face, place=place, **kwargs)
    seconds = time.perf_counter() - t0
    peak = peak_rss_bytes()
    out = {"mode": args.child, "seconds": seconds, "base_rss": base, "peak_rss": peak,
           "provenance": comps.provenance}
    if place_totals is not None:
        out["device_bytes"] = place_totals["bytes"]
    else:  # read every weight once, as the first render step does
        total = 0.0
        for name in ("unet", "controlnet", "controlnet_face", "vae", "text_encoder", "image_encoder", "image_proj"):
            model = getattr(comps, name)
            if model is not None:
                for p in model.parameters():
                    total += float(p.sum())
        out["rss_after_reading_all"] = rss_bytes()
    return out


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def main(argv: list[str] | None = None) -> int:
    """Run every mode in its own process and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, metavar="DIR")
    ap.add_argument("--modes", default="cpu-fp32,device-fp16")
    ap.add_argument("--kwargs", type=Path, help="synthetic_release.json of a scaled-down release")
    ap.add_argument("--no-face", action="store_true", help="leave out the S-Face ControlNet")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    from studio.backends.xdyna.layout import resolve

    root = resolve(args.folder).root
    big, big_size = largest_checkpoint(root)
    print(f"release {root}; largest file {big.relative_to(root)} ({_gb(big_size)}); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures are noisy when it is high)")
    ok = True
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, str(args.folder), "--child", mode]
        if args.kwargs:
            cmd += ["--kwargs", str(args.kwargs)]
        if args.no_face:
            cmd.append("--no-face")
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{mode}: failed\n{run.stderr[-3000:]}")
            ok = False
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        ratio, above = r["peak_rss"] / big_size, (r["peak_rss"] - r["base_rss"]) / big_size
        target = TARGETS[mode]
        ok &= ratio <= target
        print(f"\n{mode}: loaded in {r['seconds']:.1f} s; peak RSS {_gb(r['peak_rss'])} = {ratio:.2f}x the largest "
              f"file (target <= {target}x: {'met' if ratio <= target else 'NOT met'}); "
              f"{_gb(r['peak_rss'] - r['base_rss'])} = {above:.2f}x above the {_gb(r['base_rss'])} after imports")
        if "rss_after_reading_all" in r:
            print(f"  RSS after reading every weight once: {_gb(r['rss_after_reading_all'])} "
                  "(mapped file pages; the kernel can drop and re-read them)")
        if "device_bytes" in r:
            print(f"  handed to the simulated device: {_gb(r['device_bytes'])} of float16")
        print("  tensors per source:")
        for name, provided in r["provenance"].items():
            total = sum(provided.values())
            parts = "; ".join(f"{n} from {_short(s, root)}" for s, n in provided.items())
            print(f"    {name} ({total}): {parts}")
    return 0 if ok else 1


def _short(source: str, root: Path) -> str:
    try:
        return str(Path(source).relative_to(root))
    except ValueError:
        return source


if __name__ == "__main__":
    sys.exit(main())
