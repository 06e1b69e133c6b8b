"""Load a DynamiCtrl release (e.g. the synthetic full-size one) and measure what loading costs.

Runs :func:`studio.backends.dynamictrl.loading.load_pipeline` (CPU, bfloat16: the release's
dtype, so nothing is cast) in a fresh process and prints: load seconds, peak RSS of the process
(whole, and above the RSS after the imports) as a ratio to the largest single weight file, and
the RSS after every weight has been read once (the safetensors files stay memory-mapped, so their
pages become resident when a render first uses them). Target (issue #26): peak RSS during the
load <= 1.3x the largest file. The load average is printed too (wall times depend on it).

    python bench/dynamictrl_release_load.py DIR [--dtype bfloat16|float32]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GB = 1e9


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def child(folder: str, dtype: str) -> None:
    """The measured process: imports, load, touch every weight, print JSON."""
    sys.path.insert(0, str(ROOT))
    import torch

    from studio.backends.dynamictrl.loading import load_pipeline

    base = _rss()
    t0 = time.perf_counter()
    pipe = load_pipeline(folder, "cpu", getattr(torch, dtype))
    seconds = time.perf_counter() - t0
    peak_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    total = 0.0
    models = {"transformer": pipe.transformer, "vae": pipe.vae, "text_encoder": pipe.text_encoder}
    with torch.no_grad():
        for m in models.values():
            for p in m.parameters():
                total += float(p.float().sum())
    print(json.dumps({"seconds": seconds, "base_rss": base, "peak_load": peak_load, "rss_after_touch": _rss(),
                      "tensors": {n: len(m.state_dict()) for n, m in models.items()}, "checksum": total}))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1], argv[2])
        return 0
    folder = Path(argv[0])
    dtype = argv[argv.index("--dtype") + 1] if "--dtype" in argv else "bfloat16"
    files = list(folder.rglob("*.safetensors"))
    largest = max(files, key=lambda p: p.stat().st_size)
    out = subprocess.run([sys.executable, __file__, "--child", str(folder), dtype], check=True,
                         capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    size = largest.stat().st_size
    print(f"release {folder}: {len(files)} weight files, {sum(p.stat().st_size for p in files) / GB:.2f} GB; "
          f"largest {largest.relative_to(folder)} {size / GB:.2f} GB; load average {os.getloadavg()[0]:.1f}")
    print(f"load ({dtype}) {r['seconds']:.1f} s; peak RSS {r['peak_load'] / GB:.2f} GB = {r['peak_load'] / size:.2f}x "
          f"the largest file ({(r['peak_load'] - r['base_rss']) / GB:.2f} GB above the {r['base_rss'] / GB:.2f} GB "
          f"after imports; target <= 1.3x); RSS after reading every weight once {r['rss_after_touch'] / GB:.2f} GB")
    print("tensors per component: " + ", ".join(f"{k} {v}" for k, v in r["tensors"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
