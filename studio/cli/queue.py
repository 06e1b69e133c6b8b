"""``studio queue``: the persistent render queue (add, list, run, cancel, move).

The queue file lives in the user data folder (``$STUDIO_QUEUE`` overrides it); jobs survive
restarts and crashes. ``studio queue run`` renders the queued jobs on Ray actors when the
``[farm]`` extra is installed (a local Ray cluster by default, ``--address``/``RAY_ADDRESS`` for an
existing one), else one by one in a local helper process.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from studio.cli.options_flags import add_option_flags, chosen_backends
from studio.core import registry
from studio.core.errors import StudioError
from studio.core.events import Failed, Finished, RenderEvent


def register(subparsers: Any) -> None:
    """Add the ``queue`` command and its sub-commands."""
    from studio.cli.job_flags import add_job_flags

    p = subparsers.add_parser(
        "queue",
        help="the render queue: add jobs, list them, run them (locally or on a Ray cluster)",
        description="A render queue kept in the user data folder: jobs survive restarts and crashes, "
        "and `studio queue run` renders them (on Ray workers when the farm extra is installed).",
    )
    p.add_argument("--queue-file", type=Path, help="the queue file (default: $STUDIO_QUEUE, else the user data folder)")
    sub = p.add_subparsers(dest="queue_command", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="queue a render of a project", description="Queue a render of a project.")
    a.add_argument("project", type=Path, nargs="?", help="a .studio.json project file")
    a.add_argument("--sample", action="store_true", help="the bundled sample project instead of a file")
    add_job_flags(a)
    a.add_argument("--fps", type=float, help="output frame rate (default: the project's)")
    a.add_argument("--render-dir", type=Path,
                   help="where finished frames are kept (default: OUTPUT.frames, or the output folder)")
    a.add_argument("--split", action="store_true",
                   help="split this clip across all workers (renderers that can: X-Dyna's reference/static schedule)")
    add_option_flags(a, chosen_backends())
    a.set_defaults(func=run_add)

    ls = sub.add_parser("list", help="show the jobs", description="Show the queued, running and finished jobs.")
    ls.set_defaults(func=run_list)

    r = sub.add_parser("run", help="render the queued jobs",
                       description="Render the queued jobs until none is left (Ctrl-C stops; running jobs go back "
                       "to the queue and resume from their finished frames).")
    r.add_argument("--address", help="join this Ray cluster (default: $RAY_ADDRESS, else a local cluster)")
    r.add_argument("--workers", type=int, help="CPU workers (default: 2 without GPUs, 1 with)")
    r.add_argument("--local", action="store_true", help="no Ray: one local helper process")
    r.add_argument("--wait", action="store_true", help="keep running and wait for new jobs")
    r.set_defaults(func=run_run)

    c = sub.add_parser("cancel", help="cancel a job", description="Cancel a queued or running job.")
    c.add_argument("id", type=int)
    c.set_defaults(func=run_cancel)

    m = sub.add_parser("move", help="reorder a queued job", description="Move a queued job earlier or later.")
    m.add_argument("id", type=int)
    m.add_argument("delta", type=int, help="places to move: negative = earlier")
    m.set_defaults(func=run_move)


def _queue(args: argparse.Namespace):
    from studio.farm.queue import RenderQueue

    return RenderQueue(args.queue_file)


def run_add(args: argparse.Namespace) -> int:
    """``studio queue add``."""
    from studio.cli.reference_check import check_reference
    from studio.cli.render import _extract_missing, build_job, sample_project_path
    from studio.core.project import Project
    from studio.media.exporters import exporter_for, is_sequence_target

    if bool(args.project) == bool(args.sample):
        raise StudioError("Choose one project", "Give a .studio.json project file, or --sample.")
    path = sample_project_path() if args.sample else args.project
    if not Path(path).is_file():
        raise StudioError("Project not found", f"{path} does not exist. Give the path of a .studio.json file.")
    args.output = args.output.expanduser().absolute()
    if args.render_dir is not None:
        args.render_dir = args.render_dir.expanduser().absolute()
    if not is_sequence_target(args.output):
        exporter_for(args.output)  # an unsupported extension fails now, not after the render
    project = Project.load(path)
    _extract_missing(project, quiet=True)
    check_reference(project)  # a broken photo pose: a warning, and retargeting off
    # frames go beside the output (OUTPUT.frames, or the output folder itself), not into the
    # project's shared render folder: two queued jobs of one project may run at the same time
    args.project, args.side_by_side = None, False
    job = build_job(args, project)
    from studio.farm.split import split_refusal

    why = split_refusal(job) if args.split else None
    if why is not None:
        raise StudioError("This job cannot be split", f"--split cannot divide this {job.backend} render: {why}.")
    q = _queue(args)
    job_id = q.add(job, args.output, Path(path).absolute(), fps=float(args.fps or project.fps or 25.0), split=args.split)
    print(f"queued job {job_id}: {job.n_frames} frames ({job.settings.backend}) -> {args.output} "
          f"[queue: {q.path}]")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """``studio queue list``."""
    q = _queue(args)
    entries = q.entries()
    if not entries:
        print(f"the queue is empty ({q.path})")
        return 0
    print(f"{'id':>4}  {'state':<9} {'backend':<7} {'frames':>9}  {'output':<40} message")
    for e in entries:
        frames = f"{e.done_frames}/{e.n_frames}"
        kind = e.backend + ("*" if e.split else "")
        print(f"{e.id:>4}  {e.state:<9} {kind:<7} {frames:>9}  {e.output[-40:]:<40} {e.message}")
    if any(e.split for e in entries):
        print("* split across all workers")
    return 0


def _executor(args: argparse.Namespace):
    from studio.farm.local_executor import LocalExecutor
    from studio.farm.ray_executor import RayExecutor, ray_available

    if args.local:
        if args.address:
            raise StudioError("Choose one", "--local and --address exclude each other.")
        return LocalExecutor()
    if not ray_available():
        if args.address:
            raise StudioError(
                "Ray is not installed",
                f"--address {args.address} needs the farm extra: pip install 'xdyna-studio[farm]'.",
            )
        print("ray is not installed: rendering one job at a time in a local helper process", file=sys.stderr)
        return LocalExecutor()
    return RayExecutor(address=args.address, workers=args.workers)


def run_run(args: argparse.Namespace) -> int:
    """``studio queue run``."""
    from studio.farm.runner import QueueRunner

    q = _queue(args)
    executor = _executor(args)
    print(f"running the queue {q.path} on {executor.describe()}", file=sys.stderr)

    def on_event(entry: Any, ev: RenderEvent) -> None:
        if isinstance(ev, Finished):
            print(f"job {entry.id}: finished {ev.n_frames} frames in {ev.seconds:.1f} s", file=sys.stderr)
        elif isinstance(ev, Failed):
            print(f"job {entry.id}: {ev.error.title}: {ev.error.description}", file=sys.stderr)

    runner = QueueRunner(q, executor, on_event=on_event)

    def on_sigint(signum: int, frame: Any) -> None:
        if runner.stop_event.is_set():
            raise KeyboardInterrupt
        print("\nstopping: running jobs go back to the queue (Ctrl-C again to abort now) ...", file=sys.stderr)
        runner.stop()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        summary = runner.run(wait=args.wait)
    finally:
        signal.signal(signal.SIGINT, previous)
        executor.close()
    if summary.recovered:
        print(f"requeued after a restart: jobs {', '.join(map(str, summary.recovered))}", file=sys.stderr)
    print(f"done {len(summary.done)}, failed {len(summary.failed)}, cancelled {len(summary.cancelled)}, "
          f"back in the queue {len(set(summary.requeued) - set(summary.done))}", file=sys.stderr)
    return 1 if summary.failed else 0


def run_cancel(args: argparse.Namespace) -> int:
    """``studio queue cancel ID``."""
    state = _queue(args).cancel(args.id)
    print(f"job {args.id}: " + ("cancelled" if state == "cancelled" else "cancelling (its runner stops it within a step)"))
    return 0


def run_move(args: argparse.Namespace) -> int:
    """``studio queue move ID DELTA``."""
    _queue(args).move(args.id, args.delta)
    return 0
