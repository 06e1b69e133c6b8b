"""X-Dyna attention processors on bare diffusers ``Attention`` modules vs. hand computation."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from diffusers.models.attention_processor import Attention  # noqa: E402

from studio.backends.xdyna.attention import DynamicsAdapterAttnProcessor, IPAdapterAttnProcessor  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402

CHANNELS, HEADS = 16, 2


def _naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Per-head softmax(q k^T / sqrt(d)) v for (tq, C), (tk, C), (tk, C) with explicit loops."""
    d = q.shape[-1] // heads
    outs = []
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        weights = torch.softmax(q[:, sl] @ k[:, sl].T / d**0.5, dim=-1)
        outs.append(weights @ v[:, sl])
    return torch.cat(outs, dim=-1)


def _randomise(module: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


def _dynamics_attention() -> Attention:
    attn = Attention(query_dim=CHANNELS, heads=HEADS, dim_head=CHANNELS // HEADS, bias=False)
    DynamicsAdapterAttnProcessor.install(attn)
    _randomise(attn, 0)
    return attn.eval()


def test_dynamics_adapter_matches_hand_computation() -> None:
    attn = _dynamics_attention()
    batch, frames, tokens = 2, 3, 5
    x = torch.randn(batch * frames, tokens, CHANNELS, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = attn(x, num_frames=frames)
        expected = torch.empty_like(out)
        for b in range(batch):
            ref = x[b * frames]
            for f in range(frames):
                xf = x[b * frames + f]
                self_part = _naive_attention(attn.to_q(xf), attn.to_k(xf), attn.to_v(xf), HEADS)
                ref_part = _naive_attention(attn.to_q_ff(xf), attn.to_k(ref), attn.to_v(ref), HEADS)
                expected[b * frames + f] = attn.to_out[0](self_part) + attn.to_out_ff(ref_part)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_dynamics_adapter_each_batch_element_uses_its_own_reference() -> None:
    attn = _dynamics_attention()
    frames = 4
    x = torch.randn(2 * frames, 6, CHANNELS, generator=torch.Generator().manual_seed(2))
    changed = x.clone()
    changed[frames] += 1.0  # frame 0 of the second (cond) half
    with torch.no_grad():
        a, b = attn(x, num_frames=frames), attn(changed, num_frames=frames)
    assert torch.equal(a[:frames], b[:frames])  # first half untouched
    assert (a[frames + 1 :] - b[frames + 1 :]).abs().amax() > 1e-3  # second half follows its reference


def test_dynamics_adapter_weights_live_under_official_names() -> None:
    attn = _dynamics_attention()
    keys = set(attn.state_dict())
    assert {"to_q_ff.weight", "to_out_ff.weight", "to_out_ff.bias"} <= keys
    assert not any(k.startswith("processor") for k in keys)
    before = attn.to_q_ff.weight.clone()
    DynamicsAdapterAttnProcessor.install(attn)  # installing again keeps trained weights
    assert torch.equal(attn.to_q_ff.weight, before)


def test_dynamics_adapter_needs_frame_count() -> None:
    attn = _dynamics_attention()
    with pytest.raises(StudioError):
        attn(torch.randn(6, 4, CHANNELS), num_frames=4)
    with pytest.raises(StudioError):
        attn(torch.randn(6, 4, CHANNELS))


def _ip_attention(cross_dim: int = 12) -> Attention:
    attn = Attention(
        query_dim=CHANNELS, cross_attention_dim=cross_dim, heads=HEADS, dim_head=CHANNELS // HEADS, bias=False
    )
    IPAdapterAttnProcessor.install(attn)
    _randomise(attn, 3)
    return attn.eval()


def test_ip_adapter_matches_hand_computation() -> None:
    attn = _ip_attention()
    batch, frames, tokens = 2, 3, 4
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(batch * frames, tokens, CHANNELS, generator=gen)
    context = torch.randn(batch, 93, 12, generator=gen)
    with torch.no_grad():
        out = attn(x, encoder_hidden_states=context)
        expected = torch.empty_like(out)
        for row in range(batch * frames):
            text, image = context[row // frames, :77], context[row // frames, 77:]
            q = attn.to_q(x[row])
            mixed = _naive_attention(q, attn.to_k(text), attn.to_v(text), HEADS) + _naive_attention(
                q, attn.to_k_ip(image), attn.to_v_ip(image), HEADS
            )
            expected[row] = attn.to_out[0](mixed)
        # Repeating the encoder states per frame (the official layout) gives the same result.
        repeated = attn(x, encoder_hidden_states=context.repeat_interleave(frames, dim=0))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(repeated, out, atol=1e-6, rtol=1e-6)
    assert {"to_k_ip.weight", "to_v_ip.weight"} <= set(attn.state_dict())
    assert attn.to_k_ip.bias is None and attn.to_v_ip.bias is None


def test_ip_adapter_requires_77_plus_16_tokens() -> None:
    attn = _ip_attention()
    with pytest.raises(StudioError, match="93"):
        attn(torch.randn(2, 4, CHANNELS), encoder_hidden_states=torch.randn(2, 77, 12))
    with pytest.raises(StudioError):
        attn(torch.randn(2, 4, CHANNELS))


def test_temporal_attention_batch_chunking_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long batches of frame sequences are split (CUDA grid limit) without changing any number."""
    import studio.backends.xdyna.attention as attention_module
    from studio.backends.xdyna.motion_module import TemporalSelfAttention

    attn = TemporalSelfAttention(CHANNELS, HEADS, CHANNELS // HEADS, position_encoding=True, max_len=24).eval()
    _randomise(attn, 11)
    x = torch.randn(37, 16, CHANNELS, generator=torch.Generator().manual_seed(12))
    with torch.no_grad():
        whole = attn(x)
        monkeypatch.setattr(attention_module, "MAX_SDPA_BATCH", 5)
        chunked = attn(x)
        expected = torch.stack(
            [attn.to_out[0](_naive_attention(*(lin(row + attn.pos_encoder.pe[0, :16]) for lin in (attn.to_q, attn.to_k, attn.to_v)), HEADS)) for row in x]
        )
    torch.testing.assert_close(chunked, whole, atol=0, rtol=0)
    torch.testing.assert_close(whole, expected, atol=1e-5, rtol=1e-5)
