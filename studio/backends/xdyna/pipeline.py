"""X-Dyna: animate a reference photo from pose (and optional S-Face) conditioning frames.

Usage::

    pipe = XDynaPipeline.from_release("pretrained_weights", device="cuda")
    out = pipe(XDynaCall(reference, pose_frames, face_local, face_global, seed=42))
    out.frames  # (N, H, W, 3) uint8

Every input and hook of a render is one :class:`~.call.XDynaCall`; :meth:`XDynaPipeline.prepare`
takes the same object.

A render reproduces the official ``XDynaPipeline.__call__`` (bytedance/X-Dyna ``9a54f8e``) as
``inference_xdyna.py`` drives it: IP-Adapter-Plus tokens of the original reference photo
(``CLIPImageProcessor`` defaults, CLIP ``hidden_states[-2]``; uncond tokens from a zero image),
text "" / "" through the SD1.5 text encoder, the reference latent repeated, blur-mixed and
noised to the first DDIM timestep, sliding 16-frame windows with the reference as frame 0 of
every UNet call, ControlNet residuals from the window's latents and text-only embeddings, CFG
after fusing the windows, and a per-frame VAE decode.

Reproducibility: every random draw comes from :class:`~.draws.Draws` -- made from ``seed``
(:meth:`Draws.from_seed`) or passed in as ``draws=`` to replay a render exactly; the output
carries the draws it used. See :mod:`.draws` for the order of the draws.

Efficiency without changing the result: each frame's ControlNet residuals are computed once
per step and shared by the windows that overlap on it and by both CFG halves when their text
embeddings are equal (:mod:`.residuals`); attention is SDPA, pinned to the fused kernels on
CUDA (:mod:`.attention`); weights run in float16 on CUDA and float32 on the CPU by default.

Memory (:class:`~.run_options.RunOptions`, set with :meth:`XDynaPipeline.configure`): the encoders are on the
device only while encoding and the low-VRAM setting also keeps the ControlNets and the VAE off
it between their calls (:mod:`.placement`); feed-forwards run in chunks (:mod:`.feedforward`);
the residual cache keeps only frames still needed; ``sequential_cfg`` runs the two CFG halves
one after the other; an fp16 VAE decode that comes out non-finite is redone in float32.
``bench/vram_model.py`` measures what each option saves at full size.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from studio.backends.compiled import Compiled, compile_news
from studio.backends.xdyna.attention import fused_attention_only
from studio.backends.xdyna.call import PreparedRender, XDynaCall, XDynaOutput, check_render
from studio.backends.xdyna.components import Components, load_components, to_device
from studio.backends.xdyna.denoise import Denoiser, denoise_windows
from studio.backends.xdyna.draws import Draws
from studio.backends.xdyna.feedforward import chunk_all, set_chunk_tokens
from studio.backends.xdyna.inputs import ConditionFrames, as_frames, fit_reference
from studio.backends.xdyna.layout import resolve
from studio.backends.xdyna.placement import IDLE_PHASE, Placement, idle_resident
from studio.backends.xdyna.residuals import ControlBranch
from studio.backends.xdyna.run_options import RunOptions, pick_device, pick_dtype
from studio.backends.xdyna.sampler import DDIMSchedule, initial_latents
from studio.backends.xdyna.trace import Trace
from studio.core.errors import StudioError
from studio.core.windows import WindowPlan

__all__ = ["LATENT_SCALE", "PreparedRender", "RunOptions", "XDynaCall", "XDynaOutput", "XDynaPipeline",
           "pick_device", "pick_dtype"]

#: SD1.5 latent scale, hard-coded in the official code.
LATENT_SCALE = 0.18215


class XDynaPipeline:
    """The X-Dyna renderer; build with :meth:`from_release`."""

    def __init__(self, components: Components, device: str | torch.device = "auto",
                 dtype: str | torch.dtype | None = None, low_vram: bool = False) -> None:
        self.device = pick_device(device)
        self.dtype = pick_dtype(self.device, dtype)
        c = components
        # every model starts where the setting keeps it between renders (from_release already put
        # it there as it was read): the idle set on the device, the others in CPU memory until a
        # phase needs them (on the meta device of the memory model Placement only keeps count)
        idle = idle_resident(low_vram)

        def home(name: str) -> torch.device:
            return self.device if self.device.type == "meta" or name in idle else torch.device("cpu")

        self.unet = to_device(c.unet, home("unet"), self.dtype)
        self.controlnet = to_device(c.controlnet, home("controlnet"), self.dtype)
        self.controlnet_face = (
            to_device(c.controlnet_face, home("controlnet_face"), self.dtype) if c.controlnet_face is not None else None
        )
        self.vae = to_device(c.vae, home("vae"), self.dtype)
        self.text_encoder = to_device(c.text_encoder, home("text_encoder"), self.dtype)
        self.image_encoder = to_device(c.image_encoder, home("image_encoder"), self.dtype)
        self.image_proj = to_device(c.image_proj, home("image_proj"), self.dtype)
        for model in (self.controlnet, self.controlnet_face):  # their transformers' feed-forwards too
            if model is not None:
                chunk_all(model)
        self.tokenizer = c.tokenizer
        self.schedule = DDIMSchedule()
        self.vae_scale_factor = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self._clip_processor = _clip_processor()
        self.placement = Placement(
            {"unet": self.unet, "controlnet": self.controlnet, "controlnet_face": self.controlnet_face,
             "vae": self.vae, "text_encoder": self.text_encoder, "image_encoder": self.image_encoder,
             "image_proj": self.image_proj},
            self.device, low_vram,
        )
        self.options = RunOptions()
        self._unet_run: torch.nn.Module | Compiled = self.unet  # the compiled UNet when torch_compile is on
        self._compiled: Compiled | None = None  # made at the first torch_compile, kept (no second compile)
        self._compile_reported: set[str] = set()
        self.configure(RunOptions(low_vram=low_vram))

    def configure(self, options: RunOptions) -> None:
        """Apply memory/speed ``options`` for the next renders (moves models as the setting says)."""
        self.placement.set_low_vram(options.low_vram)
        self.placement.enter(IDLE_PHASE)
        for model in (self.unet, self.controlnet, self.controlnet_face):
            if model is not None:
                set_chunk_tokens(model, options.ff_chunk_tokens)
        channels_last = self.device.type == "cuda" if options.channels_last is None else options.channels_last
        if channels_last != bool(self.options.channels_last) or self.options.channels_last is None:
            fmt = torch.channels_last if channels_last else torch.contiguous_format
            for model in (self.unet, self.controlnet, self.controlnet_face, self.vae):
                if model is not None and self.device.type != "meta":
                    model.to(memory_format=fmt)
        if options.torch_compile and self._compiled is None:
            # torch.compile's default dynamic setting, as before: specialised first, general after a recompile
            self._compiled = Compiled(self.unet, "UNet", dynamic=None)
        self._unet_run = self._compiled if options.torch_compile else self.unet
        self.options = dataclasses.replace(options, channels_last=channels_last)

    @property
    def compiled(self) -> Compiled | None:
        """The compiled UNet while ``torch_compile`` is on (None otherwise); it runs eagerly and says
        why (``compiled.failure``) when compiling fails."""
        return self._compiled if self._unet_run is self._compiled else None

    def compile_news(self) -> list[str]:
        """Progress messages: what the compiled UNet compiled since the last news, why it failed (once)."""
        return compile_news([self.compiled], self._compile_reported) if self.compiled is not None else []

    @classmethod
    def from_release(
        cls,
        folder: str | Path,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype | None = None,
        face: bool | None = None,
        resampler_kwargs: dict | None = None,
        motion_module_kwargs: dict | None = None,
        low_vram: bool = False,
    ) -> XDynaPipeline:
        """Load the official release tree (or a ``studio weights convert`` copy) from ``folder``.

        ``face=None`` loads the S-Face ControlNet when present, ``True`` requires it.
        ``resampler_kwargs``/``motion_module_kwargs`` override the release's hyper-parameters
        (only needed for non-standard models such as the tiny test weights). ``low_vram``: load
        for the low-VRAM setting (only the UNet goes to the device; see :mod:`.placement`).
        """
        # each component goes where the setting keeps it between renders (the device or CPU memory)
        # in its dtype as it is read, before the next is read: no component is ever held twice, a
        # GPU load never holds the whole release in CPU memory, and the device never holds more
        # than the setting's idle set (low VRAM: the UNet alone)
        dev = pick_device(device)
        on_device = None if dev.type == "meta" else idle_resident(low_vram)
        comps = load_components(resolve(folder), face, resampler_kwargs, motion_module_kwargs,
                                device=dev, dtype=pick_dtype(dev, dtype), on_device=on_device)
        return cls(comps, device, dtype, low_vram=low_vram)

    # ------------------------------------------------------------------ encoders

    @torch.no_grad()
    def encode_prompt(self, prompt: str) -> torch.Tensor:
        """``(1, 77, D)`` SD1.5 text embeddings (last hidden state)."""
        ids = self.tokenizer(
            prompt, padding="max_length", max_length=self.tokenizer.model_max_length,
            truncation=True, return_tensors="pt",
        ).input_ids
        return self.text_encoder(ids.to(self.device))[0]

    @torch.no_grad()
    def encode_image_tokens(self, reference: np.ndarray, trace: Trace | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """IP-Adapter-Plus tokens ``(uncond, cond)``, each (1, 16, D), of the original photo."""
        from PIL import Image

        pixels = self._clip_processor(images=Image.fromarray(reference), return_tensors="pt").pixel_values
        pixels = pixels.to(self.device, self.dtype)
        hidden = self.image_encoder(pixels, output_hidden_states=True).hidden_states[-2]
        hidden_u = self.image_encoder(torch.zeros_like(pixels), output_hidden_states=True).hidden_states[-2]
        cond, uncond = self.image_proj(hidden), self.image_proj(hidden_u)
        if trace is not None:
            for name, value in (("clip_pixel_values", pixels), ("clip_hidden_states_m2_cond", hidden),
                                ("clip_hidden_states_m2_uncond", hidden_u), ("ip_tokens_cond", cond),
                                ("ip_tokens_uncond", uncond)):
                trace.put(name, value)
        return uncond, cond

    @torch.no_grad()
    def encode_reference(self, image: np.ndarray, eps: torch.Tensor, trace: Trace | None = None) -> torch.Tensor:
        """``(1, 4, h, w)`` float32 latent of the fitted reference, sampled with noise ``eps``."""
        x = torch.tensor(image, device=self.device).permute(2, 0, 1)[None].to(self.dtype) / 127.5 - 1.0
        dist = self.vae.encode(x).latent_dist
        latent = (dist.mean.float() + dist.std.float() * eps.to(self.device)) * LATENT_SCALE
        if trace is not None:
            trace.put("ref_latent_dist_mean", dist.mean)
            trace.put("ref_latent_dist_std", dist.std)
            trace.put("ref_latent", latent[:, :, None])
        return latent

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """``(1, 4, N, h, w)`` latents -> ``(N, H, W, 3)`` float32 video in [0, 1], one frame at a time."""
        frames = []
        with self.placement.phase("decode"):
            for i in range(latents.shape[2]):
                img = self.decode_frame(latents[:, :, i])
                frames.append((img / 2 + 0.5).clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy())
        return np.stack(frames)

    @torch.no_grad()
    def decode_frame(self, latent: torch.Tensor) -> torch.Tensor:
        """One ``(1, 4, h, w)`` latent -> ``(1, 3, H, W)`` float32 image in [-1, 1] (unclamped).

        NaN guard: in float16 the VAE decoder can overflow on some latents; a frame that comes
        out non-finite is decoded again with the VAE in float32 (then put back in float16).
        """
        z = (latent / LATENT_SCALE).to(self.device, self.dtype)
        img = self.vae.decode(z).sample.float()
        if self.dtype == torch.float16 and self.device.type != "meta" and not bool(torch.isfinite(img).all()):
            self.vae.to(torch.float32)
            try:
                img = self.vae.decode(z.float()).sample.float()
            finally:
                self.vae.to(self.dtype)
        return img

    # ------------------------------------------------------------------ render

    def _branches(self, call: XDynaCall, pose: np.ndarray, height: int, width: int,
                  use_face: bool) -> list[ControlBranch]:
        branches = [ControlBranch("controlnet", self.controlnet, ConditionFrames([pose], height, width))]
        if use_face:
            local = as_frames(call.face_local, "S-Face local")
            glob = as_frames(call.face_global, "S-Face global")
            for what, arr in (("S-Face local", local), ("S-Face global", glob)):
                if arr.shape[0] != pose.shape[0]:
                    raise StudioError(
                        "Conditioning frames do not match",
                        f"{arr.shape[0]} {what} frames for {pose.shape[0]} pose frames; give one per frame.",
                    )
            # each stream normalised over the clip on its own, then [local, global] channels
            branches.append(ControlBranch("controlnet_face", self.controlnet_face,
                                          ConditionFrames([local, glob], height, width)))
        return branches

    @torch.no_grad()
    def prepare(self, call: XDynaCall) -> PreparedRender:
        """Everything before the denoising loop (checks, encoders, draws, initial latents) as a
        :class:`PreparedRender`; :meth:`__call__` runs it, and a render split across workers
        (:mod:`studio.farm.split`) prepares the same state on each worker. ``call`` as in
        :meth:`__call__` (its ``window_callback``, ``finished_windows`` and ``output_type`` are
        not used here)."""
        pose = as_frames(call.pose, "pose")
        n = pose.shape[0]
        height = call.height or pose.shape[1]
        width = call.width or pose.shape[2]
        plan = call.plan or WindowPlan(n)
        steps = call.num_inference_steps
        check_render(n, height, width, steps, plan, getattr(self.unet, "max_window_frames", 24))
        has_face_frames = call.face_local is not None and call.face_global is not None
        use_face = call.use_face
        if use_face is None:
            use_face = has_face_frames and self.controlnet_face is not None
        if use_face and self.controlnet_face is None:
            raise StudioError(
                "S-Face ControlNet not loaded",
                "The render asks for S-Face conditioning but the weights folder has no S-Face ControlNet.",
            )
        if use_face and not has_face_frames:
            raise StudioError("Missing S-Face frames", "S-Face rendering needs both the local and the global frames.")
        latent_size = (height // self.vae_scale_factor, width // self.vae_scale_factor)
        draws = call.draws
        if draws is None:
            draws = Draws.from_seed(call.seed, n, latent_size, steps, plan.context)
        draws.check(n, latent_size, steps)

        trace = call.trace
        branches = self._branches(call, pose, height, width, use_face)
        with self.placement.phase("encode"):
            text_c = self.encode_prompt(call.prompt)
            text_u = self.encode_prompt(call.negative_prompt)
            ip_u, ip_c = self.encode_image_tokens(np.ascontiguousarray(call.reference), trace)
            hidden = torch.cat([torch.cat([text_u, ip_u], dim=1), torch.cat([text_c, ip_c], dim=1)])
            ref_latent = self.encode_reference(fit_reference(call.reference, height, width), draws.vae_noise, trace)
        self.placement.enter("unet")  # the encoders leave the device
        t0 = self.schedule.timesteps(steps)[0]
        blurred, latents = initial_latents(
            ref_latent, n, draws.blur_mask_uniform.to(self.device), draws.blur_sigma,
            draws.init_noise.to(self.device), self.schedule, t0,
        )
        if trace is not None:
            trace.put("text_embeds_cond", text_c)
            trace.put("text_embeds_uncond", text_u)
            trace.put("blurred_repeated_latents", blurred)
            trace.put("latents_init", latents)
        opts = self.options
        den = Denoiser(
            self._unet_run, self.schedule, branches, (text_u, text_c), hidden, call.guidance_scale,
            call.controlnet_conditioning_scale, call.reuse_controlnet, trace=trace, cancel=call.cancel,
            callback=call.callback, sequential_cfg=opts.sequential_cfg or opts.low_vram, placement=self.placement,
            preview=call.preview,
            texts_equal=call.prompt == call.negative_prompt,  # same text, same embedding: no device round trip
        )
        return PreparedRender(den, latents, blurred, plan, draws, n, steps)

    @torch.no_grad()
    def __call__(self, call: XDynaCall) -> XDynaOutput:
        """Render one clip as :class:`~.call.XDynaCall` ``call`` describes (its fields are
        documented there)."""
        with fused_attention_only(self.device):
            return self._call(call)

    def _call(self, call: XDynaCall) -> XDynaOutput:
        """:meth:`__call__` with fused attention pinned."""
        steps = call.num_inference_steps
        prep = self.prepare(call)
        den, latents, blurred, plan, draws = prep.denoiser, prep.latents, prep.blurred, prep.plan, prep.draws
        n = prep.n_frames
        decoded: dict[int, np.ndarray] = {}
        if plan.schedule == "stream":
            from studio.backends.xdyna.stream import denoise_stream

            decode = self.decode if call.window_callback is not None or call.output_type == "np" else None
            final, decoded = denoise_stream(den, latents, blurred, plan, draws, steps, decode,
                                            call.window_callback, call.finished_windows)
        else:
            final = denoise_windows(den, latents, plan, draws.window_offsets, steps)
        if call.output_type == "np":
            todo = [f for f in range(n) if f not in decoded]
            if todo:
                decoded.update(zip(todo, self.decode(final[:, :, todo])))
            video = np.stack([decoded[f] for f in range(n)])
        else:
            video = np.zeros((0,), np.float32)
        return XDynaOutput(video, final.cpu().numpy(), draws, den.counts)


def _clip_processor():
    """``CLIPImageProcessor`` with its defaults (the PIL implementation, as the official code)."""
    try:
        from transformers import CLIPImageProcessorPil

        return CLIPImageProcessorPil()
    except ImportError:  # transformers < 5
        from transformers import CLIPImageProcessor

        return CLIPImageProcessor()
