"""``studio render``: render a clip headless with the draft or X-Dyna backend and export it.

Inputs come from a project file (``--project``), the bundled sample (``--sample``), or a photo
and a driving video (``--image --video``, pose extracted through :mod:`studio.extract`, cached).
Frames are rendered by :func:`studio.core.render.run_job` into a render folder (a PNG sequence
with a manifest); Ctrl-C cancels cleanly and keeps finished frames, and ``--resume`` continues.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from studio.cli.reference_check import check_reference
from studio.cli.options_flags import add_option_flags, chosen_backends, option_values
from studio.core import registry
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import Cancelled, Failed, Finished, FramesReady, Progress
from studio.core.job_factory import make_job, weights_for
from studio.core.jobs import RenderJob
from studio.core.options import validation_error
from studio.core.project import Project
from studio.core.render import render_frames, run_job
from studio.core.files import read_png
from studio.core.settings import RenderSettings
from studio.media.audio import AudioSlice, slice_for_frames
from studio.media.exporters import export_frames, exporter_for, is_sequence_target
from studio.media.panels import PANEL_NAMES, compose, parse_panels, scale_frame
from studio.media.retime import retime, retimed_count


def register(subparsers: Any) -> None:
    """Add the ``render`` command."""
    p = subparsers.add_parser(
        "render",
        help="render an animation without the window",
        description="Render an animation of a photo driven by a video (or a project, or the sample) "
        "and export it as MP4, WebM, GIF or a PNG folder.",
    )
    src = p.add_argument_group("input (one of)")
    src.add_argument("--image", type=Path, help="the reference photo (with --video)")
    src.add_argument("--video", type=Path, help="the driving video (with --image)")
    src.add_argument("--project", type=Path, help="a .studio.json project file")
    src.add_argument("--sample", nargs="?", const="drawn", choices=SAMPLES,
                     help="a bundled sample project: 'drawn' (default, a drawn figure) or 'real' (a real "
                     "dancer; its pose is extracted on the first run, then cached)")
    live = p.add_argument_group("live photo (no driving video)")
    live.add_argument("--live-photo", action="store_true",
                      help="hold the photo's own pose on every frame (with --image or --project): X-Dyna adds "
                      "scene and hair dynamics, the draft renderer breathing and a sway (its --live-motion)")
    live.add_argument("--seconds", type=float, help="length of the live photo (default: the project's, else 4)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="out.mp4, out.webm, out.gif, or a folder (PNG sequence)")
    p.add_argument("--backend", choices=registry.names(),
                   help="renderer (default: the project's, else the default one); `studio backends` lists them, "
                   "`studio render --backend NAME --help` lists its options")
    p.add_argument("--weights", type=Path,
                   help="the renderer's weights folder (default: the project's, else $STUDIO_<NAME>_WEIGHTS "
                   "(for X-Dyna also $STUDIO_WEIGHTS_DIR), else the user data folder)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--size", type=_parse_size, metavar="WxH", help="render size, multiples of 8 (e.g. 512x896)")
    frame = p.add_argument_group("framing (where the photo and the video sit on the canvas)")
    frame.add_argument("--fit", nargs="?", const="fit", choices=("official", "center", "fit"),
                       help="framing preset: official (photo centre-cropped, video top-cropped), center "
                       "(video centre-cropped), fit (nothing cropped; the default of a bare --fit)")
    frame.add_argument("--photo-offset", type=_parse_offset, metavar="X,Y",
                       help="move the photo by X,Y fractions of the canvas (e.g. 0.1,0 = a tenth to the right)")
    frame.add_argument("--photo-scale", type=float, metavar="S",
                       help="scale the photo about the canvas centre (1 = the official fit; 0.25..4)")
    frame.add_argument("--video-offset", type=_parse_offset, metavar="X,Y",
                       help="move the driving video (and so the skeleton) by X,Y fractions of the canvas")
    frame.add_argument("--video-scale", type=float, metavar="S",
                       help="scale the driving video (and so the skeleton) about the canvas centre (0.25..4)")
    p.add_argument("--retarget", action=argparse.BooleanOptionalAction, default=None,
                   help="give the dancer's skeleton the photo person's proportions (default: the project's, "
                   "on; off for a photo whose detected pose looks wrong, with a warning)")
    p.add_argument("--frames", type=_parse_range, metavar="A:B", help="driving frames A..B-1 (either may be empty)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--dtype", choices=("auto", "float32", "float16", "bfloat16"), help="precision (default: auto)")
    out = p.add_argument_group("export")
    out.add_argument("--fps", type=float,
                     help="output frame rate, e.g. 8, 12, 24 or 30 (default: the driving video's); the clip "
                     "keeps its duration, see --fps-mode. With --live-photo: the live photo's frame rate")
    out.add_argument("--fps-mode", choices=("repeat", "blend"), default="repeat",
                     help="how --fps converts: repeat/drop the frame on screen at each output time (default), "
                     "or blend the two nearest frames")
    out.add_argument("--scale", type=_parse_scale, default=1.0, metavar="S",
                     help="export scale, 0.25 to 2 or 25%% to 200%% (Lanczos; default 1)")
    out.add_argument("--audio", action=argparse.BooleanOptionalAction, default=True,
                     help="keep the driving video's sound in MP4 (AAC) / WebM (Opus) exports, cut to the "
                     "exported frames (default: on)")
    p.add_argument("--side-by-side", action="store_true", help="export driving | pose | result (see --panels)")
    out.add_argument("--panels", type=_parse_panels, default=PANEL_NAMES, metavar="LIST",
                     help="the side-by-side panels in order, any of driving,pose,result (default: all three "
                     "in that order); implies --side-by-side")
    p.add_argument("--render-dir", type=Path,
                   help="where finished frames are kept (default: the project's render folder, "
                   "else OUTPUT.frames beside the output, removed once the output is written)")
    p.add_argument("--resume", action="store_true", help="reuse finished frames of an interrupted render")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_option_flags(p, chosen_backends())
    p.set_defaults(func=run)


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
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale {text!r} is not a number such as 0.5 or 50%") from None
    if not 0.25 - 1e-9 <= value <= 2.0 + 1e-9:
        raise argparse.ArgumentTypeError(f"scale {text!r} must be between 0.25 and 2 (25% to 200%)")
    return value


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
    return make_job(project, read_image(project.reference_image), _frame_indices(project, args),
                    settings=build_settings(project.settings, args), weights=args.weights,
                    output_dir=render_dir_for(args, project))


# -- progress ---------------------------------------------------------------------------------------
def _bar(quiet: bool, desc: str, total: int | None = None, unit: str = "it"):
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, file=sys.stderr)


def _advance(bar: Any, done: int, total: int | None) -> None:
    if bar is None:
        return
    if total is not None and bar.total != total:
        bar.total = total
    bar.n = done
    bar.refresh()


class _Sigint:
    """While active, the first Ctrl-C cancels the render; a second one interrupts at once.

    Installed also when the process started with SIGINT ignored (``nohup studio render ... &``
    from a script): a SIGINT then cancels cleanly too, keeping the finished frames for
    ``--resume``, rather than being dropped. The handler found is put back on exit."""

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self.previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.token.cancelled:
            raise KeyboardInterrupt
        self.token.cancel()
        print("\ncancelling after the current step (Ctrl-C again to abort now) ...", file=sys.stderr)

    def __enter__(self) -> "_Sigint":
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: the caller cancels through the token
            self.previous = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def render_with_progress(job: RenderJob, backend: Any, token: CancelToken, resume: bool, quiet: bool):
    """Run the job with a tqdm bar per phase; returns the final event."""
    bar = None
    phase = None
    frames_done = 0
    last: Any = None
    for ev in run_job(job, backend, None, token, resume=resume):
        if isinstance(ev, Progress):
            if ev.phase != phase:
                if bar is not None:
                    bar.close()
                phase = ev.phase
                bar = _bar(quiet, ev.phase, ev.total)
            _advance(bar, ev.step, ev.total)
            if bar is not None:
                bar.set_postfix_str(f"{frames_done}/{job.n_frames} frames", refresh=False)
        elif isinstance(ev, FramesReady):
            frames_done += len(ev.indices)
            if bar is not None:
                bar.set_postfix_str(f"{frames_done}/{job.n_frames} frames")
        elif isinstance(ev, (Finished, Cancelled, Failed)):
            last = ev
    if bar is not None:
        bar.close()
    return last


# -- export -----------------------------------------------------------------------------------------
def result_frames(job: RenderJob) -> Iterator[np.ndarray]:
    """The finished frames of ``job`` read back from its render folder, in order."""
    for path in render_frames(job):
        img = read_png(path)
        if img is None:
            raise StudioError("Missing frame", f"{path} cannot be read; render again with --resume.")
        yield img


def side_by_side_frames(job: RenderJob, panels: tuple[str, ...] = PANEL_NAMES) -> Iterator[np.ndarray]:
    """``driving | pose | result`` per frame (``pose | result`` without a driving video); the pose
    panel is what the model sees (:func:`studio.extract.model_view.model_pose`)."""
    from studio.extract.canvas import driving_frames
    from studio.extract.model_view import model_pose_for_job, model_pose_map

    canvas = model_pose_for_job(job)
    driving: Iterator[np.ndarray | None] = (
        driving_frames(job) if job.driving_video is not None else iter([None] * job.n_frames)
    )
    for i, drive, result in zip(job.frames, driving, result_frames(job)):
        yield compose({"driving": drive, "pose": model_pose_map(canvas, i), "result": result}, panels)


def sound_for(job: RenderJob, fps: float, wanted: bool = True) -> AudioSlice | None:
    """The driving video's sound under the job's frames at ``fps`` (``None`` when not ``wanted``,
    without a driving video, or when the video is silent)."""
    if not wanted or job.driving_video is None or not job.frames:
        return None
    return slice_for_frames(job.driving_video, job.frames[0], job.n_frames, fps)


def export_stream(frames: Iterator[np.ndarray], n: int, src_fps: float, fps: float, scale: float = 1.0,
                  mode: str = "repeat") -> tuple[Iterator[np.ndarray], int]:
    """``frames`` scaled by ``scale`` and converted from ``src_fps`` to ``fps`` (same duration);
    returns the stream and its frame count."""
    if abs(scale - 1.0) > 1e-9:
        frames = (scale_frame(f, scale) for f in frames)
    return retime(frames, n, src_fps, fps, mode), retimed_count(n, src_fps, fps)


def export(frames: Iterator[np.ndarray], n: int, fps: float, out: Path, token: CancelToken, quiet: bool,
           audio: AudioSlice | None = None) -> Path:
    """Write ``frames`` to ``out`` with the media exporters (format from the suffix), with
    ``audio`` as the sound track where the format has one."""
    bar = _bar(quiet, f"export {out.name}", n, unit="frame")
    try:
        return export_frames(frames, fps, out, progress=lambda d, t: _advance(bar, d, t), cancel=token,
                             frame_count=n, audio=audio)
    finally:
        if bar is not None:
            bar.close()


# -- the command ------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    """Entry point of ``studio render``."""
    quiet = bool(args.no_progress)
    if tuple(getattr(args, "panels", PANEL_NAMES)) != PANEL_NAMES:
        args.side_by_side = True  # choosing panels asks for a side by side
    if not (is_sequence_target(args.output) and not args.side_by_side):
        exporter_for(args.output)  # an unsupported extension fails before any work
    project = _project_from_args(args)
    args.photo_path = project.reference_image  # the fit preset scales to the photo
    _extract_missing(project, quiet, args.frames)
    check_reference(project, getattr(args, "retarget", None))
    if project.is_live_photo:
        hold_photo_pose(project, build_settings(project.settings, args))
    job = build_job(args, project)
    backend = registry.create_backend(job.backend, job.weights_dir)
    ok, why = backend.available()
    if not ok:
        origin = weights_for(project, job.backend, args.weights)
        if origin is not None and str(job.weights_dir) in why:  # say why that folder
            why += f" The weights folder is {origin.explained}; give another with --weights DIR."
        raise StudioError(f"The {backend.name} renderer cannot run", why)
    src_fps = float(project.fps or 25.0)
    fps = float(args.fps or src_fps)
    if not 0 < fps <= 240:
        raise StudioError("Invalid frame rate", f"--fps {fps:g} must be between 0 and 240.")
    token = CancelToken()
    t0 = time.monotonic()
    with _Sigint(token):
        last = render_with_progress(job, backend, token, args.resume, quiet)
        if isinstance(last, Failed):
            raise last.error
        if isinstance(last, Cancelled) or last is None:
            done = len(last.done) if last is not None else 0
            print(
                f"cancelled: {done} of {job.n_frames} frames are finished and kept in {job.output_dir}\n"
                "  run the same command with --resume to continue from there",
                file=sys.stderr,
            )
            return 130
        seconds = time.monotonic() - t0
        out: Path = args.output
        if out.resolve() == Path(job.output_dir).resolve():
            print(f"rendered {job.n_frames} frames in {seconds:.1f} s -> {out}", file=sys.stderr)
            return 0
        frames = side_by_side_frames(job, args.panels) if args.side_by_side else result_frames(job)
        frames, n_out = export_stream(frames, job.n_frames, src_fps, fps, args.scale, args.fps_mode)
        try:
            audio = sound_for(job, src_fps, args.audio and exporter_for(out).supports_audio)
            written = export(frames, n_out, fps, out, token, quiet, audio)
        except RenderCancelled:
            print(f"export cancelled; the frames are kept in {job.output_dir}", file=sys.stderr)
            return 130
    kept = "" if _drop_scratch_frames(args, project, job) else f" (frames kept in {job.output_dir})"
    print(f"rendered {job.n_frames} frames in {seconds:.1f} s -> {written}{kept}", file=sys.stderr)
    return 0


def _drop_scratch_frames(args: argparse.Namespace, project: Project, job: RenderJob) -> bool:
    """After the output is written, remove the default ``OUTPUT.frames`` folder: it only served
    ``--resume`` of an unfinished render. A ``--render-dir`` or a project's render folder is kept."""
    from studio.core.render_store import remove_render_folder

    out: Path = args.output
    if args.render_dir is not None or Path(job.output_dir) != out.with_name(out.name + ".frames"):
        return False
    return remove_render_folder(job.output_dir)
