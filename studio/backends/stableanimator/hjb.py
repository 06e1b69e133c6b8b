"""HJB face optimisation: StableAnimator's "pro" refinement of the Euler step (official ``inference_op.py``).

In every refine step ``start <= i <= end`` (inclusive, as the official pipeline tests it) the
Euler step of the v-prediction scheduler is split open (``euler_discrete_pro.py``):

1. the clean-latent estimate ``z0 = v * (-sigma / sqrt(sigma^2 + 1)) + x / (sigma^2 + 1)``;
2. ``iterations`` Adam steps on ``z0`` (learning rate ``0.1 * (1 - i / steps)``, torch's Adam
   defaults otherwise; a fresh optimiser per step) against
   ``mean |1 - cos(ArcFace(crop_f(D(z0))), e_ref)|`` over the frames ``f``, where ``D`` is the
   VAE decode of ``z0 / scaling_factor`` in chunks of ``decode_chunk_size`` frames, mapped to
   ``clamp(x / 2 + 0.5, 0, 1) * 255``, then back to [-1, 1]; ``crop_f`` cuts frame ``f``'s face
   box (rows ``y0..y1``, columns ``x0..x1``, inclusive) and resizes it to 112x112 (bilinear,
   ``align_corners=False``, no antialiasing); ``e_ref`` is the ArcFace embedding of the
   reference photo's face box cut and resized the same way;
3. the Euler update from the refined ``z0``: ``x + (x - z0) / sigma * (sigma_next - sigma)``.

Only the face-identity loss is active (the official code has no other term). Outside the
refine steps the scheduler's own step runs, so with HJB off nothing changes.

Face boxes: the official script reads them from face masks (``face_mask_extraction.py``:
insightface boxes filled into a mask; the whole frame where no face is found). The studio
passes the boxes directly, from its own face tracks (:mod:`.face_boxes`).

Memory: the official code keeps the autograd graph of the whole clip's decode (its command line
checkpoints each decoder block). Here each decode chunk is checkpointed as a whole
(``checkpoint=True``): the backward pass recomputes one chunk at a time, so the decode holds one
chunk's activations, as a plain decode does, plus the ArcFace graph of the crops. The numbers do
not change (recomputation is the same arithmetic). In float16 the loss is scaled by
:data:`FP16_LOSS_SCALE` for the backward pass and the gradient unscaled before Adam.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint as grad_checkpoint

from studio.backends.stableanimator.iresnet import FACE_SIZE

#: The official learning-rate scale (``eta_scheduler``): step ``i`` of ``n`` uses ``0.1 * (1 - i / n)``.
LR_SCALE = 0.1
#: Loss scale of the float16 backward pass (gradients of a unit loss through the decoder underflow).
FP16_LOSS_SCALE = 1024.0


@dataclass
class HJBSettings:
    """Which steps refine and how much (the official command line: 0..20, 3 iterations)."""

    start_step: int = 0
    end_step: int = 20
    iterations: int = 3

    def active(self, step: int) -> bool:
        """Whether step ``step`` (0-based) refines (both ends included, as the official pipeline)."""
        return self.start_step <= step <= self.end_step


@dataclass
class RefineRecord:
    """What one refine step computed (kept for the parity tests when asked)."""

    step: int
    lr: float
    z0_in: torch.Tensor
    z0_out: torch.Tensor
    losses: list[float] = field(default_factory=list)
    grads: list[torch.Tensor] = field(default_factory=list)
    iterates: list[torch.Tensor] = field(default_factory=list)


def box_bounds(box, height: int, width: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` inclusive pixel bounds inside an ``height`` x ``width`` image."""
    y0, y1, x0, x1 = (int(v) for v in box)
    y0, x0 = max(0, min(y0, height - 1)), max(0, min(x0, width - 1))
    return y0, max(y0, min(y1, height - 1)), x0, max(x0, min(x1, width - 1))


def face_crops(frames: torch.Tensor, boxes) -> torch.Tensor:
    """(F, 3, H, W) images -> (F, 3, 112, 112) crops of each frame's box, resized bilinearly."""
    out = []
    for k, box in enumerate(boxes):
        y0, y1, x0, x1 = box_bounds(box, frames.shape[-2], frames.shape[-1])
        out.append(F.interpolate(frames[k: k + 1, :, y0: y1 + 1, x0: x1 + 1], size=(FACE_SIZE, FACE_SIZE),
                                 mode="bilinear", align_corners=False))
    return torch.cat(out)


def reference_embedding(arcface: nn.Module, reference: np.ndarray, box, device, dtype) -> torch.Tensor:
    """(1, 512) ArcFace embedding of the photo's face box (uint8 (H, W, 3) RGB -> [-1, 1] -> crop -> 112)."""
    x = torch.from_numpy(np.ascontiguousarray(reference)).permute(2, 0, 1)[None].float()
    x = x.div(255).sub(0.5).div(0.5)
    with torch.no_grad():
        return arcface(face_crops(x, [box]).to(device, dtype)).float()


class FaceRefiner:
    """The HJB optimisation of one render's clean-latent estimate (see the module docstring)."""

    def __init__(self, vae: nn.Module, arcface: nn.Module, reference: torch.Tensor, boxes, settings: HJBSettings,
                 decode_chunk: int, checkpoint: bool = True, keep: bool = False) -> None:
        self.vae, self.arcface, self.settings = vae, arcface, settings
        self.reference = reference.float()
        self.boxes = [tuple(int(v) for v in b) for b in boxes]
        self.chunk = decode_chunk
        self.checkpoint = checkpoint
        self.keep = keep
        self.records: list[RefineRecord] = []

    def _decode_chunk(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z.to(self.vae.dtype), num_frames=z.shape[0]).sample.float()

    def frames(self, z0: torch.Tensor) -> torch.Tensor:
        """(F, 3, H, W) decoded frames of ``z0`` (1, F, 4, h, w) as the loss sees them: in [-1, 1]."""
        z = z0.flatten(0, 1) / self.vae.config.scaling_factor
        parts = []
        for i in range(0, z.shape[0], self.chunk):
            part = z[i: i + self.chunk]
            if self.checkpoint and part.requires_grad:
                parts.append(grad_checkpoint(self._decode_chunk, part, use_reentrant=False))
            else:
                parts.append(self._decode_chunk(part))
        x = (torch.cat(parts) / 2 + 0.5).clamp(0, 1) * 255
        return (x.clamp(0, 255) / 255 - 0.5) / 0.5

    def loss(self, z0: torch.Tensor) -> torch.Tensor:
        """The face-identity loss of ``z0``: mean over frames of ``|1 - cos(e_f, e_ref)|``."""
        if len(self.boxes) != z0.shape[1]:
            raise ValueError(f"{len(self.boxes)} face boxes for {z0.shape[1]} frames")
        crops = face_crops(self.frames(z0), self.boxes)
        emb = self.arcface(crops.to(next(self.arcface.parameters()).dtype)).float()
        cos = F.cosine_similarity(emb, self.reference.to(emb.device).expand_as(emb), dim=1)
        return (1 - cos).abs().mean()

    def refine(self, z0: torch.Tensor, step: int, steps: int) -> torch.Tensor:
        """``z0`` after the Adam iterations of step ``step`` of ``steps`` (float32, detached)."""
        lr = LR_SCALE * (1.0 - step / steps)
        z = z0.detach().clone().float().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        scale = FP16_LOSS_SCALE if self.vae.dtype == torch.float16 else 1.0
        rec = RefineRecord(step, lr, z0.detach().float().cpu().clone(), z0) if self.keep else None
        with torch.enable_grad():
            for _ in range(self.settings.iterations):
                opt.zero_grad()
                loss = self.loss(z)
                (loss * scale).backward()
                if scale != 1.0:
                    z.grad.div_(scale)
                if rec is not None:
                    rec.losses.append(float(loss.detach()))
                    rec.grads.append(z.grad.detach().float().cpu().clone())
                opt.step()
                if rec is not None:
                    rec.iterates.append(z.detach().float().cpu().clone())
        out = z.detach()
        if rec is not None:
            rec.z0_out = out.float().cpu().clone()
            self.records.append(rec)
        return out

    def step(self, scheduler, step: int, steps: int, model_output: torch.Tensor, timestep, sample: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """One Euler step (v-prediction, no churn) with the refined ``z0``; returns (prev_sample, z0).

        Advances ``scheduler`` as its own ``step`` would."""
        if scheduler.step_index is None:
            scheduler._init_step_index(timestep)
        x = sample.to(torch.float32)
        sigma = scheduler.sigmas[scheduler.step_index]
        z0 = model_output * (-sigma / (sigma**2 + 1) ** 0.5) + x / (sigma**2 + 1)
        z0 = self.refine(z0, step, steps)
        prev = x + (x - z0) / sigma * (scheduler.sigmas[scheduler.step_index + 1] - sigma)
        scheduler._step_index += 1
        return prev.to(model_output.dtype), z0
