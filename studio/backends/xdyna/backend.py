"""The X-Dyna backend: a :class:`RenderJob` in, :mod:`studio.core.events` out.

:class:`XDynaBackend` builds the conditioning from the job (see :mod:`.conditioning`), loads the
pipeline once per weights folder/device/precision (kept on the instance, so the GUI's long-lived
worker loads it once), applies the settings' memory options (``low_vram``, ``sequential_cfg``,
``torch_compile``: :class:`~.pipeline.RunOptions`), and runs it on a helper thread that never
waits for its consumer (:mod:`.lockstep`: the newest preview wins, final frames queue):

* ``reference`` / ``static`` schedules: every window is denoised at every step; after each step
  a :class:`Progress`, and a :class:`StepPreview` of every frame at latent resolution (the
  latent-to-RGB projection of the predicted clean latents, no VAE) whenever previews stay under
  :data:`PREVIEW_SHARE` of the time. When denoising ends the final latents are saved beside the
  PNGs (so a render cancelled while decoding resumes without denoising again), then frames are
  VAE-decoded a few at a time, each chunk a :class:`FramesReady`.
* ``stream`` schedule (:mod:`.stream`): window after window; each finished window's latents are
  saved at once (step previews show only the window's frames that are not final yet) and every
  frame it makes final is emitted: all of its frames that no earlier
  window finished (a later window's overlap frames are held to this result), so the first chunk
  is the whole first window, 16 frames with the default 16-frame windows, and arrives after one
  window's worth of work. A resumed render hands the saved windows back to
  the pipeline, which skips them and holds the next window's overlap to them exactly.

The cancel token is checked once per denoising step and between decode chunks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from studio.backends.compiled import start_note
from studio.backends.xdyna import conditioning
from studio.backends.xdyna.lockstep import lockstep
from studio.backends.xdyna.spec import SPEC, install_hint
from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import FramesReady, Progress, RenderEvent, StepPreview
from studio.core.jobs import RenderJob
from studio.core.render_store import ResumeStore
from studio.core.resume import denoise_then_decode
from studio.core.windows import WindowPlan

if TYPE_CHECKING:
    from studio.backends.xdyna.call import XDynaCall

#: Frames VAE-decoded per FramesReady chunk (reference/static schedules).
DECODE_CHUNK = 4
#: Most of the render time step previews may take (measured; previews are skipped to stay below).
PREVIEW_SHARE = 0.05


def _latest_key(item: Any) -> type | None:
    """Only the newest pending step preview and denoise progress matter; everything else is kept."""
    return type(item) if isinstance(item, (StepPreview, Progress)) else None


def _missing_modules() -> list[str]:
    """The X-Dyna dependencies that cannot be imported here (looked up without importing)."""
    return SPEC.missing_modules()


def plan_for(job: RenderJob) -> WindowPlan:
    """The window plan of ``job``'s settings."""
    s = job.options
    return WindowPlan(job.n_frames, context=s.context_frames, overlap=s.overlap, schedule=s.schedule,
                      weighting=s.weighting)


class XDynaBackend:
    """The full-quality renderer (see the module docstring).

    Parameters
    ----------
    weights_dir: the release folder used when a job names none (and by :meth:`available`).
    resampler_kwargs, motion_module_kwargs: model hyper-parameters for non-standard releases
        (the tiny test weights); the official release needs neither.
    decode_chunk: frames decoded per :class:`FramesReady` in the reference/static schedules.
    paced: the pipeline waits for the consumer at every event (:func:`.lockstep.lockstep`);
        off by default, so the GPU never waits for the GUI. Tests that count model calls at an
        event turn it on.
    """

    name = "xdyna"
    capabilities = SPEC.capabilities

    def __init__(self, weights_dir: Path | str | None = None, *, resampler_kwargs: dict | None = None,
                 motion_module_kwargs: dict | None = None, decode_chunk: int = DECODE_CHUNK,
                 paced: bool = False) -> None:
        self.weights_dir = Path(weights_dir) if weights_dir is not None else None
        self.resampler_kwargs = resampler_kwargs
        self.motion_module_kwargs = motion_module_kwargs
        self.decode_chunk = max(1, int(decode_chunk))
        self.paced = bool(paced)
        self._lock = threading.Lock()
        self._pipe: Any = None
        self._pipe_key: tuple[str, str, str] | None = None

    # -- availability and loading -------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        """Whether torch & co. are installed and :attr:`weights_dir` holds a complete release."""
        missing = _missing_modules()
        if missing:
            return False, install_hint(missing)
        if self.weights_dir is None:
            return False, "No X-Dyna weights folder is set. Choose the release's pretrained_weights folder."
        from studio.backends.xdyna.layout import check_release

        problems = check_release(self.weights_dir, face=False)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return False, f"The X-Dyna weights in {self.weights_dir} are incomplete: {problems[0]}{more}."
        return True, f"ready (weights: {self.weights_dir})"

    def _weights_for(self, job: RenderJob) -> Path:
        folder = job.weights_dir if job.weights_dir is not None else self.weights_dir
        if folder is None:
            raise StudioError(
                "No X-Dyna weights",
                "The X-Dyna renderer needs the release's pretrained_weights folder. Set it in the "
                "render settings (or --weights DIR), or use the draft renderer.",
            )
        return Path(folder)

    def pipeline(self, weights_dir: Path, device: str = "auto", dtype: str = "auto", low_vram: bool = False) -> Any:
        """The loaded pipeline for these weights/device/precision (loaded once, then reused).

        ``low_vram``: a new load reads each model straight to where the low-VRAM setting keeps it
        (only the UNet on the GPU); a loaded pipeline is reused either way and
        :meth:`~.pipeline.XDynaPipeline.configure` moves its models for the setting."""
        missing = _missing_modules()
        if missing:
            raise StudioError(
                "X-Dyna renderer not installed",
                install_hint(missing),
            )
        from studio.backends.devices import render_device
        from studio.backends.xdyna.pipeline import XDynaPipeline, pick_dtype

        dev = render_device(device)  # a StudioError for an unknown device or CUDA without a GPU
        key = (str(Path(weights_dir).resolve()), str(dev), str(pick_dtype(dev, dtype)))
        with self._lock:
            if self._pipe is not None and self._pipe_key == key:
                return self._pipe
            self._pipe = None  # free the old one before loading the next
            pipe = XDynaPipeline.from_release(
                weights_dir, dev, dtype, resampler_kwargs=self.resampler_kwargs,
                motion_module_kwargs=self.motion_module_kwargs, low_vram=low_vram,
            )
            self._pipe, self._pipe_key = pipe, key
            return pipe

    def load(self) -> None:
        """Load the pipeline for :attr:`weights_dir` now."""
        self.pipeline(self._weights_for_dir())

    def prepare(self, job: RenderJob) -> None:
        """Load and place the pipeline ``render(job)`` will use (the GUI calls this while the user
        is still choosing): the job's weights folder, device, precision and memory options, so a
        low-VRAM job never has every model on the GPU first. Nothing happens without a folder
        (the render then says what is missing)."""
        if job.weights_dir is not None or self.weights_dir is not None:
            self._pipeline_for(job)

    def _pipeline_for(self, job: RenderJob) -> Any:
        """The pipeline for ``job``'s weights/device/precision, configured for its options."""
        from studio.backends.xdyna.pipeline import RunOptions

        s = job.settings
        pipe = self.pipeline(self._weights_for(job), s.device, s.dtype, job.options.low_vram)
        pipe.configure(RunOptions.from_settings(job.options))  # low VRAM, sequential CFG, torch.compile
        return pipe

    def close(self) -> None:
        """Drop the loaded pipeline (and, on a GPU, the memory torch cached for it)."""
        with self._lock:
            pipe, self._pipe, self._pipe_key = self._pipe, None, None
        if pipe is not None:
            del pipe
            import gc

            gc.collect()
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def _weights_for_dir(self) -> Path:
        if self.weights_dir is None:
            raise StudioError("No X-Dyna weights", "Choose the release's pretrained_weights folder first.")
        return self.weights_dir

    # -- rendering ------------------------------------------------------------------------------
    def render(self, job: RenderJob, cancel: CancelToken, store: ResumeStore | None = None) -> Iterator[RenderEvent]:
        """Render ``job``; yields Progress, StepPreview and FramesReady (see the module docstring).
        ``store``: the render folder's finished frames and saved latents (from
        :func:`~studio.core.render.run_job`; without one nothing is resumed or kept).

        Raises :class:`StudioError` for unusable inputs or weights and
        :class:`~studio.core.errors.RenderCancelled` when ``cancel`` is set."""
        weights = self._weights_for(job)
        plan = plan_for(job)
        store = store if store is not None else ResumeStore.nothing()
        cancel.raise_if_cancelled()

        yield Progress(0, 1, "load", f"Loading the X-Dyna weights from {weights}")
        t0 = time.perf_counter()
        pipe = self._pipeline_for(job)
        yield Progress(1, 1, "load", f"Weights ready in {time.perf_counter() - t0:.1f} s")
        cancel.raise_if_cancelled()

        use_face = self.uses_face(job, pipe, weights)
        note = ""
        if conditioning.uses_sface(job) and not use_face:
            note = " (S-Face off: the job has no driving video to take face pixels from)"
        yield Progress(0, 1, "prepare", "Drawing the pose maps" + (" and S-Face images" if use_face else note))
        call = self.pipeline_call(job, plan, use_face)
        yield Progress(1, 1, "prepare")
        cancel.raise_if_cancelled()
        compiled = getattr(pipe, "compiled", None)
        if compiled is not None:
            yield Progress(0, 1, "compile", start_note(compiled.failure))
        if job.options.schedule == "stream":
            yield from self._render_stream(job, pipe, call, plan, store, cancel)
        else:
            yield from self._render_whole(job, pipe, call, store, cancel)
        for message in (pipe.compile_news() if compiled is not None else []):
            yield Progress(1, 1, "compile", message)

    @staticmethod
    def uses_face(job: RenderJob, pipe: Any, weights: Path) -> bool:
        """Whether ``job`` renders with S-Face conditioning on ``pipe`` (raises when it asks for
        S-Face and the weights have none)."""
        from studio.extract.live_photo import is_held

        # a live photo takes its face pixels from the photo itself
        use_face = conditioning.uses_sface(job) and (job.driving_video is not None or is_held(job.pose))
        if use_face and getattr(pipe, "controlnet_face", None) is None:
            raise StudioError(
                "No S-Face ControlNet in the weights",
                f"The weights in {weights} have no S-Face ControlNet. Turn the face ControlNet off in "
                "the render settings, or use the full release.",
            )
        return use_face

    @staticmethod
    def pipeline_call(job: RenderJob, plan: WindowPlan, use_face: bool) -> XDynaCall:
        """The :class:`~.call.XDynaCall` of ``job`` (conditioning maps drawn here): what a render
        passes to the pipeline, and what a split render prepares on every worker."""
        from studio.backends.xdyna.call import XDynaCall

        s, o = job.settings, job.options
        pose = conditioning.pose_maps(conditioning.canvas_pose(job), job.frames)
        local, glob = conditioning.sface_maps(job) if use_face else (None, None)
        return XDynaCall(
            # framed photos go in already placed on the canvas; the official fit is done by the pipeline
            reference=np.ascontiguousarray(conditioning.reference_image(job) if conditioning.photo_is_placed(job)
                                           else job.reference),
            pose=pose, face_local=local, face_global=glob,
            num_inference_steps=o.steps, guidance_scale=o.cfg, seed=s.seed, plan=plan, use_face=use_face,
            prompt=o.prompt, negative_prompt=o.negative_prompt,
        )

    def _denoise(self, pipe: Any, call: XDynaCall, n: int, total_steps: int, cancel: CancelToken,
                 extra: dict | None = None, on_window: Any = None) -> Iterator[Any]:
        """Run the pipeline on a helper thread; yields its events, then ``("result", latents)`` last.

        The pipeline never waits for the consumer (:func:`.lockstep.lockstep`): a pending preview
        or progress event is replaced by a newer one, final frames queue. Previews are at latent
        resolution, of the frames the step changed, and throttled to at most
        :data:`PREVIEW_SHARE` of the render time (:class:`~.preview.PreviewSink`).
        ``on_window(emit, done)`` handles the stream schedule's finished windows."""
        from studio.backends.xdyna.preview import PreviewSink

        def work(emit, token) -> None:
            def on_step(step_index: int, t: int, x0: Any) -> None:
                emit(Progress(step_index + 1, total_steps, "denoise"))

            def on_preview(step_index: int, frames: tuple[int, ...], rgb: np.ndarray) -> None:
                emit(StepPreview(frames, rgb, step_index))

            hooks = dict(cancel=token, callback=on_step, output_type="latent",
                         preview=PreviewSink(on_preview, PREVIEW_SHARE), **(extra or {}))
            if on_window is not None:
                hooks["window_callback"] = lambda done: on_window(emit, done)
            out = pipe(call.replace(**hooks))
            emit(("result", out.latents))

        yield from lockstep(work, cancel, "xdyna", latest=_latest_key, paced=self.paced)

    def _decode(self, pipe: Any, latents: np.ndarray) -> np.ndarray:
        """``(1, 4, F, h, w)`` latents -> ``(F, H, W, 3)`` uint8 frames (VAE)."""
        import torch

        from studio.backends.xdyna.preview import to_uint8

        return to_uint8(pipe.decode(torch.from_numpy(np.ascontiguousarray(latents, np.float32))))

    def _render_whole(self, job: RenderJob, pipe: Any, call: XDynaCall, store: ResumeStore,
                      cancel: CancelToken) -> Iterator[RenderEvent]:
        n, steps = job.n_frames, job.options.steps

        def denoise() -> Iterator[Any]:
            with contextlib.closing(self._denoise(pipe, call, n, steps, cancel)) as events:
                for ev in events:
                    yield ev[1] if isinstance(ev, tuple) else ev  # ("result", latents) last

        def decode(chunks: Sequence[list[int]], latents: np.ndarray) -> list[np.ndarray]:
            return [self._decode(pipe, latents[:, :, chunk]) for chunk in chunks]

        yield from denoise_then_decode(store, n, denoise, decode, cancel, self.decode_chunk)

    def _render_stream(self, job: RenderJob, pipe: Any, call: XDynaCall, plan: WindowPlan, store: ResumeStore,
                       cancel: CancelToken) -> Iterator[RenderEvent]:
        windows = plan.windows()
        finals = final_frames(windows)
        # a saved window is skipped only if every frame it finalises is already on disk
        finished = {}
        for k in range(len(windows)):
            lat = store.load(k)
            if lat is not None and all(f in store.done for f in finals[k]):
                finished[k] = lat
        total = len(windows) * job.options.steps

        def on_window(emit, win: Any) -> None:
            store.save(win.index, win.latents)
            emit(FramesReady(tuple(int(f) for f in win.frames), win.video))

        extra = {"finished_windows": finished} if finished else None
        with contextlib.closing(self._denoise(pipe, call, job.n_frames, total, cancel, extra, on_window)) as events:
            for ev in events:
                if not isinstance(ev, tuple):
                    yield ev


def final_frames(windows: Sequence[Sequence[int]]) -> list[list[int]]:
    """For each stream window, the frames it makes final: those no later window covers."""
    out = []
    for k, frames in enumerate(windows):
        later = {f for w in windows[k + 1 :] for f in w}
        out.append([f for f in frames if f not in later])
    return out
