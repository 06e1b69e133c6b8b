"""ControlNet residuals for UNet windows, each frame computed once per denoising step.

A ControlNet's residuals for a frame depend only on that frame's latent, the timestep, the
text embedding and the frame's condition image: not on the window or on the IP tokens. Within
one step the latents do not change, so the official pipeline's per-window ControlNet calls
recompute the overlap frames, and both CFG halves even though "" and "" give equal text
embeddings. :class:`StepResiduals` computes each frame once, on first use, for each *distinct*
text embedding, and builds each window's ``(1, C, 1 + F, h, w)`` residuals per CFG half (zero
frame for the reference, pose + face summed). With ``reuse=False`` it behaves like the official
code (every window, both halves), which the benchmark uses as the baseline.

Memory: a frame is kept only while a later window of the step still needs it, and it is kept as
its own copy, so the batch its ControlNet call produced is freed after the window (a view would
keep the whole 16-frame batch alive for the sake of the wrap-around frames: +0.67 GiB at
896x512). :attr:`StepResiduals.cached_bytes` says how much the cache holds.
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
        texts_equal: bool | None = None,
    ) -> None:
        """``latents`` (1, 4, N, h, w) are the clip's frames (no reference); ``text_embeds`` the
        (1, 77, D) embeddings of the CFG halves that run (``[uncond, cond]``, or ``[cond]`` when
        guidance is off); ``windows`` every window this step will ask for. ``timestep`` may be a
        device tensor. ``texts_equal`` says whether the two embeddings are equal (compared here
        when not given; the denoising loop compares once per render, not once per step)."""
        self.branches = list(branches)
        self.latents = latents
        self.t = timestep
        self.reuse = reuse
        self.n_halves = len(text_embeds)
        if texts_equal is None:
            texts_equal = len(text_embeds) == 2 and torch.equal(text_embeds[0], text_embeds[1])
        same = reuse and len(text_embeds) == 2 and texts_equal
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

    @property
    def cached_bytes(self) -> int:
        """Bytes of the residuals held for later windows of this step."""
        return sum(t.numel() * t.element_size() for per_text in self.cache.values()
                   for down, mid in per_text for t in (*down, mid))

    def fill(self, frames: Sequence[int]) -> None:
        """Compute the frames of ``frames`` not cached yet as one batch and keep them (copies):
        the batch the window ``frames`` computes when it is the first of the step to need them.
        A worker of a split render (:mod:`studio.farm.split`) fills the frames its windows share
        with earlier windows of other workers, so every residual comes from the same batch as in
        a single-process render (bit-identical: a batch's size changes the float rounding)."""
        todo = [f for f in frames if f not in self.cache]
        if todo:
            per_text = self._run(todo)
            for j, f in enumerate(todo):
                self.cache[f] = [([d[j].clone() for d in down], mid[j].clone()) for down, mid in per_text]

    def halves(self, frames: Sequence[int]) -> list[tuple[list[torch.Tensor], torch.Tensor]]:
        """Residuals for a UNet call on ``[reference] + frames``, one ``(down list, mid)`` of
        batch 1 per CFG half; halves with equal text embeddings get the same tensors."""
        frames = list(frames)
        if self.reuse:
            todo = [f for f in frames if f not in self.cache]
            fresh: dict[int, list[tuple[list[torch.Tensor], torch.Tensor]]] = {}
            if todo:
                per_text = self._run(todo)
                for j, f in enumerate(todo):
                    fresh[f] = [([d[j] for d in down], mid[j]) for down, mid in per_text]
            for f in frames:
                self.uses[f] -= 1
            stacked = []
            for h in range(len(self.texts)):
                per_frame = [self.cache[f][h] if f in self.cache else fresh[f][h] for f in frames]
                stacked.append(_stack(per_frame))
            for f in frames:
                if self.uses[f] <= 0:
                    self.cache.pop(f, None)
                elif f in fresh:  # needed by a later window: keep a copy, not a view of the batch
                    self.cache[f] = [([d.clone() for d in down], mid.clone()) for down, mid in fresh[f]]
            del fresh
        else:
            stacked = self._run(frames)
        windows = [([_to_window(d[None]) for d in down], _to_window(mid[None])) for down, mid in stacked]
        if len(windows) < self.n_halves:  # equal text embeddings: both CFG halves share the residuals
            windows = windows * self.n_halves
        return windows

    def window(self, frames: Sequence[int]) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Residuals for a UNet call on ``[reference] + frames`` with every CFG half batched
        (batch 2 for ``[uncond, cond]``)."""
        halves = self.halves(frames)
        if len(halves) == 1:
            return halves[0]
        down = [torch.cat([h[0][k] for h in halves]) for k in range(len(halves[0][0]))]
        return down, torch.cat([h[1] for h in halves])


def _stack(per_frame: list[tuple[list[torch.Tensor], torch.Tensor]]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Per-frame ``(down list, mid)`` residuals stacked along a new frame axis: ``(F, C, h, w)`` each."""
    n_down = len(per_frame[0][0])
    down = [torch.stack([p[0][k] for p in per_frame]) for k in range(n_down)]
    return down, torch.stack([p[1] for p in per_frame])


def _to_window(x: torch.Tensor) -> torch.Tensor:
    """``(B, F, C, h, w)`` -> ``(B, C, 1 + F, h, w)`` with a zero reference frame first."""
    b, f, c, h, w = x.shape
    out = x.new_zeros((b, c, f + 1, h, w))
    out[:, :, 1:] = x.transpose(1, 2)
    return out
