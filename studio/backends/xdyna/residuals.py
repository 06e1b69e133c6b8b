"""ControlNet residuals for UNet windows, each frame computed once per denoising step.

A ControlNet's residuals for a frame depend only on that frame's latent, the timestep, the
text embedding and the frame's condition image: not on the window or on the IP tokens. Within
one step the latents do not change, so the official pipeline's per-window ControlNet calls
recompute the overlap frames, and both CFG halves even though "" and "" give equal text
embeddings. :class:`StepResiduals` computes each frame once, on first use, for each *distinct*
text embedding, keeps it while a later window of the step still needs it, and builds each
window's ``(B, C, 1 + F, h, w)`` residuals (zero frame for the reference, pose + face summed).
With ``reuse=False`` it behaves like the official code (every window, both halves), which the
benchmark uses as the baseline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from studio.backends.xdyna.inputs import ConditionFrames


@dataclass
class EvalCounts:
    """Model evaluations of a render, in frames (the unit of work of both networks)."""

    unet_calls: int = 0
    unet_frames: int = 0
    controlnet_frames: int = 0


@dataclass(frozen=True)
class ControlBranch:
    """One ControlNet and the conditions it reads."""

    name: str
    model: nn.Module
    conditions: ConditionFrames


OnComputed = Callable[[str, list[int], list[torch.Tensor], torch.Tensor], None]


class StepResiduals:
    """The summed ControlNet residuals of the frames of one step, computed lazily."""

    def __init__(
        self,
        branches: Sequence[ControlBranch],
        latents: torch.Tensor,
        timestep: int,
        text_embeds: Sequence[torch.Tensor],
        windows: Sequence[Sequence[int]],
        scale: float,
        counts: EvalCounts,
        reuse: bool = True,
        on_computed: OnComputed | None = None,
    ) -> None:
        """``latents`` (1, 4, N, h, w) are the clip's frames (no reference); ``text_embeds`` the
        ``[uncond, cond]`` (1, 77, D) embeddings; ``windows`` every window this step will ask for."""
        self.branches = list(branches)
        self.latents = latents
        self.t = timestep
        self.reuse = reuse
        same = reuse and len(text_embeds) == 2 and torch.equal(text_embeds[0], text_embeds[1])
        self.texts = [text_embeds[0]] if same else list(text_embeds)
        self.scale = scale
        self.counts = counts
        self.on_computed = on_computed
        self.uses = Counter(f for w in windows for f in w)
        self.cache: dict[int, list[tuple[list[torch.Tensor], torch.Tensor]]] = {}

    def _run(self, frames: list[int]) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
        """Residuals of ``frames`` per text half: ``[(down list, mid)]`` with batch ``len(frames)``."""
        out = []
        first = next(iter(self.branches)).model
        dtype = next(first.parameters()).dtype
        device = self.latents.device
        x = self.latents[0, :, frames].transpose(0, 1).to(dtype)  # (n, 4, h, w)
        for text in self.texts:
            emb = text.to(dtype).expand(len(frames), -1, -1)
            total_down: list[torch.Tensor] | None = None
            total_mid = None
            for branch in self.branches:
                cond = branch.conditions.get(frames, device, dtype)
                down, mid = branch.model(
                    x, self.t, encoder_hidden_states=emb, controlnet_cond=cond,
                    conditioning_scale=self.scale, return_dict=False,
                )
                self.counts.controlnet_frames += len(frames)
                if self.on_computed is not None:
                    self.on_computed(branch.name, frames, list(down), mid)
                if total_down is None:
                    total_down, total_mid = list(down), mid
                else:
                    total_down = [a + b for a, b in zip(total_down, down)]
                    total_mid = total_mid + mid
            out.append((total_down, total_mid))
        return out

    def _gather(self, frames: list[int], half: int) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Cached residuals of ``frames`` for one text half, stacked: ``(down list, mid)``."""
        per_frame = [self.cache[f][half] for f in frames]
        n_down = len(per_frame[0][0])
        down = [torch.stack([p[0][k] for p in per_frame]) for k in range(n_down)]
        return down, torch.stack([p[1] for p in per_frame])

    def window(self, frames: Sequence[int]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Residuals for a UNet call on ``[reference] + frames``, batch 2 (``[uncond, cond]``)."""
        frames = list(frames)
        if self.reuse:
            todo = [f for f in frames if f not in self.cache]
            if todo:
                per_text = self._run(todo)
                for j, f in enumerate(todo):
                    self.cache[f] = [([d[j] for d in down], mid[j]) for down, mid in per_text]
            halves = [self._gather(frames, h) for h in range(len(self.texts))]
            for f in frames:
                self.uses[f] -= 1
                if self.uses[f] <= 0:
                    self.cache.pop(f, None)
        else:
            halves = self._run(frames)
        if len(halves) == 1:  # equal text embeddings: both CFG halves share the residuals
            halves = halves * 2
        down = [_to_window(torch.stack([h[0][k] for h in halves])) for k in range(len(halves[0][0]))]
        mid = _to_window(torch.stack([h[1] for h in halves]))
        return down, mid


def _to_window(x: torch.Tensor) -> torch.Tensor:
    """``(B, F, C, h, w)`` -> ``(B, C, 1 + F, h, w)`` with a zero reference frame first."""
    b, f, c, h, w = x.shape
    out = x.new_zeros((b, c, f + 1, h, w))
    out[:, :, 1:] = x.transpose(1, 2)
    return out
