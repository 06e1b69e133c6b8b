"""The StableAnimator backend: a RenderJob -> events, on the :class:`StableAnimatorPipeline`.

The photo goes on the render canvas with the studio's official centre fit; the driving pose,
mapped onto the canvas (retargeted when the job asks, :func:`studio.extract.model_view.
model_pose_for_job`), is drawn as the official DWPose script draws it
(:mod:`.pose_images`). The face embedding comes from a *face embedder*: a callable taking the
canvas photo (H, W, 3) uint8 and returning the raw 512-d ArcFace embedding, or ``None`` when it
finds no face (the official code then uses zeros; the studio refuses, since identity is the
point of this backend).

All frames of a clip are denoised together (every tile shares frame 0 and the blend couples
neighbours), so frames become final only after the last step; they are then decoded and
streamed chunk by chunk (``decode_chunk_size``) as :class:`FramesReady`. Every step emits
:class:`Progress` and a :class:`StepPreview` of the scheduler's clean-latent estimate (a linear
latent -> RGB projection, no VAE); the cancel token is checked at every step and decode chunk.
The same job, options and seed give the same frames.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from studio.backends.stableanimator.layout import missing_files
from studio.backends.stableanimator.options import StableAnimatorOptions
from studio.backends.stableanimator.spec import SPEC
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
                 device: str = "cpu") -> None:
        self.weights_dir = Path(weights_dir) if weights_dir is not None else None
        self.face_embedder = face_embedder
        self.device = device
        self._pipe = None

    def available(self) -> tuple[bool, str]:
        """Whether torch, the weights and a face embedder are there; if not, what is missing."""
        missing = _missing_modules()
        if missing:
            return False, f"{', '.join(missing)} not installed (StableAnimator needs the diffusion stack)."
        if self.weights_dir is None:
            return False, "No StableAnimator weights folder set (Animation/ and SVD/ from the official release)."
        files = missing_files(self.weights_dir)
        if files:
            return False, f"{self.weights_dir} lacks {', '.join(files)}."
        if self.face_embedder is None:
            return False, ("No face embedder: StableAnimator needs the ArcFace embedding of the photo's face "
                           "(antelopev2 glintr100); the studio cannot compute it yet.")
        return True, "ready"

    def load(self):
        """The pipeline on the tiny-or-full release (loaded once)."""
        if self._pipe is None:
            from studio.backends.stableanimator.components import load_components
            from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

            ok, why = self.available()
            if not ok:
                raise StudioError("StableAnimator is not available", why)
            self._pipe = StableAnimatorPipeline(load_components(self.weights_dir), device=self.device)
        return self._pipe

    def close(self) -> None:
        """Drop the models."""
        self._pipe = None

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
        if self.face_embedder is None:
            raise StudioError("StableAnimator is not available", self.available()[1])
        embedding = self.face_embedder(photo)
        if embedding is None:
            raise StudioError("No face in the photo", "StableAnimator keeps the identity of the photo's face, but no "
                              "face was found in it. Use a photo where the face is visible and large enough.")
        o = job.options if isinstance(job.options, StableAnimatorOptions) else StableAnimatorOptions()
        return RenderRequest(reference=photo, poses=poses, face_embedding=np.asarray(embedding, np.float32),
                             steps=o.steps, min_guidance=o.min_guidance, max_guidance=o.max_guidance,
                             tile_size=o.tile_size, tile_overlap=o.tile_overlap,
                             noise_aug_strength=o.noise_aug_strength, decode_chunk_size=o.decode_chunk_size,
                             face_strength=o.face_strength, seed=job.settings.seed)

    def render(self, job: RenderJob, cancel: CancelToken) -> Iterator[RenderEvent]:
        """Render ``job``: load, prepare, denoise (previews), decode (frames streamed by chunk).

        Resume: frames already in the render folder under this job's key are not emitted again; the
        clip is denoised again (every frame depends on all of them), and only the decode chunks that
        hold a missing frame are decoded. The same job gives the same bytes, so the result equals an
        uninterrupted render."""
        from studio.backends.stableanimator.preview import preview_frames, to_uint8

        n = job.n_frames
        done = finished_positions(job.output_dir, job.fingerprint(), job.frames)
        if len(done) == n:
            return
        t0 = time.perf_counter()
        yield Progress(0, 1, "load", f"Loading the StableAnimator weights from {self.weights_dir}")
        pipe = self.load()
        yield Progress(1, 1, "load", f"Weights ready in {time.perf_counter() - t0:.1f} s")
        cancel.raise_if_cancelled()
        req = self.request(job)
        prep = pipe.prepare(req)
        latents = prep.latents
        steps = pipe.denoise(prep)
        try:
            for state in steps:
                latents = state.latents
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
            frames = to_uint8((decoded / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy())
            yield FramesReady(tuple(idx), frames[[k - start for k in idx]])
            yield Progress(idx[-1] + 1, n, "decode")
