"""Import set-up for running the official DynamiCtrl code on a CPU-only venv.

* ``dynamictrl.models.modules.cross_attention`` (the unused "cross_attention" pose mode; it
  imports timm, which needs a CUDA torchvision) is replaced by a module whose class refuses to
  be built. The "padaln" mode the release uses never builds it.
* ``torchvision`` and ``decord`` stand-ins (``stubs/``) are put on the path only after
  transformers has looked for torchvision, so transformers sees none and the official
  ``utils/load_validation_control.py`` imports.

Call :func:`setup` with the folder the official repo was exported to, before importing it.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path

STUBS = Path(__file__).resolve().parent / "stubs"


class _NoCrossAttention:
    def __init__(self, *args, **kwargs) -> None:
        raise RuntimeError("cross_attention pose mode is not reproduced by the harness (padaln only)")


def setup(official_root: Path | str) -> None:
    """Make ``official_root`` importable with the stand-ins described above."""
    import transformers  # noqa: F401  (let it look for torchvision first)
    import transformers.utils.import_utils  # noqa: F401
    import diffusers  # noqa: F401

    root = str(Path(official_root).resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    stub = types.ModuleType("dynamictrl.models.modules.cross_attention")
    stub.CrossAttention = _NoCrossAttention
    sys.modules["dynamictrl.models.modules.cross_attention"] = stub
    if str(STUBS) not in sys.path:
        sys.path.append(str(STUBS))
