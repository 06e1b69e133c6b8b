"""The one resume loop (studio.core.resume): saved latents skip the denoising, finished frames
skip the decode, and a render without a folder keeps nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled
from studio.core.events import FramesReady, Progress
from studio.core.render_store import WHOLE_CLIP, ResumeStore
from studio.core.resume import denoise_then_decode

N = 10


def _run(store: ResumeStore, cancel: CancelToken | None = None, batch: int = 1):
    calls = {"denoise": 0, "decoded": []}

    def denoise():
        calls["denoise"] += 1
        yield Progress(1, 1, "denoise")
        yield np.arange(N, dtype=np.float32).reshape(1, 1, N, 1, 1) * np.ones((1, 2, N, 2, 2), np.float32)

    def decode(chunks, latents):
        calls["decoded"].append([list(c) for c in chunks])
        return [np.repeat(latents[0, 0, c, :1, :1, None], 3, axis=-1).astype(np.uint8) for c in chunks]

    events = list(denoise_then_decode(store, N, denoise, decode, cancel or CancelToken(), chunk=4, batch=batch))
    return events, calls


def test_a_fresh_render_denoises_saves_and_decodes_everything(tmp_path: Path) -> None:
    store = ResumeStore(tmp_path, "abc")
    events, calls = _run(store, batch=2)
    ready = [e for e in events if isinstance(e, FramesReady)]
    assert calls["denoise"] == 1 and [k for e in ready for k in e.indices] == list(range(N))
    assert calls["decoded"] == [[[0, 1, 2, 3], [4, 5, 6, 7]], [[8, 9]]]  # two chunks per batch
    assert [e.step for e in events if isinstance(e, Progress) and e.phase == "decode"] == [4, 8, 10]
    assert store.load(WHOLE_CLIP).shape == (1, 2, N, 2, 2)


def test_saved_latents_and_finished_frames_are_not_made_again(tmp_path: Path) -> None:
    _run(ResumeStore(tmp_path, "abc"))
    events, calls = _run(ResumeStore(tmp_path, "abc", done={0, 1, 2, 3, 4, 5}))
    assert calls["denoise"] == 0 and calls["decoded"] == [[[6, 7, 8, 9]]]
    assert [e.step for e in events if isinstance(e, Progress)] == [10]
    _, other = _run(ResumeStore(tmp_path, "another-job"))
    assert other["denoise"] == 1  # latents of another job are not used


def test_without_a_folder_nothing_is_kept_and_cancel_stops_the_decode() -> None:
    store = ResumeStore.nothing()
    _, calls = _run(store)
    assert calls["denoise"] == 1 and store.load(WHOLE_CLIP) is None
    token = CancelToken()
    token.cancel()
    with pytest.raises(RenderCancelled):
        _run(store, token)
