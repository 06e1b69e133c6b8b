"""``studio doctor``: report what this installation can do (it reports; it never fails).

One line per check, ``OK`` / ``MISSING`` / ``ERROR``: Python, PySide6, torch and CUDA (torch is optional
and imported only here, lazily), mediapipe and whether its models load, ffmpeg, then one section per
registered renderer (:mod:`studio.core.registry`): its dependencies, its weights folder and what is
missing in it, and the renderer's own checks (X-Dyna: per GPU its VRAM, compute capability, bf16,
fused attention and the memory setting it needs). A renderer's weights folder follows the one rule
of :mod:`studio.core.weights_folder`: ``--weights DIR``, else the weights folder of ``--project
FILE``, else ``$STUDIO_<NAME>_WEIGHTS`` (X-Dyna also ``$STUDIO_WEIGHTS_DIR``), else its default.
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
from pathlib import Path
from typing import Any

from studio.core import registry
from studio.core.backend import DoctorCheck
from studio.core.weights_folder import resolve_weights_dir

#: One line of the report (``status`` is ``OK``, ``MISSING`` or ``ERROR``).
Check = DoctorCheck


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
        return [Check("MISSING", "torch", _torch_users())]
    except Exception as err:  # a broken install must not stop the report
        return [Check("ERROR", "torch", f"installed but fails to import: {err!r}")]
    checks = [Check("OK", "torch", torch.__version__)]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        checks.append(Check("OK", "cuda", f"CUDA {torch.version.cuda}: {names}"))
    return checks


def _torch_users() -> str:
    """Which renderers need torch, and which work without it."""
    need = [s.label for s in registry.specs().values() if "torch" in s.requires]
    free = [s.label for s in registry.specs().values() if "torch" not in s.requires]
    return (f"not installed: needed by {', '.join(need) or 'no installed renderer'}"
            + (f"; {', '.join(free)} work without it" if free else ""))


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


def check_weights(explicit: str | Path | None = None, project: Any = None, backend: str | None = None) -> list[Check]:
    """Backend ``backend``'s (default: X-Dyna's) weights folder (``explicit``, else the project's,
    else its environment variable, else its default): where it is and every problem with it.
    ``project`` is a :class:`~studio.core.project.Project` or a project file."""
    name = backend or registry.legacy_name()
    spec = registry.get_spec(name)
    if spec.weights is None:
        return []
    if project is not None and not hasattr(project, "weights_dirs"):
        from studio.core.project import Project

        project = Project.load(project)
    chosen = resolve_weights_dir(explicit, project.weights_dirs.get(name) if project is not None else None,
                                 backend=name)
    folder, where = chosen.path, chosen.explained
    if not folder.is_dir():
        return [Check("MISSING", "weights folder",
                      f"{where} does not exist: put the {spec.label} weights there ({spec.weights.source}), "
                      f"or pass --weights DIR / set ${spec.weights.env_var}")]
    checks = [Check("OK", "weights folder", where)]
    try:
        problems = spec.weights_problems(folder)
    except Exception as err:  # noqa: BLE001 - the report must not stop
        return checks + [Check("ERROR", "weights", f"checking the folder failed: {err!r}")]
    if not problems:
        return checks + [Check("OK", "weights", f"all {spec.label} weights files present")]
    return checks + [Check("MISSING", "weights", problem) for problem in problems]


def check_backend(name: str, explicit: str | Path | None = None, project: Any = None) -> list[Check]:
    """The section of backend ``name``: its dependencies, its weights folder and its own checks."""
    spec = registry.get_spec(name)
    prefix = f"{name}: "
    missing = spec.missing_modules()
    checks = [Check("MISSING", "dependencies", spec.hint(missing))] if missing else [
        Check("OK", "dependencies", ", ".join(spec.requires) or "none beyond the studio's")]
    weights = check_weights(explicit, project, name)
    checks += weights
    folder = Path(weights[0].detail.rsplit(" (", 1)[0]) if weights and weights[0].status == "OK" else None
    if spec.doctor is not None and not missing:
        try:
            checks += spec.doctor(folder)
        except Exception as err:  # noqa: BLE001
            checks.append(Check("ERROR", "checks", f"failed: {err!r}"))
    return [Check(c.status, prefix + c.name, c.detail) for c in checks]


def check_backends(weights: str | Path | None = None, project: str | Path | None = None,
                   only: str | None = None) -> list[Check]:
    """Every backend's section (``weights`` is the folder of ``only``, or of the legacy backend
    when no backend is named), then one line per broken plug-in."""
    proj = None
    if project is not None:
        from studio.core.project import Project

        proj = Project.load(project)
    target = only or (proj.settings.backend if proj is not None and weights is not None else registry.legacy_name())
    checks = []
    for name in registry.names():
        if only is None or name == only:
            checks += check_backend(name, weights if name == target else None, proj)
    for name, err in registry.broken().items():
        checks.append(Check("ERROR", f"plug-in {name}", err.description))
    return checks


def run_checks(weights: str | Path | None = None, load_models: bool = True,
               project: str | Path | None = None, backend: str | None = None) -> list[Check]:
    """Every check, in report order."""
    return [*check_python(), *check_qt(), *check_torch(), *check_mediapipe(load_models), *check_ffmpeg(),
            *check_backends(weights, project, backend)]


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
        help="check the installation (PySide6, torch, CUDA, mediapipe, ffmpeg, each renderer and its weights)",
        description="Report, one line each with OK / MISSING / ERROR: Python, PySide6, torch and CUDA, mediapipe and "
        "its models, ffmpeg, and a section per renderer (dependencies, weights folder, its own checks). Always "
        "exits 0: it reports, it does not fail.",
    )
    p.add_argument("--backend", choices=registry.names(), help="report only this renderer's section")
    p.add_argument("--weights", type=Path, metavar="DIR",
                   help="the weights folder of --backend (default X-Dyna) to check (default: the --project's, else "
                   "the renderer's $STUDIO_<NAME>_WEIGHTS, else the user data folder)")
    p.add_argument("--project", type=Path, metavar="FILE", help="check the weights folder this project uses")
    p.add_argument("--no-models", action="store_true", help="skip loading the mediapipe models (faster)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; always 0."""
    print(format_report(run_checks(args.weights, load_models=not args.no_models, project=args.project,
                                   backend=args.backend)))
    return 0
