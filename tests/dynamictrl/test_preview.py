"""Step previews: predicted clean latents in false colour, one per output frame."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from studio.backends.dynamictrl.preview import latent_frame_of, preview_frames  # noqa: E402


def test_output_frames_map_to_the_vae_groups():
    assert [latent_frame_of(k) for k in range(13)] == [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]


def test_preview_shows_each_frames_latent():
    x0 = torch.zeros(1, 4, 16, 2, 3)
    for f in range(4):
        x0[0, f, :3] = f                                    # latent frame f has value f on R, G, B
    out = preview_frames(x0, 13)
    assert out.shape == (13, 2, 3, 3) and out.dtype.name == "uint8"
    assert [int(out[k, 0, 0, 0]) for k in (0, 1, 4, 5, 12)] == [0, 85, 85, 170, 255]
