"""DynamiCtrl inference on diffusers pieces, matched number for number to the official pipeline.

One pass renders ``N = 8k + 5`` frames (see :mod:`.rules`). The steps, in the official order
(the draws all come from one CPU generator, in this order):

1. text: T5 states of [negative, prompt] (CFG) or [prompt] (:mod:`.text`);
2. reference: resized straight to H x W (PIL Lanczos, no crop), [-1, 1], VAE posterior
   SAMPLE (draw 1), times the scaling factor only if the VAE has no ``invert_scale_latents``,
   then F-1 zero frames (F = (N-1)/4 + 1 latent frames);
3. pose: ``(x/255 - 0.5)/0.5`` of the N RGB pose frames, VAE posterior sample (draw 2), times
   the scaling factor;
4. initial noise (draw 3), B x F x 16 x h x w;
5. CogVideoXDPMScheduler (trailing): each step runs the transformer on [noise | image latents]
   (32 channels) with the same image and pose latents for both CFG halves, guidance on the text
   only, then the stochastic DPM step (its own draws);
6. decode: latents / scaling factor through the VAE (4F frames), the first N kept,
   ``clamp(x/2 + 0.5)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from studio.backends.dynamictrl import text as text_mod
from studio.backends.dynamictrl.rotary import rotary_embedding

#: The ofs value the official pipeline feeds 1.5-style transformers.
OFS = 2.0


@dataclass
class Conditioning:
    """Everything the denoising loop needs besides the noise."""

    prompt_embeds: torch.Tensor           # (B, 226, D): [negative; prompt] with CFG
    image_latents: torch.Tensor           # (1, F, 16, h, w)
    pose_latents: torch.Tensor            # (1, F, 16, h, w)
    rotary: tuple[torch.Tensor, torch.Tensor] | None
    guidance: float

    @property
    def cfg(self) -> bool:
        return self.guidance > 1.0


@dataclass
class StepState:
    """After denoising step ``index`` (0-based) of ``total``: latents and the predicted x0."""

    index: int
    total: int
    latents: torch.Tensor
    predicted_x0: torch.Tensor


class DynamiCtrlPipeline:
    """The loaded models and the inference steps (module docstring)."""

    def __init__(self, transformer, vae, text_encoder, tokenizer: text_mod.PromptTokenizer,
                 scheduler_config: dict, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32) -> None:
        from diffusers import CogVideoXDPMScheduler

        self.transformer = transformer
        self.vae = vae
        self.text_encoder = text_encoder
        self.tokenizer = tokenizer
        self.scheduler = CogVideoXDPMScheduler.from_config(scheduler_config, timestep_spacing="trailing")
        self.device = torch.device(device)
        self.dtype = dtype
        #: ``phase(name)`` puts the models of a phase (text / vae / transformer) on the device;
        #: :class:`~.placement.Placement` sets it, the default leaves them where they are.
        self.phase: Callable[[str], AbstractContextManager] = lambda name: nullcontext()
        #: Run the transformer on the CFG halves one after the other (half the activations; no
        #: operator mixes the samples, so the same velocities up to float rounding: a batch-1
        #: matrix product may round differently); set by the model offload profile.
        self.cfg_in_halves = False
        self.vae.enable_slicing()
        self.vae.enable_tiling()     # as the official script (engages above the VAE's tile size)

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def spatial_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def scaling(self) -> float:
        return float(self.vae.config.scaling_factor)

    def latent_frames(self, n_frames: int) -> int:
        return (n_frames - 1) // int(self.vae.config.temporal_compression_ratio) + 1

    # -- conditioning --------------------------------------------------------------------------
    def encode_text(self, prompt: str, negative_prompt: str, cfg: bool) -> torch.Tensor:
        """(2 or 1, 226, D) T5 states: [negative, prompt] with CFG, else [prompt]."""
        prompts = [negative_prompt or "", prompt] if cfg else [prompt]
        with self.phase("text"):
            states = [text_mod.encode(self.text_encoder, self.tokenizer([p]), self.device, self.dtype)
                      for p in prompts]   # one call per prompt, as the official pipeline
        return torch.cat(states, dim=0)

    def reference_pixels(self, reference, height: int, width: int) -> torch.Tensor:
        """(1, 3, H, W) in [-1, 1]: the reference resized straight to H x W with Lanczos."""
        from PIL import Image

        img = reference if isinstance(reference, Image.Image) else Image.fromarray(np.asarray(reference))
        img = img.convert("RGB")
        if img.size != (width, height):
            img = img.resize((width, height), resample=Image.LANCZOS)
        arr = np.asarray(img).astype(np.float32) / 255.0
        return (torch.from_numpy(arr).permute(2, 0, 1)[None] * 2.0 - 1.0).to(self.device, self.dtype)

    @staticmethod
    def pose_pixels(pose_frames: np.ndarray) -> torch.Tensor:
        """(1, 3, N, H, W) in [-1, 1] from N x H x W x 3 uint8 RGB pose frames."""
        x = torch.from_numpy(np.ascontiguousarray(pose_frames)).float()
        x = (x / 255.0 - 0.5) / 0.5
        return x.permute(3, 0, 1, 2)[None]

    def _sample(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A VAE posterior sample, permuted to (B, F, C, h, w)."""
        with torch.no_grad(), self.phase("vae"):
            dist = self.vae.encode(pixels.to(self.device, self.vae.dtype)).latent_dist
        return dist.sample(generator).to(self.dtype).permute(0, 2, 1, 3, 4)

    def encode_reference(self, pixels: torch.Tensor, n_latent: int, generator: torch.Generator) -> torch.Tensor:
        """(1, F, 16, h, w): the reference latent, then zero frames."""
        lat = self._sample(pixels.unsqueeze(2), generator)
        if not getattr(self.vae.config, "invert_scale_latents", False):
            lat = self.scaling * lat
        pad = lat.new_zeros((lat.shape[0], n_latent - 1, *lat.shape[2:]))
        return torch.cat([lat, pad], dim=1)

    def encode_pose(self, pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """(1, F, 16, h, w): the pose video's latents times the scaling factor."""
        return self.scaling * self._sample(pixels, generator)

    def initial_noise(self, n_latent: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
        channels = int(self.transformer.config.in_channels) // 2
        s = self.spatial_factor
        shape = (1, n_latent, channels, height // s, width // s)
        noise = torch.randn(shape, generator=generator, dtype=self.dtype, device=generator.device)
        return noise.to(self.device) * self.scheduler.init_noise_sigma

    def rotary(self, height: int, width: int, n_latent: int):
        cfg = self.transformer.config
        if not cfg.use_rotary_positional_embeddings:
            return None
        return rotary_embedding(cfg, height // self.spatial_factor, width // self.spatial_factor,
                                n_latent, self.device)

    def condition(self, reference, pose_frames: np.ndarray, prompt: str, negative_prompt: str,
                  guidance: float, generator: torch.Generator) -> Conditioning:
        """Steps 1-3 of the module docstring (draws 1 and 2)."""
        n, height, width = pose_frames.shape[0], pose_frames.shape[1], pose_frames.shape[2]
        f = self.latent_frames(n)
        embeds = self.encode_text(prompt, negative_prompt, guidance > 1.0)
        image = self.encode_reference(self.reference_pixels(reference, height, width), f, generator)
        pose = self.encode_pose(self.pose_pixels(pose_frames), generator)
        return Conditioning(embeds, image, pose, self.rotary(height, width, f), float(guidance))

    # -- denoising -----------------------------------------------------------------------------
    def predict(self, latents: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """The guided velocity for ``latents`` at ``t`` (float32)."""
        k = 2 if cond.cfg else 1
        x = self.scheduler.scale_model_input(torch.cat([latents] * k), t)
        x = torch.cat([x, torch.cat([cond.image_latents] * k)], dim=2)
        pose = torch.cat([cond.pose_latents] * k)
        ofs = None if self.transformer.config.ofs_embed_dim is None else x.new_full((1,), OFS)
        halves = [slice(i, i + 1) for i in range(k)] if self.cfg_in_halves and k > 1 else [slice(0, k)]
        with torch.no_grad():
            parts = [self.transformer(x[h], cond.prompt_embeds[h], t.expand(x[h].shape[0]).to(self.device),
                                      pose[h], ofs=ofs, image_rotary_emb=cond.rotary).float() for h in halves]
        v = parts[0] if len(parts) == 1 else torch.cat(parts)
        if cond.cfg:
            uncond, text = v.chunk(2)
            v = uncond + cond.guidance * (text - uncond)
        return v

    def denoise(self, latents: torch.Tensor, cond: Conditioning, steps: int, generator: torch.Generator,
                on_model: Callable[[int, torch.Tensor], None] | None = None,
                hold: tuple[torch.Tensor, torch.Tensor] | None = None) -> Iterator[StepState]:
        """Yields a :class:`StepState` after each DPM step (the last one's latents are final).

        ``hold = (known, noise)`` (beyond the official code: segment continuation) keeps the
        first ``known.shape[1]`` latent frames on the known latents: before every model call they
        are replaced by ``known`` noised to the step's level with the fixed ``noise``, and the
        final latents carry ``known`` itself there."""
        with self.phase("transformer"):
            yield from self._denoise(latents, cond, steps, generator, on_model, hold)

    def _denoise(self, latents, cond, steps, generator, on_model, hold) -> Iterator[StepState]:
        # (on the meta device of the memory model the schedule stays on the CPU: it indexes tables)
        self.scheduler.set_timesteps(steps, device="cpu" if self.device.type == "meta" else self.device)
        timesteps = self.scheduler.timesteps
        old_x0 = None
        for i, t in enumerate(timesteps):
            if hold is not None:
                latents = self._held(latents, hold, t)
            v = self.predict(latents, t, cond)
            if on_model is not None:
                on_model(i, v)
            back = timesteps[i - 1] if i > 0 else None
            latents, old_x0 = self.scheduler.step(v, old_x0, t, back, latents, eta=0.0,
                                                  generator=generator, return_dict=False)
            latents = latents.to(self.dtype)
            if hold is not None and i == len(timesteps) - 1:
                latents = self._held(latents, hold, None)
            yield StepState(i, len(timesteps), latents, old_x0)

    def _held(self, latents: torch.Tensor, hold: tuple[torch.Tensor, torch.Tensor], t) -> torch.Tensor:
        known, noise = hold
        m = known.shape[1]
        fixed = known if t is None else self.scheduler.add_noise(known, noise, t.reshape(1))
        return torch.cat([fixed.to(latents.dtype), latents[:, m:]], dim=1)

    def encode_frames(self, frames: np.ndarray) -> torch.Tensor:
        """(1, M, 16, h, w) latents of uint8 RGB frames (N x H x W x 3), in the denoiser's space
        (posterior mean times the scaling factor): what a continued segment holds."""
        pixels = (torch.from_numpy(np.ascontiguousarray(frames)).float() / 127.5 - 1.0).permute(3, 0, 1, 2)[None]
        with torch.no_grad(), self.phase("vae"):
            dist = self.vae.encode(pixels.to(self.device, self.vae.dtype)).latent_dist
        return self.scaling * dist.mode().to(self.dtype).permute(0, 2, 1, 3, 4)

    # -- decoding ------------------------------------------------------------------------------
    def decode_raw(self, latents: torch.Tensor) -> torch.Tensor:
        """VAE output (B, 3, 4F, H, W) before clamping, for (B, F, 16, h, w) latents."""
        z = latents.permute(0, 2, 1, 3, 4) / self.scaling
        with torch.no_grad(), self.phase("vae"):
            return self.vae.decode(z.to(self.vae.dtype)).sample

    def decode_video(self, latents: torch.Tensor, n_frames: int) -> torch.Tensor:
        """(N, H, W, 3) float32 frames in [0, 1] on the device (the first N of the 4F decoded)."""
        video = (self.decode_raw(latents)[0, :, :n_frames] / 2 + 0.5).clamp(0, 1)
        return video.permute(1, 2, 3, 0).float()

    def decode(self, latents: torch.Tensor, n_frames: int) -> np.ndarray:
        """(N, H, W, 3) float32 frames in [0, 1] (the first N of the 4F decoded)."""
        return self.decode_video(latents, n_frames).cpu().numpy()

    def __call__(self, reference, pose_frames: np.ndarray, prompt: str, negative_prompt: str = "",
                 steps: int = 25, guidance: float = 3.0, seed: int = 42) -> np.ndarray:
        """A whole pass: (N, H, W, 3) float frames in [0, 1]."""
        generator = torch.Generator().manual_seed(int(seed))
        n, height, width = pose_frames.shape[:3]
        cond = self.condition(reference, pose_frames, prompt, negative_prompt, guidance, generator)
        latents = self.initial_noise(cond.image_latents.shape[1], height, width, generator)
        for state in self.denoise(latents, cond, steps, generator):
            latents = state.latents
        return self.decode(latents, n)
