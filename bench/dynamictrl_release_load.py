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

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_measure import measure_child, report  # noqa: E402


def child(folder: str, dtype: str) -> None:
    """The measured process: DynamiCtrl's loader on the CPU in ``dtype``."""
    import torch

    from studio.backends.dynamictrl.loading import load_pipeline

    def load():
        pipe = load_pipeline(folder, "cpu", getattr(torch, dtype))
        return {"transformer": pipe.transformer, "vae": pipe.vae, "text_encoder": pipe.text_encoder}

    measure_child(load)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1], argv[2])
        return 0
    folder = Path(argv[0])
    dtype = argv[argv.index("--dtype") + 1] if "--dtype" in argv else "bfloat16"
    files = list(folder.rglob("*.safetensors"))
    return report(__file__, folder, files, [str(folder), dtype], what=f"load ({dtype})")


if __name__ == "__main__":
    raise SystemExit(main())
