"""The DynamiCtrl backend: a :class:`RenderJob` in, :mod:`studio.core.events` out.

``render`` checks the frame count (8k+5) and size (multiples of 16) before anything loads, then
loads the release once per folder/device/precision (kept on the instance), places the models
(:mod:`.placement`), and renders the clip as one pass or as overlapping segments
(:mod:`.segments`). After every denoising step: a :class:`Progress` and a :class:`StepPreview`
of the segment's frames (false colour at latent resolution, :mod:`.preview`). Each segment's
final frames come as one :class:`FramesReady` as soon as it is decoded (its last ``overlap``
frames wait for the next segment's crossfade); the held-back tail is saved in the render folder,
so a cancelled render resumes at the first unfinished segment with exactly the same frames.
The cancel token is checked before every step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from studio.backends.dynamictrl import conditioning, rules
from studio.backends.dynamictrl.spec import CAPABILITIES, SPEC
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import FramesReady, Progress, RenderEvent, StepPreview
from studio.core.jobs import RenderJob
from studio.core.render_store import finished_positions, load_window_latents, save_window_latents


def check_job(job: RenderJob) -> None:
    """The frame and size rules, before any weight loads (StudioError naming valid values)."""
    rules.check_frames(job.n_frames, "The clip")
    rules.check_size(job.settings.width, job.settings.height)


def pick_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"`` (:mod:`studio.backends.devices`;
    a StudioError for an unknown device or CUDA without a GPU)."""
    from studio.backends.devices import render_device

    return str(render_device(device))


def pick_dtype(dtype: str, device: str):
    """``"auto"``: bfloat16 on CUDA (DynamiCtrl's precision), float32 elsewhere; else the named one."""
    import torch

    from studio.backends.devices import pick_dtype as shared

    return shared(torch.device(device), dtype, cuda_dtype=torch.bfloat16)


class DynamiCtrlBackend:
    """The DynamiCtrl renderer (see the module docstring)."""

    name = "dynamictrl"
    capabilities = CAPABILITIES

    def __init__(self, weights_dir: Path | str | None = None) -> None:
        self.weights_dir = Path(weights_dir) if weights_dir is not None else None
        self._lock = threading.Lock()
        self._pipe: Any = None
        self._key: tuple | None = None

    # -- availability and loading -------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        return SPEC.availability(self.weights_dir)

    def _weights_for(self, job: RenderJob | None) -> Path:
        folder = job.weights_dir if job is not None and job.weights_dir is not None else self.weights_dir
        if folder is None:
            raise StudioError("No DynamiCtrl weights",
                              "The DynamiCtrl renderer needs the release folder (transformer/, vae/, text_encoder/, "
                              "tokenizer/, scheduler/). Set it in the render settings (or --weights DIR).")
        return Path(folder)

    def pipeline(self, weights: Path, device: str = "auto", dtype: str = "auto", offload: str = "none",
                 cpu_text_encoder: bool = True):
        """The loaded and placed pipeline for these weights/device/precision/placement (loaded
        once, then reused; another placement loads again, since sequential offload hooks stay)."""
        missing = SPEC.missing_modules()
        if missing:
            raise StudioError("DynamiCtrl renderer not installed", SPEC.hint(missing))
        from studio.backends.dynamictrl.loading import load_pipeline

        dev = pick_device(device)
        dt = pick_dtype(dtype, dev)
        from studio.backends.dynamictrl.placement import Placement

        key = (str(Path(weights).resolve()), dev, str(dt), offload, bool(cpu_text_encoder))
        with self._lock:
            if self._pipe is None or self._key != key:
                self._pipe = None
                pipe = load_pipeline(weights, "cpu", dt)
                Placement(pipe, dev, offload, cpu_text_encoder)
                pipe.device = __import__("torch").device(dev)
                self._pipe, self._key = pipe, key
            return self._pipe

    def load(self) -> None:
        self.pipeline(self._weights_for(None))

    def prepare(self, job: RenderJob) -> None:
        """Load and place the pipeline ``render(job)`` will use (the GUI calls this while the user
        is still choosing), with the job's offload profile and text-encoder placement, so the
        render reuses it and a small GPU never holds the unplaced model. Nothing happens without
        a weights folder (the render then says what is missing)."""
        if job.weights_dir is not None or self.weights_dir is not None:
            self._pipeline_for(job)

    def _pipeline_for(self, job: RenderJob):
        s, o = job.settings, job.options
        return self.pipeline(self._weights_for(job), s.device, s.dtype, o.offload, o.cpu_text_encoder)

    def close(self) -> None:
        with self._lock:
            self._pipe, self._key = None, None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    # -- rendering ------------------------------------------------------------------------------
    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        check_job(job)
        o, s = job.options, job.settings
        plan = rules.plan_segments(job.n_frames, o.segment_frames, o.overlap)
        weights = self._weights_for(job)
        fp = job.fingerprint()
        first, tail = self._resume_point(job, plan, fp)
        cancel.raise_if_cancelled()
        if first == len(plan):
            return

        yield Progress(0, 1, "load", f"Loading the DynamiCtrl weights from {weights}")
        t0 = time.perf_counter()
        pipe = self._pipeline_for(job)
        from studio.backends.dynamictrl.preview import preview_frames
        from studio.backends.dynamictrl.segments import SegmentFrames, render_segments

        yield Progress(1, 1, "load", f"Weights ready in {time.perf_counter() - t0:.1f} s")

        yield Progress(0, 1, "prepare", "Drawing the pose frames")
        reference = conditioning.reference_image(job)
        poses = conditioning.poses(job)
        prompt = conditioning.prompt_for(job)
        yield Progress(1, 1, "prepare", f"Prompt: {prompt!r}" if prompt else "Empty prompt")
        total = len(plan) * o.steps
        for event in render_segments(pipe, reference, poses, plan, prompt=prompt, negative_prompt=o.negative_prompt,
                                     steps=o.steps, guidance=o.guidance, seed=s.seed, first=first, tail=tail,
                                     check_cancel=cancel.raise_if_cancelled):
            if isinstance(event, SegmentFrames):
                if event.tail is not None and job.output_dir is not None:
                    save_window_latents(job.output_dir, fp, event.segment.index, event.tail.astype(np.float32))
                yield FramesReady(tuple(range(event.start, event.start + len(event.frames))), event.frames)
                continue
            seg, st = event.segment, event.state
            done = seg.index * o.steps + st.index + 1
            yield Progress(done, total, "denoise", f"segment {seg.index + 1}/{len(plan)}, step {st.index + 1}/{st.total}")
            yield StepPreview(tuple(range(seg.start, seg.stop)), preview_frames(st.predicted_x0, seg.length), done)

    def _resume_point(self, job: RenderJob, plan: list[rules.Segment], fp: str) -> tuple[int, np.ndarray | None]:
        """The first segment to render and the tail it continues from (saved with the frames)."""
        done = finished_positions(job.output_dir, fp, job.frames)
        tail = None
        for seg in plan:
            last = seg.index == len(plan) - 1
            stop = seg.stop if last else plan[seg.index + 1].start
            saved = None if last else load_window_latents(job.output_dir, fp, seg.index)
            if not set(range(seg.start, stop)) <= done or (not last and saved is None):
                return seg.index, tail
            tail = None if saved is None else saved.astype(np.uint8)
        return len(plan), None
