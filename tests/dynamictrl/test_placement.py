"""Offload profiles do not change the frames: the tiny golden case rendered under every placement
(on the CPU, where the hooks and phases run with nothing to move; the offload profiles' chunked
feed-forward and rotary included, with chunks small enough to split the tiny case) gives the
same bits as the unplaced pipeline, or with the model profile's CFG halves the same frames
within the case's measured noise floor; and sequential offload's hooks really run. (What each
profile keeps on the device: tests/dynamictrl/test_vram_model.py.)"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.dynamictrl.loading import load_pipeline  # noqa: E402
from studio.backends.dynamictrl.placement import Placement  # noqa: E402

from tests.dynamictrl.conftest import CASES, RELEASE  # noqa: E402


def _render(pipe, case) -> np.ndarray:
    c = case.call
    return pipe(case.reference(), case.poses(), c["prompt"], c["negative_prompt"] or "",
                steps=2, guidance=c["guidance_scale"], seed=c["seed"])


@pytest.fixture(scope="module")
def baseline(cases) -> np.ndarray:
    return _render(load_pipeline(RELEASE), cases[CASES[0]])


@pytest.mark.parametrize(("offload", "cpu_text_encoder"),
                         [("none", False), ("model", False), ("sequential", True), ("sequential", False)])
def test_profiles_give_the_same_frames(cases, baseline, offload, cpu_text_encoder):
    pipe = load_pipeline(RELEASE)
    placement = Placement(pipe, "cpu", offload, cpu_text_encoder)
    low = offload != "none"
    assert (pipe.transformer.ff_chunk_tokens is not None) == low and pipe.cfg_in_halves == (offload == "model")
    processors = {type(p).__name__ for p in pipe.transformer.attn_processors.values()}
    assert processors == {"ChunkedRotaryAttnProcessor" if low else "CogVideoXAttnProcessor2_0"}
    if low:   # chunks that really split the tiny case: 258 tokens in 3, 2 heads one at a time
        pipe.transformer.ff_chunk_tokens = 100
        for proc in pipe.transformer.attn_processors.values():
            proc.head_chunk = 1
    frames = _render(pipe, cases[CASES[0]])
    if pipe.cfg_in_halves:
        # batch-1 products may round differently from batch-2 ones: within the golden case's
        # noise floor (its decoded-frame tolerance is 10x the floor, on frames in [-1, 1]; these
        # are in [0, 1]); measured 8.8e-6 here, ~20x under it
        assert np.abs(frames - baseline).max() <= cases[CASES[0]].atol["decoded"] / 10 / 2
    else:
        np.testing.assert_array_equal(frames, baseline)
    if offload == "sequential":
        # every part the hooks move was called as a module (hooks on parts that are never
        # called, e.g. the blocks themselves, would leave the weights behind on a GPU)
        assert placement.visits and all(n > 0 for n in placement.visits.values()), placement.visits
        blocks = pipe.transformer.config.num_layers
        assert sum(k.startswith("transformer_blocks.") for k in placement.visits) == 5 * blocks
        assert any(k.startswith("text_encoder.") for k in placement.visits) == (not cpu_text_encoder)
        assert {"vae.encoder", "vae.decoder"} <= set(placement.visits)
    else:
        assert placement.visits == {}


def test_unknown_profile_is_refused():
    pipe = load_pipeline(RELEASE)
    with pytest.raises(ValueError, match="none, model or sequential"):
        Placement(pipe, "cpu", "layers")
