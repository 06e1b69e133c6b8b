"""StableAnimatorPipeline: reference photo + pose images + face embedding -> frames.

The numbers follow the official ``InferenceAnimationPipeline`` (commit 020e7f2):

1. CLIP: the photo in [-1, 1] is resized to 224x224 with SVD's antialiased bicubic resize, mapped
   back to [0, 1], normalised with CLIP's mean/std and embedded (``image_embeds``, one token).
2. ID tokens: the face encoder turns the raw ArcFace embedding and the CLIP token into 4 tokens;
   the conditional encoder states are ``[CLIP, ID x4]``, the unconditional ones all zero.
3. Reference latents: ``photo + noise_aug * N(0, 1)`` (the first random draw) through the VAE
   encoder, distribution mode, *not* multiplied by the VAE scaling factor; zeros for uncond.
4. Time ids ``[fps - 1, motion_bucket_id, noise_aug]``; the starting noise covers one tile
   (the second draw) scaled by ``init_noise_sigma`` and repeats (frame f gets noise f mod tile).
5. :func:`~studio.backends.stableanimator.sampler.denoise_tiled` (with the HJB face optimisation
   of :mod:`.hjb` in its refine steps when ``hjb`` is set), then the VAE decodes
   ``latents / scaling_factor`` in chunks of ``decode_chunk_size`` frames.

Speed (the same arithmetic, reordered at most): the frame-only 3D convolutions of the UNet and the
VAE run as 2D ones (:mod:`~studio.backends.stableanimator.temporal_conv`), PoseNet runs once per
tile per render rather than per step, the scheduler is built once per pipeline, and small tiles
share UNet calls: ``tile_batch_pixels`` (default 4096 on the CPU, 0 elsewhere) is the most latent
pixels x frames x 2 (CFG) one call may hold before the next tile gets a call of its own (one tile
per call at least; batching pays off on the CPU only while calls are small). ``compile`` (opt-in)
runs the UNet's steps and the final decode through ``torch.compile`` (:mod:`.compiled`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import _resize_with_antialiasing

from studio.backends.stableanimator.attention import set_face_strength
from studio.backends.stableanimator.compiled import CompiledModels
from studio.backends.stableanimator.components import Components
from studio.backends.stableanimator.feed_forward import use_blocked_feed_forward
from studio.backends.stableanimator.hjb import FaceRefiner, HJBSettings, reference_embedding
from studio.backends.stableanimator.memory_format import use_channels_last
from studio.backends.stableanimator.placement import Placement, model_units
from studio.backends.stableanimator.sampler import PoseInjection, StepState, denoise_tiled, guidance_ramp
from studio.backends.stableanimator.temporal_conv import use_frame_conv2d
from studio.backends.stableanimator.tiles import tile_indices
from studio.core.errors import StudioError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass
class RenderRequest:
    """One StableAnimator render; images are uint8 (H, W, 3) at the output size."""

    reference: np.ndarray
    poses: np.ndarray  # (F, H, W, 3) uint8 DWPose-style images
    face_embedding: np.ndarray  # (512,) raw ArcFace embedding (zeros when no face was found)
    steps: int = 25
    min_guidance: float = 3.0
    max_guidance: float = 3.0
    tile_size: int = 16
    tile_overlap: int = 4
    noise_aug_strength: float = 0.02
    fps: int = 7
    motion_bucket_id: float = 127.0
    decode_chunk_size: int = 4
    face_strength: float = 1.0
    seed: int = 23123134
    #: False: stop at the final latents (``frames`` and ``decoded`` are None).
    decode: bool = True
    #: Replay: ``noise_aug`` (1, 3, H, W) and ``init_noise`` (1, tile, 4, h, w) instead of drawing.
    draws: dict[str, np.ndarray] = field(default_factory=dict)
    #: HJB face optimisation (None: off, the basic pipeline). Needs the ArcFace model and the boxes.
    hjb: HJBSettings | None = None
    #: (F, 4) per-frame face boxes ``y0, y1, x0, x1`` (inclusive pixels at the output size), and the photo's.
    face_boxes: np.ndarray | None = None
    reference_face_box: tuple[int, int, int, int] | None = None
    #: Recompute each decode chunk in HJB's backward pass instead of keeping its graph (same numbers).
    hjb_checkpoint: bool = True


@dataclass
class Prepared:
    """Everything the denoising loop needs, computed once per render by :meth:`StableAnimatorPipeline.prepare`."""

    req: RenderRequest
    scheduler: object
    latents: torch.Tensor
    image_latents: torch.Tensor
    encoder_states: torch.Tensor
    added_time_ids: torch.Tensor
    pose: list[torch.Tensor]
    guidance: torch.Tensor
    record: dict[str, torch.Tensor]
    refiner: FaceRefiner | None = None


@dataclass
class RenderResult:
    """Frames in [0, 1] (F, H, W, 3) float32 plus the intermediates the parity tests compare."""

    frames: np.ndarray | None
    decoded: torch.Tensor | None
    latents: torch.Tensor
    intermediates: dict[str, torch.Tensor]


class StableAnimatorPipeline:
    """The StableAnimator renderer on diffusers' SVD-xt modules (see the module docstring)."""

    def __init__(self, components: Components, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, offload: bool = False,
                 tile_batch_pixels: int | None = None, compile: bool = False) -> None:
        self.c = components
        self.device, self.dtype = torch.device(device), dtype
        #: where the models are when: all on the device, or each only for its phase (``offload``, :mod:`.placement`)
        self.placement = Placement(model_units(components), self.device, offload)
        home = self.placement.home()
        for m in (components.unet, components.vae, components.image_encoder, components.pose_net,
                  components.face_encoder, components.arcface):
            if m is not None:
                m.to(home, dtype).eval().requires_grad_(False)
        use_frame_conv2d(components.unet)
        use_frame_conv2d(components.vae)
        use_blocked_feed_forward(components.unet)  # a block of tokens at a time, on the CPU only
        if self.device.type == "cpu":
            # oneDNN's layout for the decoder's wide levels (the UNet's levels, where group norm is
            # slower channels-last, stay contiguous); see :mod:`.memory_format`
            use_channels_last(components.vae.decoder)
        self.placement.start()
        #: tiles share a UNet call while it holds at most this many latent pixels x frames x 2 (see the module doc)
        self.tile_batch_pixels = (4096 if self.device.type == "cpu" else 0) if tile_batch_pixels is None \
            else tile_batch_pixels
        self.vae_scale = 2 ** (len(components.vae.config.block_out_channels) - 1)
        #: where the scheduler keeps its sigmas (the compute device; the CPU for a meta-device model)
        self.scheduler_device = self.device
        #: built once (diffusers' Euler init loops over its 1000 training sigmas in Python); each render gets a copy
        self._scheduler = components.make_scheduler()
        #: the compiled UNet and decoder (made at the first ``compile``, kept while the pipeline lives)
        self.compiled: CompiledModels | None = None
        self.compile = False
        self.set_compile(compile)

    def set_compile(self, on: bool) -> None:
        """Run the UNet's steps and the final decode compiled (``on``) or eagerly. Compiled code is
        kept when switched off, so switching back does not compile again."""
        if on and self.placement.offload:
            raise StudioError("Compile and model offload do not combine", "Model offload moves weights during "
                              "the calls that torch.compile would compile; switch one of them off.")
        if on and self.compiled is None:
            self.compiled = CompiledModels(self.c.unet, self.c.vae.decoder)
        self.compile = bool(on)

    # -- conditioning ---------------------------------------------------------------------------
    def _pixels(self, image: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(image)).float().div(255.0).permute(2, 0, 1)[None]

    def clip_embedding(self, reference: np.ndarray) -> torch.Tensor:
        """(1, 1, C) CLIP image embedding of the photo."""
        x = _resize_with_antialiasing(self._pixels(reference) * 2.0 - 1.0, (224, 224))
        x = (x + 1.0) / 2.0
        mean = torch.tensor(CLIP_MEAN)[None, :, None, None]
        std = torch.tensor(CLIP_STD)[None, :, None, None]
        x = ((x - mean) / std).to(self.device, self.dtype)
        return self.c.image_encoder(x).image_embeds[:, None]

    def id_tokens(self, face_embedding: np.ndarray, clip: torch.Tensor) -> torch.Tensor:
        """(1, 4, C) ID tokens from the raw ArcFace embedding and the CLIP token."""
        emb = torch.as_tensor(np.asarray(face_embedding, np.float32)).reshape(1, -1).to(self.device, self.dtype)
        return self.c.face_encoder(emb, clip)

    def reference_latents(self, reference: np.ndarray, noise: torch.Tensor, strength: float) -> torch.Tensor:
        """(1, 4, h, w) VAE mode of the noise-augmented photo (unscaled, as the official pipeline; a float16
        VAE whose config says ``force_upcast`` encodes in float32, as there)."""
        image = self._pixels(reference) * 2.0 - 1.0
        vae, dtype = self.c.vae, self.c.vae.dtype
        upcast = dtype in (torch.float16, torch.bfloat16) and vae.config.force_upcast  # as the official pipeline
        if upcast:
            vae.to(torch.float32)
        try:
            image = (image + strength * noise).to(self.device, vae.dtype)
            return vae.encode(image).latent_dist.mode().to(self.dtype)
        finally:
            if upcast:
                vae.to(dtype)

    def pose_features(self, poses: np.ndarray, tiles: list[list[int]]) -> list[torch.Tensor]:
        """PoseNet features (T, C0, h, w) of each tile's pose images mapped to [-1, 1]."""
        p = torch.from_numpy(np.ascontiguousarray(poses)).float() / 127.5 - 1
        p = p.permute(0, 3, 1, 2)
        return [self.c.pose_net(p[idx].to(self.device, self.dtype)) for idx in tiles]

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, chunk: int) -> torch.Tensor:
        """(1, F, 4, h, w) latents -> (F, 3, H, W) decoded frames in about [-1, 1], float32 on the CPU."""
        z = (latents.flatten(0, 1) / self.c.vae.config.scaling_factor).to(self.c.vae.dtype)
        decoder = self.compiled.decoder if self.compile else self.c.vae.decoder
        out = []
        for i in range(0, z.shape[0], chunk):  # as AutoencoderKLTemporalDecoder.decode, one clip of len(part) frames
            part = z[i: i + chunk]
            only_images = torch.zeros(1, len(part), dtype=part.dtype, device=part.device)
            out.append(decoder(part, num_frames=len(part), image_only_indicator=only_images).float().cpu())
        return torch.cat(out)

    # -- the render -----------------------------------------------------------------------------
    def _check(self, req: RenderRequest) -> tuple[int, int, int]:
        frames, height, width = req.poses.shape[:3]
        if req.reference.shape[:2] != (height, width):
            raise StudioError("Reference and poses differ in size",
                              f"The photo is {req.reference.shape[1]}x{req.reference.shape[0]} but the pose images "
                              f"are {width}x{height}; resize both to the output size first.")
        if height % 8 or width % 8:
            raise StudioError("Size not a multiple of 8", f"{width}x{height}: StableAnimator needs a width and "
                              "height divisible by 8.")
        return frames, height, width

    def _draw(self, req: RenderRequest, name: str, shape: tuple, gen: torch.Generator) -> torch.Tensor:
        if name in req.draws:
            d = torch.from_numpy(np.asarray(req.draws[name], np.float32))
            if tuple(d.shape) != tuple(shape):
                raise ValueError(f"replayed draw {name} has shape {tuple(d.shape)}, expected {tuple(shape)}")
            return d
        return torch.randn(shape, generator=gen, dtype=torch.float32)

    @torch.no_grad()
    def prepare(self, req: RenderRequest, keep: bool = False) -> Prepared:
        """Encode the photo, face and poses, draw the noise and set the scheduler for ``req`` (``keep``:
        the HJB refiner records what it computes)."""
        frames, height, width = self._check(req)
        tiles = tile_indices(frames, req.tile_size, req.tile_overlap)
        set_face_strength(self.c.unet, req.face_strength)
        gen = torch.Generator("cpu").manual_seed(req.seed)
        clip = self.clip_embedding(req.reference)
        ids = self.id_tokens(req.face_embedding, clip)
        cond = torch.cat([clip, ids], dim=1)
        states = torch.cat([torch.zeros_like(cond), cond])
        noise = self._draw(req, "noise_aug", (1, 3, height, width), gen)
        ref = self.reference_latents(req.reference, noise, req.noise_aug_strength)
        image_latents = torch.cat([torch.zeros_like(ref), ref])[:, None].repeat(1, frames, 1, 1, 1)
        ids_time = torch.tensor([[req.fps - 1, req.motion_bucket_id, req.noise_aug_strength]], dtype=self.dtype)
        scheduler = copy.deepcopy(self._scheduler)
        scheduler.set_timesteps(req.steps, device=self.scheduler_device)
        h, w = height // self.vae_scale, width // self.vae_scale
        init = self._draw(req, "init_noise", (1, req.tile_size, 4, h, w), gen)
        latents = init.to(self.device, self.dtype) * scheduler.init_noise_sigma
        latents = latents.repeat(1, frames // req.tile_size + 1, 1, 1, 1)[:, :frames]
        pose = self.pose_features(req.poses, tiles)
        record = {"image_embeddings": torch.cat([torch.zeros_like(clip), clip]), "id_tokens": ids,
                  "unet_encoder_hidden_states": states, "image_latents": torch.cat([torch.zeros_like(ref), ref]),
                  "noise_aug_noise": noise, "init_noise": init, "pose_features": torch.stack(pose)}
        return Prepared(req, scheduler, latents, image_latents, states, ids_time.repeat(2, 1).to(self.device), pose,
                        guidance_ramp(req.min_guidance, req.max_guidance, frames, self.device, self.dtype), record,
                        self.face_refiner(req, frames, keep=bool(req.hjb) and keep))

    def face_refiner(self, req: RenderRequest, frames: int, keep: bool = False) -> FaceRefiner | None:
        """The HJB refiner of ``req`` (None when HJB is off); a StudioError when its inputs are missing."""
        if req.hjb is None:
            return None
        if self.c.arcface is None:
            raise StudioError("HJB face optimisation unavailable", "The ArcFace weights (Animation/glintr100_torch.pth) "
                              "are not loaded, so the faces cannot be optimised. Put the file in the weights folder "
                              "or switch HJB off.")
        h, w = req.reference.shape[:2]
        boxes = np.asarray(req.face_boxes if req.face_boxes is not None else [(0, h - 1, 0, w - 1)] * frames)
        if boxes.shape != (frames, 4):
            raise ValueError(f"face_boxes has shape {boxes.shape}, expected ({frames}, 4)")
        ref_box = req.reference_face_box if req.reference_face_box is not None else (0, h - 1, 0, w - 1)
        ref = reference_embedding(self.c.arcface, req.reference, ref_box, self.device, self.dtype)
        return FaceRefiner(self.c.vae, self.c.arcface, ref, boxes, req.hjb, req.decode_chunk_size,
                           checkpoint=req.hjb_checkpoint, keep=keep)

    def denoise(self, prep: Prepared, on_unet: Callable[[int, int, torch.Tensor], None] | None = None
                ) -> Iterator[StepState]:
        """The denoising loop of a prepared render, one :class:`StepState` per step."""
        injection = PoseInjection(self.c.unet)
        tile_pixels = 2 * prep.req.tile_size * prep.latents.shape[-2] * prep.latents.shape[-1]
        try:
            with torch.no_grad():
                unet = self.compiled.unet if self.compile else self.c.unet
                yield from denoise_tiled(unet, injection, prep.scheduler, prep.latents, prep.image_latents,
                                         prep.encoder_states, prep.added_time_ids, prep.pose, prep.req.tile_size,
                                         prep.req.tile_overlap, prep.guidance, on_unet, prep.refiner,
                                         tiles_per_call=self.tile_batch_pixels // tile_pixels)
        finally:
            injection.remove()

    @torch.no_grad()
    def __call__(self, req: RenderRequest, on_step: Callable[[StepState], None] | None = None,
                 keep: bool = False) -> RenderResult:
        """Render ``req``; ``keep`` records the intermediates the parity tests compare."""
        prep = self.prepare(req, keep=keep)
        unet_step0: list[torch.Tensor] = []
        states: list[StepState] = []

        def on_unet(step: int, tile: int, out: torch.Tensor) -> None:
            if keep and step == 0:
                unet_step0.append(out.detach().float().cpu())

        latents = prep.latents
        for state in self.denoise(prep, on_unet):
            latents = state.latents
            if keep:
                states.append(state)
            if on_step is not None:
                on_step(state)
        decoded = self.decode(latents, req.decode_chunk_size) if req.decode else None
        video = None if decoded is None else (decoded / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
        rec: dict[str, torch.Tensor] = {}
        if keep:
            outs = [s.latents.float().cpu() for s in states]
            rec = {**prep.record, "unet_step0_outputs": torch.stack(unet_step0), "step_latents_out": torch.stack(outs),
                   "step_latents_in": torch.stack([prep.latents.float().cpu(), *outs[:-1]]),
                   "step_noise_pred": torch.stack([s.noise_pred.float().cpu() for s in states]),
                   "unet_added_time_ids": prep.added_time_ids[1:], "sigmas": prep.scheduler.sigmas,
                   "timesteps": prep.scheduler.timesteps}
            if prep.refiner is not None:
                rec.update(hjb_records(prep.refiner))
        return RenderResult(frames=video, decoded=decoded, latents=latents, intermediates=rec)


def hjb_records(refiner: FaceRefiner) -> dict[str, torch.Tensor]:
    """The HJB refiner's records as arrays: per refine step the reference embedding, ``z0`` in and out,
    the loss of every iteration and the gradient of the first."""
    r = refiner.records
    return {"hjb_reference_embedding": refiner.reference.cpu(), "hjb_steps": torch.tensor([x.step for x in r]),
            "hjb_lr": torch.tensor([x.lr for x in r], dtype=torch.float64), "hjb_z0_in": torch.stack([x.z0_in for x in r]),
            "hjb_z0_out": torch.stack([x.z0_out for x in r]),
            "hjb_losses": torch.tensor([x.losses for x in r], dtype=torch.float64),
            "hjb_grad0": torch.stack([x.grads[0] for x in r])}
