"""``torch_compile``: the UNet and decode compiled, the same frames at the noise floor, no recompiles.

The compiled pipeline renders the golden case once (inductor on the CPU: 90-140 s from an empty
inductor cache, about 10 s from its disk cache), so those tests are ``slow``; the option's rules run
by default (the fallback when compiling fails: tests/backends/test_compiled.py).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.stableanimator.options import StableAnimatorOptions  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402

CASE = "a_tiles_20f"


def test_compile_and_model_offload_do_not_combine(sa_pipe):
    with pytest.raises(ValueError, match="torch_compile and model_offload"):
        StableAnimatorOptions(torch_compile=True, model_offload=True)
    assert StableAnimatorOptions(torch_compile=True).torch_compile
    assert "torch_compile" in StableAnimatorOptions.how_to_compute()  # float rounding only: not fingerprinted
    sa_pipe.placement.offload = True  # as set_offload leaves it, without moving anything
    try:
        with pytest.raises(StudioError, match="Compile and model offload"):
            sa_pipe.set_compile(True)
    finally:
        sa_pipe.placement.offload = False
    assert sa_pipe.compiled is None and not sa_pipe.compile


@pytest.fixture(scope="module")
def compiled_pipe(tiny_release):
    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    return StableAnimatorPipeline(load_components(tiny_release), compile=True)


@pytest.mark.slow
def test_compiled_render_matches_the_official_run_and_eager_at_the_noise_floor(compiled_pipe, sa_pipe, golden):
    req = golden.request(CASE)
    got = compiled_pipe(req, keep=True)
    eager = sa_pipe(golden.request(CASE), keep=True)
    c = compiled_pipe.compiled
    assert c.failure is None, c.failure
    assert len(c.unet.compiles) == 1 and len(c.decoder.compiles) == 1  # one tile batch, equal chunks
    spec, exp = golden.spec(CASE), golden.expected(CASE)
    for key in ("unet_step0_outputs", "step_latents_out", "decoded"):
        ours = (got.decoded.permute(1, 0, 2, 3)[None] if key == "decoded" else got.intermediates[key]).numpy()
        mine = (eager.decoded.permute(1, 0, 2, 3)[None] if key == "decoded" else eager.intermediates[key]).numpy()
        assert np.abs(ours.astype(np.float64) - exp[key]).max() <= spec["tolerance"][key], key
        # compiled vs eager: within the official code's own noise floor (inputs moved by 1e-6, two threads)
        assert np.abs(ours - mine).max() <= spec["noise_floor"][key], key


@pytest.mark.slow
def test_a_second_render_at_the_same_size_compiles_nothing(compiled_pipe, golden):
    """Another seed, face strength, step count and guidance: the same graphs, no recompile, and the
    new values reach them (compiled = eager within the golden tolerance, far from the first render)."""
    first = compiled_pipe(golden.request(CASE)).latents  # compiled already by the test above, or here
    compiled_pipe.compiled.news()
    other = dict(seed=7, face_strength=0.5, steps=2, min_guidance=1.0)
    with torch._dynamo.config.patch(error_on_recompile=True):  # a recompile raises (Compiled lets it through)
        a = compiled_pipe(golden.request(CASE, **other)).latents
    assert compiled_pipe.compiled.failure is None and compiled_pipe.compiled.news() == []
    compiled_pipe.set_compile(False)
    try:
        b = compiled_pipe(golden.request(CASE, **other)).latents
    finally:
        compiled_pipe.set_compile(True)
    # this request's own noise floor is not measured: the golden tolerance (10x case a's floor) bounds it
    tol = golden.spec(CASE)["tolerance"]["step_latents_out"]
    assert (a - b).abs().max() <= tol
    assert (a - first).abs().max() > 100 * tol
