"""The StableAnimator backend: a RenderJob -> events, on the :class:`StableAnimatorPipeline`.

The photo goes on the render canvas with the studio's official centre fit; the driving pose,
mapped onto the canvas (retargeted when the job asks, :func:`studio.extract.model_view.
model_pose_for_job`), is drawn as the official DWPose script draws it
(:mod:`.pose_images`). The face embedding is taken from the photo at its own size, as the
official inference takes it: the antelopev2 models of the weights folder (``models/antelopev2/``:
SCRFD detection, the largest face, ArcFace glintr100 on onnxruntime; :mod:`.face_models`),
loaded once with the pipeline. A *face embedder* may be injected instead (tests): a callable
taking the photo (H, W, 3) uint8 and returning the raw 512-d embedding, or ``None`` for no face.
Without a face the official code uses a zero embedding; so does the studio, and it says so (a
``face`` progress message, and the spec's photo note that the command line prints and the GUI
shows): the render keeps the pose, not the identity.

All frames of a clip are denoised together (every tile shares frame 0 and the blend couples
neighbours), so frames become final only after the last step; they are then decoded and
streamed chunk by chunk (``decode_chunk_size``) as :class:`FramesReady`. Every step emits
:class:`Progress` and a :class:`StepPreview` of the scheduler's clean-latent estimate (a linear
latent -> RGB projection, no VAE); the cancel token is checked at every step and decode chunk.
The same job, options and seed give the same frames.

Device and precision are the job's render settings (``auto``: CUDA in float16 when torch sees a
GPU, as the official inference runs; else the CPU in float32; :mod:`studio.backends.devices`); the
pipeline and the face models are loaded once per weights folder (the job's, else the backend's),
device and precision. ``model_offload`` keeps each model in CPU memory except for its phase of the
render (:mod:`.placement`); it only moves the loaded models and changes no frame.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from studio.backends.compiled import start_note
from studio.backends.stableanimator.layout import ARCFACE_FILE, face_problems, missing_files
from studio.backends.stableanimator.options import StableAnimatorOptions
from studio.backends.stableanimator.spec import SPEC, hjb_missing
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.events import FramesReady, Progress, RenderEvent, StepPreview
from studio.core.jobs import RenderJob
from studio.core.render_store import finished_positions

FaceEmbedder = Callable[[np.ndarray], "np.ndarray | None"]

LICENCE_NOTE = ("StableAnimator's code and weights are MIT; SVD-xt is under the Stability AI Community licence "
                "and the insightface antelopev2 face models are for non-commercial research only.")


def _missing_modules() -> list[str]:
    return [m for m in ("torch", "diffusers", "transformers") if importlib.util.find_spec(m) is None]


class StableAnimatorBackend:
    """Renders jobs with StableAnimator (see the module docstring)."""

    name = SPEC.name
    capabilities = SPEC.capabilities

    def __init__(self, weights_dir: Path | str | None = None, face_embedder: FaceEmbedder | None = None,
                 device: str = "auto", dtype: str = "auto") -> None:
        self.weights_dir = Path(weights_dir) if weights_dir is not None else None
        self.face_embedder = face_embedder
        #: where :meth:`load` computes without a job (a render follows its settings' device and precision)
        self.device, self.dtype = device, dtype
        self._pipe = None
        self._pipe_key: tuple[str, str, str] | None = None
        self._faces = None
        self._faces_key: tuple[str, str] | None = None
        #: The face the last request was made with (:class:`~.face_models.FaceAnalysis`).
        self.last_face = None

    def available(self) -> tuple[bool, str]:
        """Whether torch, the weights and the face models (or an injected embedder) are there; if not,
        what is missing."""
        return self._available(self.weights_dir)

    def _available(self, folder: Path | None) -> tuple[bool, str]:
        missing = _missing_modules()
        if missing:
            return False, f"{', '.join(missing)} not installed (StableAnimator needs the diffusion stack)."
        if folder is None:
            return False, "No StableAnimator weights folder set (Animation/ and SVD/ from the official release)."
        files = missing_files(folder)
        if files:
            return False, f"{folder} lacks {', '.join(files)}."
        if self.face_embedder is None:
            problems = face_problems(folder)
            if problems:
                return False, ("StableAnimator needs the ArcFace embedding of the photo's face: "
                               + "; ".join(problems) + ".")
        return True, "ready"

    def _folder(self, job: RenderJob) -> Path | None:
        """The job's weights folder, else the backend's."""
        return Path(job.weights_dir) if job.weights_dir is not None else self.weights_dir

    def hjb_available(self, folder: Path | None = None) -> tuple[bool, str]:
        """Whether the HJB face optimisation can run (its ArcFace file is in the weights folder:
        ``folder``, default :attr:`weights_dir`)."""
        folder = folder if folder is not None else self.weights_dir
        if folder is None or not (folder / ARCFACE_FILE).is_file():
            return False, f"HJB unavailable: {hjb_missing(folder or 'the weights folder')}."
        return True, "ready"

    def pipeline(self, weights_dir: Path | str | None = None, device: str = "auto", dtype: str = "auto",
                 offload: bool = False, compile: bool = False):
        """The pipeline on the release in ``weights_dir`` (default :attr:`weights_dir`) on ``device`` in
        ``dtype`` (the render settings' names: ``auto`` is CUDA and float16 when there is a GPU, as the
        official inference runs, else the CPU and float32), with the face models on the same device.

        Loaded once and reused while the folder, device and precision stay; another of them loads again
        (the old pipeline dropped first). ``offload`` (model offload) only moves the loaded models;
        ``compile`` switches the loaded pipeline's compiled calls on or off (compiled code is kept)."""
        from studio.backends.devices import pick_dtype, render_device

        folder = Path(weights_dir) if weights_dir is not None else self.weights_dir
        dev = render_device(device)  # a StudioError for an unknown device or CUDA without a GPU
        dt = pick_dtype(dev, dtype)
        key = (str(folder.resolve()) if folder is not None else "-", str(dev), str(dt))
        if self._pipe is None or self._pipe_key != key:
            from studio.backends.stableanimator.components import load_components
            from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

            ok, why = self._available(folder)
            if not ok:
                raise StudioError("StableAnimator is not available", why)
            self.close()
            self._load_faces(folder, str(dev))
            self._pipe = StableAnimatorPipeline(load_components(folder), device=dev, dtype=dt, offload=offload)
            self._pipe_key = key
        self._pipe.set_compile(False)  # (compile and offload never together)
        self._pipe.placement.set_offload(offload)
        self._pipe.set_compile(compile)
        return self._pipe

    def load(self):
        """The pipeline on :attr:`weights_dir` on the backend's own device and precision (loaded once)."""
        return self.pipeline(self.weights_dir, self.device, self.dtype)

    def prepare(self, job: RenderJob) -> None:
        """Load the pipeline ``render(job)`` will use, placed as the job says (the GUI calls this
        while the user is still choosing): with model offload nothing stays on the GPU until its
        phase. Nothing happens without a weights folder (the render then says what is missing)."""
        if self._folder(job) is not None:
            self._pipeline_for(job).placement.release()

    def _pipeline_for(self, job: RenderJob):
        """The pipeline for ``job``'s weights folder, device, precision, model-offload and compile options."""
        s, o = job.settings, job.options
        return self.pipeline(self._folder(job), s.device, s.dtype, bool(getattr(o, "model_offload", False)),
                             bool(getattr(o, "torch_compile", False)))

    def _load_faces(self, folder: Path | None = None, device: str | None = None):
        """The face models of ``folder`` on ``device`` (default: those loaded, else :attr:`weights_dir` on
        the backend's device); ``None`` with an injected embedder."""
        if self.face_embedder is not None:
            return None
        if folder is None and device is None and self._faces is not None:
            return self._faces
        folder = folder if folder is not None else self.weights_dir
        device = str(device if device is not None else self.device)
        if self._faces is None or self._faces_key != (str(folder), device):
            from studio.backends.stableanimator.face_models import FaceModels

            self._faces, self._faces_key = FaceModels(folder, device), (str(folder), device)
        return self._faces

    def close(self) -> None:
        """Drop the models (the face sessions too) and, on a GPU, the memory torch cached for them."""
        had = self._pipe is not None
        self._pipe, self._pipe_key = None, None
        self._faces, self._faces_key = None, None
        if had:
            import gc

            import torch

            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()

    def face(self, photo: np.ndarray):
        """The :class:`~.face_models.FaceAnalysis` of ``photo`` (H, W, 3) uint8 at its own size."""
        from studio.backends.stableanimator.face_models import EMBEDDING_DIM, NO_FACE, FaceAnalysis

        if self.face_embedder is None:
            if self._faces is None:  # loaded with the pipeline; else from the backend's own folder
                ok, why = self.available()
                if not ok:
                    raise StudioError("StableAnimator is not available", why)
            return self._load_faces().analyse(photo)
        embedding = self.face_embedder(photo)
        if embedding is None:
            return FaceAnalysis(np.zeros(EMBEDDING_DIM, np.float32), None, (), NO_FACE)
        return FaceAnalysis(np.asarray(embedding, np.float32).reshape(-1), None)

    def request(self, job: RenderJob):
        """The :class:`RenderRequest` of ``job`` (photo, pose images and face embedding drawn here)."""
        from studio.backends.stableanimator.pipeline import RenderRequest
        from studio.backends.stableanimator.pose_images import draw_pose_image
        from studio.extract.fit import fit_image
        from studio.extract.model_view import REFERENCE_FIT, model_pose_for_job

        if not job.frames:
            raise StudioError("Nothing to render", "The job has no frames; choose a frame range inside the clip.")
        w, h = job.settings.width, job.settings.height
        photo = np.ascontiguousarray(fit_image(job.reference, w, h, REFERENCE_FIT))
        pose = model_pose_for_job(job)
        for i in job.frames:
            if not 0 <= i < len(pose):
                raise StudioError("Frame out of range", f"The render asks for driving frame {i} but the pose track "
                                  f"has {len(pose)} frames. Choose a frame range inside the clip.")
        poses = np.stack([draw_pose_image(pose.body[i], pose.body_conf[i], pose.hands[i], pose.hands_conf[i], w, h)
                          for i in job.frames])
        self.last_face = self.face(np.ascontiguousarray(job.reference))
        o = job.options if isinstance(job.options, StableAnimatorOptions) else StableAnimatorOptions()
        hjb = self.hjb_request(job, pose, w, h, o) if o.hjb else {}
        return RenderRequest(reference=photo, poses=poses, face_embedding=self.last_face.embedding,
                             steps=o.steps, min_guidance=o.min_guidance, max_guidance=o.max_guidance,
                             tile_size=o.tile_size, tile_overlap=o.tile_overlap,
                             noise_aug_strength=o.noise_aug_strength, decode_chunk_size=o.decode_chunk_size,
                             face_strength=o.face_strength, seed=job.settings.seed, **hjb)

    def hjb_request(self, job: RenderJob, canvas_pose, w: int, h: int, o: StableAnimatorOptions) -> dict:
        """The HJB fields of a request: settings, the frames' and the photo's face boxes (:mod:`.face_boxes`)."""
        from studio.backends.stableanimator.face_boxes import frame_boxes, head_box, pixel_box, whole_frame
        from studio.backends.stableanimator.hjb import HJBSettings
        from studio.extract.fit import CanvasFit
        from studio.extract.model_view import REFERENCE_FIT, ModelView

        ok, why = self.hjb_available(self._folder(job))
        if not ok:
            raise StudioError("HJB face optimisation unavailable", why)
        fit = ModelView.for_job(job).driving_fit(job.pose)
        face = fit.face_to_canvas(job.face) if job.face is not None else None
        boxes = frame_boxes(canvas_pose, fit.pose_to_canvas(job.pose), face, job.frames, w, h)
        ref_box = None
        ref, found = job.reference_pose, self.last_face.face if self.last_face is not None else None
        if found is not None:  # the detection the embedding came from, on the canvas (as the official mask)
            ph, pw = job.reference.shape[:2]
            photo_fit = CanvasFit.create(pw, ph, w, h, REFERENCE_FIT)
            (x0, y0), (x1, y1) = photo_fit.to_canvas_px(np.array(found.box, np.float64).reshape(2, 2) / (pw, ph))
            ref_box = pixel_box(x0, y0, x1, y1, w, h)
        elif ref is not None and len(ref):
            ref_canvas = CanvasFit.create(ref.width, ref.height, w, h, REFERENCE_FIT).pose_to_canvas(ref)
            ref_box = head_box(ref_canvas.body[0], ref_canvas.body_conf[0], w, h)
        return {"hjb": HJBSettings(o.hjb_start_step, o.hjb_end_step, o.hjb_iterations), "face_boxes": boxes,
                "reference_face_box": ref_box or whole_frame(w, h)}

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        """Render ``job``: load, prepare, denoise (previews), decode (frames streamed by chunk).

        Resume: frames already in the render folder under this job's key are not emitted again; the
        clip is denoised again (every frame depends on all of them), and only the decode chunks that
        hold a missing frame are decoded. The same job gives the same bytes, so the result equals an
        uninterrupted render."""
        n = job.n_frames
        done = finished_positions(job.output_dir, job.fingerprint(), job.frames)
        if len(done) == n:
            return
        t0 = time.perf_counter()
        s, o = job.settings, job.options
        folder = self._folder(job)
        yield Progress(0, 1, "load", f"Loading the StableAnimator weights from {folder}")
        pipe = self._pipeline_for(job)
        yield Progress(1, 1, "load", f"Weights ready in {time.perf_counter() - t0:.1f} s")
        try:
            yield from self._render(job, pipe, done, cancel)
        finally:
            pipe.placement.release()  # model offload: nothing stays on the GPU between renders

    def _render(self, job: RenderJob, pipe, done: set[int], cancel: CancelToken) -> Iterator[RenderEvent]:
        from studio.backends.stableanimator.preview import preview_frames, to_uint8

        n = job.n_frames
        cancel.raise_if_cancelled()
        req = self.request(job)
        face = self.last_face
        yield Progress(1, 1, "face", face.message or (f"face found (score {face.face.score:.2f})" if face.face
                                                      else "face embedding given"))
        prep = pipe.prepare(req)
        latents = prep.latents
        if pipe.compile:
            yield Progress(0, 1, "compile", start_note(pipe.compiled.failure, "its first step and decode"))
        steps = pipe.denoise(prep)
        try:
            for state in steps:
                latents = state.latents
                yield from _compile_news(pipe)
                yield Progress(state.step + 1, state.steps, "denoise")
                yield StepPreview(tuple(range(n)), preview_frames(state.denoised, (job.settings.height,
                                                                                   job.settings.width)), state.step)
                if cancel.cancelled:
                    raise RenderCancelled()
        finally:
            steps.close()
        chunk = req.decode_chunk_size
        for start in range(0, n, chunk):
            idx = [k for k in range(start, min(start + chunk, n)) if k not in done]
            if not idx:
                continue
            cancel.raise_if_cancelled()
            decoded = pipe.decode(latents[:, start: start + chunk], chunk)
            yield from _compile_news(pipe)
            frames = to_uint8((decoded / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy())
            yield FramesReady(tuple(idx), frames[[k - start for k in idx]])
            yield Progress(idx[-1] + 1, n, "decode")


def _compile_news(pipe) -> Iterator[Progress]:
    """Progress messages for what the pipeline's compiled calls just compiled, or why compiling failed
    (each said once)."""
    if pipe.compile:
        for message in pipe.compiled.news():
            yield Progress(1, 1, "compile", message)
