"""``studio render``: render a clip headless with the draft or X-Dyna backend and export it.

Inputs come from a project file (``--project``), the bundled sample (``--sample``), or a photo
and a driving video (``--image --video``, pose extracted through :mod:`studio.extract`, cached).
Frames are rendered by :func:`studio.core.render.run_job` into a render folder (a PNG sequence
with a manifest); Ctrl-C cancels cleanly and keeps finished frames, and ``--resume`` continues.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from studio.cli.job_flags import add_job_flags
from studio.cli.reference_check import check_reference
from studio.cli.options_flags import add_option_flags, chosen_backends
from studio.core import registry
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import Cancelled, Failed
from studio.core.job_factory import weights_for
from studio.core.jobs import RenderJob
from studio.core.project import Project
from studio.core.render import run_job
from studio.media.exporters import exporter_for, is_sequence_target
from studio.media.panels import PANEL_NAMES
from studio.cli.render_inputs import (  # noqa: F401 - the command's building blocks, used by tests and queue
    SAMPLES, _extract_missing, _frame_indices, _parse_offset, _parse_panels, _parse_range, _parse_scale, _parse_size,
    _photo_size, _project_from_args, build_job, build_settings, hold_photo_pose, render_dir_for, sample_project_path,
)
from studio.cli.render_output import (  # noqa: F401
    _Sigint, _advance, _bar, export, render_with_progress, result_frames, side_by_side_frames, sound_for,
)


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
    add_job_flags(p)
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
    note = registry.get_spec(job.backend).note_photo(job.reference, job.weights_dir, job.settings.device)
    if note is not None and note.warning and note.message:
        print(f"warning: {note.message}", file=sys.stderr)  # e.g. no face: the identity will not be kept
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
        try:
            audio = sound_for(job, src_fps, args.audio and exporter_for(out).supports_audio)
            written = export(frames, job.n_frames, src_fps, out, token, quiet, audio, fps=fps, scale=args.scale,
                             mode=args.fps_mode)
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
