"""What loading a release costs, measured in a fresh process (shared by the per-backend
``*_release_load.py`` benches).

The parent runs ``SCRIPT --child ...`` and reads one JSON line; the child imports, loads with the
backend's own loader, reads every weight once and prints load seconds, its RSS after the imports,
its peak RSS during the load and its RSS after touching the weights. :func:`report` prints them
as a ratio to the largest single weight file (target for every backend: <= 1.3x).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

GB = 1e9


def rss() -> int:
    """This process's resident set size in bytes (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def measure_child(load: Callable[[], dict[str, Any]]) -> None:
    """In the child: time ``load()`` (-> name: torch module), touch every weight, print JSON."""
    import torch

    base = rss()
    t0 = time.perf_counter()
    models = load()
    seconds = time.perf_counter() - t0
    peak_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    total = 0.0
    with torch.no_grad():
        for m in models.values():
            for p in m.parameters():
                total += float(p.float().sum())
    print(json.dumps({"seconds": seconds, "base_rss": base, "peak_load": peak_load, "rss_after_touch": rss(),
                      "tensors": {n: len(m.state_dict()) for n, m in models.items()}, "checksum": total}))


def report(script: str, folder: Path, files: Sequence[Path], child_args: Sequence[str], what: str = "load") -> int:
    """In the parent: run ``script --child *child_args`` and print the figures against the largest of
    ``files``."""
    largest = max(files, key=lambda p: p.stat().st_size)
    out = subprocess.run([sys.executable, script, "--child", *child_args], check=True,
                         capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    size = largest.stat().st_size
    print(f"release {folder}: {len(files)} weight files, {sum(p.stat().st_size for p in files) / GB:.2f} GB; "
          f"largest {largest.relative_to(folder)} {size / GB:.2f} GB; load average {os.getloadavg()[0]:.1f}")
    print(f"{what} {r['seconds']:.1f} s; peak RSS {r['peak_load'] / GB:.2f} GB = {r['peak_load'] / size:.2f}x the "
          f"largest file ({(r['peak_load'] - r['base_rss']) / GB:.2f} GB above the {r['base_rss'] / GB:.2f} GB "
          f"after imports; target <= 1.3x); RSS after reading every weight once {r['rss_after_touch'] / GB:.2f} GB")
    print("tensors per component: " + ", ".join(f"{k} {v}" for k, v in r["tensors"].items()))
    return 0
