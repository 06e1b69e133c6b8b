"""The resume loop of a render that denoises a whole clip, then decodes it: written once, for
X-Dyna's reference/static schedules on one machine and for the farm's split render.

:func:`denoise_then_decode` takes the saved final latents from the :class:`ResumeStore` when a
cancelled or crashed render left them (so it does not denoise again), else runs the denoising
and saves its result; then it decodes only the frames not yet final on disk, a few at a time,
yielding each chunk as :class:`~studio.core.events.FramesReady` with a decode
:class:`~studio.core.events.Progress`. The cancel token is checked between decode batches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.events import FramesReady, Progress, RenderEvent
from studio.core.render_store import WHOLE_CLIP, ResumeStore

#: ``decode(chunks, latents)``: the uint8 frames ``(len(chunk), H, W, 3)`` of each chunk of
#: output positions, from the clip's final latents ``(1, C, N, h, w)``.
Decode = Callable[[Sequence[list[int]], np.ndarray], list[np.ndarray]]


def denoise_then_decode(store: ResumeStore, n_frames: int, denoise: Callable[[], Iterator[RenderEvent | np.ndarray]],
                        decode: Decode, cancel: CancelToken, chunk: int, batch: int = 1) -> Iterator[RenderEvent]:
    """Render a clip of ``n_frames`` (see the module docstring). ``denoise()`` yields events and
    then the final latents (an array, last); ``decode`` gets ``batch`` chunks of ``chunk``
    positions at a time (a pool decodes them in parallel)."""
    latents = store.load(WHOLE_CLIP)
    if latents is not None and latents.shape[2] != n_frames:
        latents = None  # another clip's length: not this render's
    if latents is None:
        with contextlib.closing(denoise()) as events:
            for ev in events:
                if isinstance(ev, np.ndarray):
                    latents = ev
                else:
                    yield ev
        store.save(WHOLE_CLIP, latents)
    todo = [k for k in range(n_frames) if k not in store.done]
    chunks = [todo[i : i + chunk] for i in range(0, len(todo), chunk)]
    finished = n_frames - len(todo)
    for r in range(0, len(chunks), max(1, batch)):
        cancel.raise_if_cancelled()
        group = chunks[r : r + max(1, batch)]
        for part, frames in zip(group, decode(group, latents)):
            finished += len(part)
            yield FramesReady(tuple(part), frames)
            yield Progress(finished, n_frames, "decode")
