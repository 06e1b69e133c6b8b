"""Clips longer than one pass: overlapping segments, each continuing from the previous one.

Beyond the official code (which renders one pass). The clip is cut by
:func:`~.rules.plan_segments`; every segment is an ordinary DynamiCtrl pass on its own pose
frames with the same reference photo (the identity anchor in the image-latent channels), plus:

* continuation: the previous segment's last ``overlap`` output frames (uint8, exactly as
  emitted or saved, so a resumed render continues from the same numbers) are VAE-encoded
  (``overlap = 4m + 1`` frames -> ``m + 1`` latent frames, aligned with the new segment's first
  latent frames because the causal VAE starts a group at every segment's frame 0) and held
  there through denoising (:meth:`~.pipeline.DynamiCtrlPipeline.denoise` ``hold``);
* blending: over the overlap the output crossfades linearly from the previous segment's frames
  to the new one's (weight of the new frame ``(k + 1) / (overlap + 1)`` at overlap frame k);
* streaming: a segment's frames are final once the next segment has blended its tail, so each
  segment emits its frames up to the next one's overlap (the last segment: to the end); the tail
  is handed back so that the caller can keep it for a resume;
* seeds: segment ``i`` draws from its own generator seeded ``seed + i`` (resuming segment i
  gives the same draws as rendering it in one go).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from studio.backends.dynamictrl.pipeline import DynamiCtrlPipeline, StepState
from studio.backends.dynamictrl.rules import Segment


@dataclass
class SegmentStep:
    """Denoising step ``state`` of ``segment``."""

    segment: Segment
    state: StepState


@dataclass
class SegmentFrames:
    """Final frames ``start .. start + len(frames) - 1`` of the clip (uint8, N x H x W x 3), and
    the unblended ``tail`` the next segment continues from (``None`` after the last segment)."""

    segment: Segment
    start: int
    frames: np.ndarray
    tail: np.ndarray | None


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """[0, 1] float frames -> uint8, rounded."""
    return np.clip(np.rint(frames * 255.0), 0, 255).astype(np.uint8)


def blend(previous: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Linear crossfade over the overlap, from ``previous`` to ``new`` (both uint8, same shape)."""
    k = previous.shape[0]
    w = (np.arange(1, k + 1, dtype=np.float64) / (k + 1))[:, None, None, None]
    return np.clip(np.rint((1 - w) * previous + w * new), 0, 255).astype(np.uint8)


def render_segments(pipe: DynamiCtrlPipeline, reference, poses: np.ndarray, plan: list[Segment], *,
                    prompt: str, negative_prompt: str, steps: int, guidance: float, seed: int,
                    first: int = 0, tail: np.ndarray | None = None,
                    check_cancel: Callable[[], None] = lambda: None,
                    decode: Callable[[torch.Tensor, int], np.ndarray] | None = None,
                    ) -> Iterator[SegmentStep | SegmentFrames]:
    """Render ``plan[first:]`` (``tail``: the saved tail of segment ``first - 1`` when resuming).

    ``poses`` holds the whole clip's pose frames (N x H x W x 3 uint8). ``check_cancel`` is
    called before every step and raises to stop. ``decode(latents, n)`` overrides the decoder
    (default: :meth:`DynamiCtrlPipeline.decode`)."""
    if first > 0 and tail is None:
        raise ValueError("resuming after segment 0 needs the previous segment's tail frames")
    decode = decode or pipe.decode
    height, width = poses.shape[1], poses.shape[2]
    for seg in plan[first:]:
        g = torch.Generator().manual_seed(int(seed) + seg.index)
        seg_poses = poses[seg.start:seg.stop]
        cond = pipe.condition(reference, seg_poses, prompt, negative_prompt, guidance, g)
        latents = pipe.initial_noise(cond.image_latents.shape[1], height, width, g)
        hold = None
        if seg.overlap:
            known = pipe.encode_frames(tail)
            noise = torch.randn(known.shape, generator=g, dtype=known.dtype).to(known.device)
            hold = (known, noise)
        for state in pipe.denoise(latents, cond, steps, g, hold=hold):
            check_cancel()
            latents = state.latents
            yield SegmentStep(seg, state)
        frames = to_uint8(decode(latents, seg.length))
        if seg.overlap:
            frames[: seg.overlap] = blend(tail, frames[: seg.overlap])
        last = seg.index == plan[-1].index
        nxt = plan[seg.index + 1] if not last else None
        keep = seg.length if last else seg.length - nxt.overlap
        tail = None if last else frames[keep:].copy()
        # The overlap frames were held back by the previous segment: this one emits them blended.
        yield SegmentFrames(seg, seg.start, frames[:keep], tail)
