"""Our DynamiCtrl pipeline against the official runs recorded in tests/fixtures/dynamictrl_tiny.

Component by component (each fed the official inputs) and end to end (our own conditioning,
draws from the same seeded generator), every array within the case's tolerance: 10x the noise
floor measured on the official code (see the fixture README).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tests.dynamictrl.conftest import CASES  # noqa: E402


def _t(a: np.ndarray) -> "torch.Tensor":
    return torch.from_numpy(np.ascontiguousarray(a))


@pytest.mark.parametrize("name", CASES)
def test_token_ids_are_the_official_ones(cases, tiny_pipeline, name):
    case = cases[name]
    got = tiny_pipeline.tokenizer([case.call["prompt"]]).numpy()
    np.testing.assert_array_equal(got, case.expected("token_ids_prompt"))
    if case.has("token_ids_negative"):
        np.testing.assert_array_equal(tiny_pipeline.tokenizer([""]).numpy(), case.expected("token_ids_negative"))


@pytest.mark.parametrize("name", CASES)
def test_text_embeddings(cases, tiny_pipeline, name):
    case = cases[name]
    cfg = case.call["guidance_scale"] > 1
    embeds = tiny_pipeline.encode_text(case.call["prompt"], case.call["negative_prompt"] or "", cfg)
    case.assert_close("text_embeds_prompt", embeds[-1:])
    if cfg:
        case.assert_close("text_embeds_negative", embeds[:1])


@pytest.mark.parametrize("name", CASES)
def test_reference_pixels_and_vae_posteriors(cases, tiny_pipeline, name):
    case = cases[name]
    h, w = case.call["height"], case.call["width"]
    pixels = tiny_pipeline.reference_pixels(case.reference(), h, w)
    case.assert_close("image_pixels", pixels)
    dist = tiny_pipeline.vae.encode(pixels.unsqueeze(2)).latent_dist
    case.assert_close("image_posterior_mean", dist.mean)
    case.assert_close("image_posterior_std", dist.std)
    pose_dist = tiny_pipeline.vae.encode(tiny_pipeline.pose_pixels(case.poses())).latent_dist
    case.assert_close("pose_posterior_mean", pose_dist.mean)
    case.assert_close("pose_posterior_std", pose_dist.std)


@pytest.mark.parametrize("name", CASES)
def test_one_transformer_call(cases, tiny_pipeline, name):
    """The first transformer call, fed the official inputs (noise | image latents, text, pose)."""
    case = cases[name]
    rot = tiny_pipeline.rotary(case.call["height"], case.call["width"],
                               case.expected("image_latents").shape[1])
    case.assert_close("rotary_cos", rot[0])
    case.assert_close("rotary_sin", rot[1])
    ofs = _t(case.expected("transformer_call0_ofs"))
    with torch.no_grad():
        out = tiny_pipeline.transformer(
            _t(case.expected("transformer_call0_hidden_states")),
            _t(case.expected("transformer_call0_encoder_hidden_states")),
            _t(case.expected("transformer_call0_timestep")),
            _t(case.expected("transformer_call0_control_hidden_states")), ofs=ofs, image_rotary_emb=rot)
    case.assert_close("transformer_call0_output", out)


@pytest.mark.parametrize("name", CASES)
def test_decode(cases, tiny_pipeline, name):
    case = cases[name]
    # decode_input is what the official pipeline hands the VAE: latents (B,C,F,h,w) / scaling.
    latents = _t(case.expected("decode_input")).permute(0, 2, 1, 3, 4) * tiny_pipeline.scaling
    case.assert_close("decoded", tiny_pipeline.decode_raw(latents))


def _run(pipe, case, decode: bool = True):
    """A whole pass with a record of every intermediate the golden case holds."""
    c = case.call
    g = torch.Generator().manual_seed(c["seed"])
    cond = pipe.condition(case.reference(), case.poses(), c["prompt"], c["negative_prompt"] or "",
                          c["guidance_scale"], g)
    latents = pipe.initial_noise(cond.image_latents.shape[1], c["height"], c["width"], g)
    rec = {"image_latents": cond.image_latents, "pose_latents": cond.pose_latents, "latents_init": latents}
    outputs, steps = [], []
    for state in pipe.denoise(latents, cond, c["num_inference_steps"], g, on_model=lambda i, v: None):
        steps.append(state.latents)
        latents = state.latents
    rec["step_latents"] = torch.stack(steps)
    rec["timesteps"] = pipe.scheduler.timesteps
    if decode:
        rec["decoded"] = pipe.decode_raw(latents)
        rec["video"] = pipe.decode(latents, c["num_frames"])
    return rec


@pytest.mark.parametrize("name", CASES)
def test_end_to_end(cases, tiny_pipeline, name):
    case = cases[name]
    rec = _run(tiny_pipeline, case)
    for key in ("image_latents", "pose_latents", "latents_init", "step_latents", "timesteps", "decoded"):
        case.assert_close(key, rec[key])
    # The initial noise is the third draw of the shared generator, bit for bit.
    np.testing.assert_array_equal(rec["latents_init"].numpy(), case.draw(2))
    # The script's video: the first N of the N+3 decoded frames, clamp(x / 2 + 0.5).
    video = np.clip(case.expected("decoded")[0, :, : case.call["num_frames"]] / 2 + 0.5, 0, 1).transpose(1, 2, 3, 0)
    assert rec["video"].shape == video.shape
    assert np.abs(rec["video"] - video).max() <= case.atol["decoded"] / 2


def test_same_seed_same_bytes(cases, tiny_pipeline):
    """Two passes with one seed give the same latents to the bit (the stochastic scheduler
    included); another seed does not."""
    case = cases[CASES[0]]
    a, b = _run(tiny_pipeline, case, decode=False), _run(tiny_pipeline, case, decode=False)
    np.testing.assert_array_equal(a["step_latents"].numpy(), b["step_latents"].numpy())
    case.call = dict(case.call, seed=case.call["seed"] + 1)
    try:
        c = _run(tiny_pipeline, case, decode=False)
    finally:
        case.call = dict(case.call, seed=case.call["seed"] - 1)
    assert np.abs(c["step_latents"].numpy() - a["step_latents"].numpy()).max() > 0.1
