"""Load a StableAnimator release (e.g. the synthetic full-size one) and measure what loading costs.

Runs ``load_components`` (CPU, the checkpoints' dtype) in a fresh process and prints: load seconds,
peak RSS of the process (whole, and above the RSS after the imports) as a ratio to the largest
single weight file, and the RSS after every weight has been read once (the ``.pth`` files stay
memory-mapped, so their pages become resident when a render first uses them; the safetensors
files are read). Target (issue #25): peak RSS during the load <= 1.3x the largest file. The load
average is printed too (wall times depend on it).

    python bench/stableanimator_release_load.py DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_measure import measure_child, report  # noqa: E402

COMPONENTS = ("unet", "vae", "image_encoder", "pose_net", "face_encoder")


def child(folder: str) -> None:
    """The measured process: StableAnimator's ``load_components`` on the CPU."""
    from studio.backends.stableanimator.components import load_components

    def load():
        c = load_components(folder)
        return {n: getattr(c, n) for n in COMPONENTS}

    measure_child(load)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        child(argv[1])
        return 0
    folder = Path(argv[0])
    files = [p for p in folder.rglob("*") if p.suffix in (".pth", ".safetensors")]
    return report(__file__, folder, files, [str(folder)])


if __name__ == "__main__":
    raise SystemExit(main())
