"""``studio doctor``: report what this installation can do (it reports; it never fails).

One line per check, ``OK`` / ``MISSING`` / ``ERROR``: Python, PySide6, torch and CUDA (torch is optional
and imported only here, lazily) with, per GPU, its VRAM, compute capability, bf16 and fused-attention
support and the X-Dyna memory setting it needs (default or low-VRAM), mediapipe and whether its models load, ffmpeg, and the X-Dyna
weights folder. The weights folder follows the one rule of :mod:`studio.core.weights_folder`:
``--weights DIR``, else the weights folder of ``--project FILE``, else ``$STUDIO_WEIGHTS_DIR``,
else ``platformdirs.user_data_dir("xdyna-studio")/weights``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.backends import xdyna_install_hint
from studio.core.weights_folder import WEIGHTS_ENV, resolve_weights_dir

#: The official release tree (README of bytedance/X-Dyna), used when the xdyna backend's own
#: ``check_release`` is not available.
RELEASE_TREE = (
    "controlnet/controlnet-checkpoint-epoch-5.ckpt",
    "controlnet_face/controlnet-face-checkpoint-epoch-2.ckpt",
    "unet/unet-checkpoint-epoch-5.ckpt",
    "initialization/controlnets_initialization/controlnet/control_v11p_sd15_openpose",
    "initialization/controlnets_initialization/controlnet_face/controlnet2",
    "initialization/unet_initialization/IP-Adapter/IP-Adapter/models/image_encoder",
    "initialization/unet_initialization/IP-Adapter/IP-Adapter/models/ip-adapter-plus_sd15.bin",
    "initialization/unet_initialization/SD/stable-diffusion-v1-5",
    "initialization/unet_initialization/SD/stable-diffusion-v1-5/unet/animatediff_v15_v1_ipplus.pth",
)


@dataclass(frozen=True)
class Check:
    """One line of the report: ``status`` is ``OK``, ``MISSING`` or ``ERROR``."""

    status: str
    name: str
    detail: str


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> list[Check]:
    """The interpreter."""
    return [Check("OK", "python", f"{platform.python_version()} ({sys.executable})")]


def check_qt() -> list[Check]:
    """PySide6 (for the window), by its installed version; Qt itself is not loaded."""
    version = _version("PySide6-Essentials") or _version("PySide6")
    if version is None:
        return [Check("MISSING", "PySide6", "not installed: the studio window cannot open (the commands work); "
                      "`pip install PySide6-Essentials==6.11.3`")]
    return [Check("OK", "PySide6", version)]


def check_torch() -> list[Check]:
    """torch (optional) and CUDA."""
    try:
        torch = importlib.import_module("torch")
    except ModuleNotFoundError as err:
        if err.name != "torch":
            return [Check("ERROR", "torch", f"installed but fails to import: {err!r}")]
        return [Check("MISSING", "torch", "the draft renderer works; " + xdyna_install_hint(["torch"]))]
    except Exception as err:  # a broken install must not stop the report
        return [Check("ERROR", "torch", f"installed but fails to import: {err!r}")]
    checks = [Check("OK", "torch", torch.__version__)]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("OK", "cuda", f"CUDA {torch.version.cuda}: {names}"))
        checks += check_gpus()
    else:
        checks.append(Check("MISSING", "cuda", "no CUDA GPU available: X-Dyna renders on the CPU (very slow); "
                            "the draft renderer is unaffected"))
    return checks


def check_gpus() -> list[Check]:
    """Per CUDA GPU: VRAM, compute capability, bf16, fused attention and the memory setting to use."""
    try:
        from studio.backends.xdyna.gpu_report import gpu_reports

        reports = gpu_reports()
    except Exception as err:  # noqa: BLE001 - the report must not stop doctor
        return [Check("ERROR", "gpu", f"could not query the GPU: {err!r}")]
    return [Check("OK" if r.setting != "too small" else "MISSING", f"gpu{r.index}", r.line()) for r in reports]


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: mediapipe's C++ code logs there, past Python."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def check_mediapipe(load_models: bool = True) -> list[Check]:
    """mediapipe, and whether its Pose/Hands/FaceMesh/SelfieSegmentation models load."""
    version = _version("mediapipe")
    if version is None:
        return [Check("MISSING", "mediapipe", "not installed: pose extraction is unavailable "
                      "(`pip install mediapipe==0.10.21`)")]
    checks = [Check("OK", "mediapipe", version)]
    if not load_models:
        return checks
    try:
        solutions = importlib.import_module("mediapipe").solutions
    except Exception as err:
        return checks + [Check("ERROR", "mediapipe models", f"mediapipe.solutions fails to import: {err!r}")]
    models = {
        "Pose": lambda: solutions.pose.Pose(static_image_mode=True, model_complexity=1),
        "Hands": lambda: solutions.hands.Hands(static_image_mode=True),
        "FaceMesh": lambda: solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True),
        "SelfieSegmentation": lambda: solutions.selfie_segmentation.SelfieSegmentation(model_selection=1),
    }
    for name, build in models.items():
        try:
            with _native_stderr_silenced():
                build().close()
            checks.append(Check("OK", f"mediapipe {name}", "model loads"))
        except Exception as err:
            checks.append(Check("ERROR", f"mediapipe {name}", f"model fails to load: {err!r}"))
    return checks


def check_ffmpeg() -> list[Check]:
    """The bundled ffmpeg executable and its version."""
    from studio.core.errors import StudioError
    from studio.media.ffmpeg import ffmpeg_exe, ffmpeg_version_line

    try:
        exe = ffmpeg_exe()
        line = ffmpeg_version_line()
    except StudioError as err:
        return [Check("MISSING", "ffmpeg", err.description)]
    except Exception as err:
        return [Check("ERROR", "ffmpeg", f"cannot run ffmpeg: {err!r}")]
    return [Check("OK", "ffmpeg", f"{exe}"), Check("OK", "ffmpeg version", line)]


def _release_problems(folder: Path) -> list[str]:
    """Problems with a release folder: the xdyna backend's check if present, else the tree."""
    try:
        check_release = importlib.import_module("studio.backends.xdyna").check_release
    except (ImportError, AttributeError):
        check_release = None
    if check_release is not None:
        return list(check_release(folder))
    return [f"missing: {folder / rel}" for rel in RELEASE_TREE if not (folder / rel).exists()]


def check_weights(explicit: str | Path | None = None, project: str | Path | None = None) -> list[Check]:
    """The X-Dyna weights folder (``explicit``, else ``project``'s, else the environment's, else
    the default): where it is and every problem with it."""
    project_weights = None
    if project is not None:
        from studio.core.project import Project

        project_weights = Project.load(project).weights_dir
    chosen = resolve_weights_dir(explicit, project_weights)
    folder, where = chosen.path, chosen.explained
    if not folder.is_dir():
        return [Check("MISSING", "weights folder", f"{where} does not exist: X-Dyna needs the official "
                      f"release (pretrained_weights) there, or pass --weights DIR / set ${WEIGHTS_ENV}; "
                      "the draft renderer needs no weights")]
    checks = [Check("OK", "weights folder", where)]
    try:
        problems = _release_problems(folder)
    except Exception as err:
        return checks + [Check("ERROR", "weights", f"checking the folder failed: {err!r}")]
    if not problems:
        return checks + [Check("OK", "weights", "all X-Dyna release files present")]
    return checks + [Check("MISSING", "weights", problem) for problem in problems]


def run_checks(weights: str | Path | None = None, load_models: bool = True,
               project: str | Path | None = None) -> list[Check]:
    """Every check, in report order."""
    return [*check_python(), *check_qt(), *check_torch(), *check_mediapipe(load_models), *check_ffmpeg(),
            *check_weights(weights, project)]


def format_report(checks: list[Check]) -> str:
    """The report as aligned text lines."""
    width = max(len(c.name) for c in checks)
    lines = [f"{c.status:<8}{c.name:<{width + 2}}{c.detail}" for c in checks]
    problems = sum(c.status != "OK" for c in checks)
    lines.append(f"\n{len(checks) - problems} OK, {problems} to look at" if problems else f"\nall {len(checks)} checks OK")
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    """Add the ``doctor`` command."""
    p = subparsers.add_parser(
        "doctor",
        help="check the installation (PySide6, torch, CUDA, mediapipe, ffmpeg, weights)",
        description="Report, one line each with OK / MISSING / ERROR: Python, PySide6, torch and CUDA, mediapipe and "
        "its models, ffmpeg, and the X-Dyna weights folder. Always exits 0: it reports, it does not fail.",
    )
    p.add_argument("--weights", type=Path, metavar="DIR",
                   help=f"the X-Dyna weights folder (default: the --project's, else ${WEIGHTS_ENV}, "
                   "else the user data folder)")
    p.add_argument("--project", type=Path, metavar="FILE", help="check the weights folder this project uses")
    p.add_argument("--no-models", action="store_true", help="skip loading the mediapipe models (faster)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; always 0."""
    print(format_report(run_checks(args.weights, load_models=not args.no_models, project=args.project)))
    return 0
