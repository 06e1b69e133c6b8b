"""The inputs of ``studio render`` (and ``studio queue add``): the argument parsers, the project
from ``--project``/``--sample``/``--image --video``/``--live-photo``, the settings with the
command-line overrides, and the job made by :func:`studio.core.job_factory.make_job`."""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from studio.cli.options_flags import option_values
from studio.core import registry
from studio.cli.render_output import _advance, _bar
from studio.core.errors import StudioError
from studio.core.job_factory import make_job
from studio.core.jobs import RenderJob
from studio.core.options import validation_error
from studio.core.project import Project
from studio.core.settings import RenderSettings
from studio.media.exporters import is_sequence_target
from studio.media.panels import parse_panels, parse_scale


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WxH, e.g. 512x896") from None
    return w, h


def _parse_panels(text: str) -> tuple[str, ...]:
    try:
        return parse_panels(text)
    except StudioError as err:
        raise argparse.ArgumentTypeError(err.description) from None


def _parse_offset(text: str) -> tuple[float, float]:
    from studio.extract.framing import parse_offset

    try:
        return parse_offset(text)
    except StudioError as err:
        raise argparse.ArgumentTypeError(err.description) from None


def _parse_scale(text: str) -> float:
    try:
        return parse_scale(text)
    except StudioError as err:
        raise argparse.ArgumentTypeError(err.description) from None


def _parse_range(text: str) -> tuple[int | None, int | None]:
    a, sep, b = text.partition(":")
    try:
        lo = int(a) if a.strip() else None
        hi = int(b) if b.strip() else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"frame range {text!r} is not A:B, e.g. 0:48") from None
    if not sep or (lo is not None and lo < 0) or (lo is not None and hi is not None and hi <= lo):
        raise argparse.ArgumentTypeError(f"frame range {text!r} must be A:B with 0 <= A < B")
    return lo, hi


# -- building the job -------------------------------------------------------------------------------
#: The bundled samples: name -> project file under ``resources/``.
SAMPLES: dict[str, str] = {"drawn": "sample/sample.studio.json", "real": "sample_real/real.studio.json"}


def sample_project_path(name: str = "drawn") -> Path:
    """The bundled sample project called ``name`` (see :data:`SAMPLES`)."""
    path = Path(__file__).resolve().parents[2] / "resources" / SAMPLES[name]
    if not path.is_file():
        raise StudioError(
            "Sample project missing",
            f"{path} was not found; the installation is incomplete. Reinstall the studio or use "
            "--image/--video.",
        )
    return path


def _project_from_args(args: argparse.Namespace) -> Project:
    chosen = [bool(args.project), bool(args.sample), bool(args.image or args.video)]
    if sum(chosen) != 1:
        raise StudioError(
            "Choose one input",
            "Give exactly one of --project FILE, --sample, or --image PHOTO --video VIDEO.",
        )
    if getattr(args, "live_photo", False):
        return _live_project(args)
    if args.project:
        return Project.load(args.project)
    if args.sample:
        return Project.load(sample_project_path(args.sample))
    if not (args.image and args.video):
        raise StudioError("Missing input", "--image and --video go together: give both.")
    for p in (args.image, args.video):
        if not p.is_file():
            raise StudioError("File not found", f"{p} does not exist.")
    return Project(reference_image=args.image, driving_video=args.video)


def _live_project(args: argparse.Namespace) -> Project:
    """The project of ``--live-photo``: a photo (or a project) held for ``--seconds``."""
    if args.video is not None or args.sample:
        raise StudioError(
            "A live photo needs no video",
            "--live-photo holds the photo's own pose: give --image PHOTO (or --project FILE) without "
            "--video or --sample.",
        )
    if args.project:
        project = Project.load(args.project)
    else:
        if not args.image.is_file():
            raise StudioError("File not found", f"{args.image} does not exist.")
        project = Project(reference_image=args.image)
    project.live_seconds = float(args.seconds or project.live_seconds or 4.0)
    if args.fps:
        project.fps = float(args.fps)
    project.driving_video = None
    return project


def hold_photo_pose(project: Project, settings: RenderSettings) -> None:
    """Give a live-photo project the held tracks of its photo at the render size."""
    from studio.extract.live_photo import live_tracks

    project.pose, project.face = live_tracks(project.reference_pose, project.reference_face,
                                             float(project.live_seconds or 4.0), float(project.fps or 25.0),
                                             settings.width, settings.height, settings.photo_offset,
                                             settings.photo_scale)
    project.frame_range = None


def _extract_missing(project: Project, quiet: bool, frames: tuple[int | None, int | None] | None = None) -> None:
    """Fill in the driving tracks (cached extraction) and the reference pose when missing. With
    ``frames`` (``--frames A:B``) or the project's frame range, only those frames are extracted
    (:func:`studio.extract.partial.extract_range`; the others stay pending)."""
    from studio.extract.partial import extract_range

    if project.pose is None and not project.is_live_photo:
        if project.driving_video is None:
            raise StudioError("No driving motion", "The project has neither a pose track nor a driving video.")
        lo, hi = frames if frames is not None else project.frame_range or (None, None)
        bar = _bar(quiet, "extract pose", unit="frame")
        try:
            res = extract_range(project.driving_video, lo or 0, hi, progress=lambda d, t: _advance(bar, d, t))
        finally:
            if bar is not None:
                bar.close()
        project.pose, project.face = res.pose, res.face
        project.fps = float(res.pose.fps) or project.fps
    if project.reference_pose is None and project.reference_image is not None:
        from studio.extract.image import detect_image
        from studio.media.image import read_image

        project.reference_pose, project.reference_face = detect_image(read_image(project.reference_image))


def build_settings(base: RenderSettings, args: argparse.Namespace) -> RenderSettings:
    """``base`` with the command-line overrides applied and validated."""
    d = base.shared()
    for name in ("backend", "seed", "device", "dtype", "retarget"):
        v = getattr(args, name, None)
        if v is not None:
            d[name] = v
    opts = base.options.model_dump() if d["backend"] == base.backend else {}
    opts.update(option_values(args, d["backend"]))
    if args.size is not None:
        d["width"], d["height"] = args.size
    if getattr(args, "fit", None):
        from studio.extract.framing import preset_changes

        d.update(preset_changes(args.fit, _photo_size(args), (d["width"], d["height"])))
    if getattr(args, "photo_offset", None) is not None:
        d["photo_offset"] = args.photo_offset
    for key in ("photo_scale", "video_offset", "video_scale"):
        if getattr(args, key, None) is not None:
            d[key] = getattr(args, key)
    try:
        return RenderSettings.model_validate({**d, "options": opts})
    except ValidationError as exc:
        raise validation_error(exc, "Invalid render settings") from exc


def _photo_size(args: argparse.Namespace) -> tuple[int, int] | None:
    """``(width, height)`` of the photo named by ``args`` (for the ``fit`` preset)."""
    photo = getattr(args, "photo_path", None) or getattr(args, "image", None)
    if photo is None:
        return None
    from studio.media.image import read_image

    img = read_image(photo)
    return img.shape[1], img.shape[0]


def _frame_indices(project: Project, args: argparse.Namespace) -> tuple[int, ...]:
    n = len(project.pose) if project.pose is not None else 0
    lo, hi = project.frame_range or (0, n)
    if args.frames is not None:
        a, b = args.frames
        lo, hi = (a if a is not None else 0), (b if b is not None else n)
    hi = min(hi, n)
    if lo >= hi:
        raise StudioError(
            "Empty frame range",
            f"The frame range {lo}:{hi} holds no frames of the {n}-frame clip. Choose A:B inside 0:{n}.",
        )
    return tuple(range(lo, hi))


def render_dir_for(args: argparse.Namespace, project: Project) -> Path:
    """Where the PNG sequence goes (see ``--render-dir``)."""
    if args.render_dir is not None:
        return args.render_dir
    if args.project and project.default_render_dir() is not None:
        return project.default_render_dir()
    out: Path = args.output
    if is_sequence_target(out) and not args.side_by_side:
        return out  # a plain PNG folder is the render folder itself
    return out.with_name(out.name + ".frames")


def build_job(args: argparse.Namespace, project: Project) -> RenderJob:
    """The frozen job for ``project`` with the command-line overrides."""
    from studio.media.image import read_image

    if project.reference_image is None:
        raise StudioError("No reference photo", "The project has no reference photo; set one first.")
    if args.backend is not None:
        project.choose_backend(args.backend)  # that backend's options as the project keeps them
    spec = registry.get_spec(project.settings.backend)
    if getattr(args, "weights", None) is not None and spec.weights is None:
        with_weights = [n for n, s in registry.specs().items() if s.weights is not None]
        raise StudioError(
            "This renderer has no weights",
            f"--weights {args.weights} was given, but the {spec.label} renderer needs no weights. Choose the "
            f"renderer the folder is for ({' or '.join('--backend ' + n for n in with_weights)}), or leave --weights out.",
        )
    return make_job(project, read_image(project.reference_image), _frame_indices(project, args),
                    settings=build_settings(project.settings, args), weights=args.weights,
                    output_dir=render_dir_for(args, project))


