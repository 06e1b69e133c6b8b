"""ArcFace alignment and input: the similarity transform onto the template (Umeyama, as
scikit-image estimates it), the warp, the blob, and the embedding on the glintr100 stand-in."""

from __future__ import annotations

import numpy as np
import pytest

from studio.backends.stableanimator.arcface import (
    ARCFACE_TEMPLATE, align_face, arcface_blob, similarity_transform,
)


def _apply(m, pts):
    return pts @ m[:, :2].T + m[:, 2]


def test_the_template_maps_to_the_identity():
    m = similarity_transform(ARCFACE_TEMPLATE, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(m, [[1, 0, 0], [0, 1, 0]], atol=1e-9)


def test_a_rotated_scaled_shifted_face_maps_back_onto_the_template():
    a = np.deg2rad(30)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    pts = ARCFACE_TEMPLATE @ (2.5 * rot).T + [40.0, -7.0]
    m = similarity_transform(pts, ARCFACE_TEMPLATE)
    np.testing.assert_allclose(_apply(m, pts), ARCFACE_TEMPLATE, atol=1e-4)
    np.testing.assert_allclose(np.hypot(*m[:, 0]), 1 / 2.5, rtol=1e-9)


@pytest.mark.parametrize("mirror", [False, True])
def test_the_estimate_is_scikit_images(mirror):
    skimage = pytest.importorskip("skimage.transform")
    rng = np.random.default_rng(3)
    for _ in range(20):
        pts = ARCFACE_TEMPLATE * rng.uniform(0.5, 3) + rng.normal(0, 4, (5, 2)) + rng.uniform(-50, 200, 2)
        if mirror:  # a reflection cannot be a similarity: both give the best rotation
            pts = pts * [-1, 1]
        if hasattr(skimage.SimilarityTransform, "from_estimate"):
            ref = skimage.SimilarityTransform.from_estimate(pts, ARCFACE_TEMPLATE)
        else:
            ref = skimage.SimilarityTransform()
            ref.estimate(pts, ARCFACE_TEMPLATE)
        # scikit-image keeps the float32 template's precision in part: float32 rounding of ~100 px
        np.testing.assert_allclose(similarity_transform(pts, ARCFACE_TEMPLATE), ref.params[:2], atol=2e-5)


def test_align_cuts_the_face_at_the_template():
    rng = np.random.default_rng(0)
    face = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
    np.testing.assert_array_equal(align_face(face, ARCFACE_TEMPLATE), face)
    photo = np.zeros((300, 250, 3), np.uint8)
    photo[40:152, 30:142] = face
    np.testing.assert_array_equal(align_face(photo, ARCFACE_TEMPLATE + [30, 40]), face)
    # twice as large: the crop is the photo at half resolution (bilinear samples between pixels)
    big = np.kron(face, np.ones((2, 2, 1), np.uint8))
    crop = align_face(big, ARCFACE_TEMPLATE * 2).astype(int)
    assert np.abs(crop[1:-1, 1:-1] - face[1:-1, 1:-1]).max() <= 1


def test_arcface_blob_reverses_channels_and_scales_to_unit():
    crops = np.zeros((2, 112, 112, 3), np.uint8)
    crops[0, ..., 0] = 255
    blob = arcface_blob(crops)
    assert blob.shape == (2, 3, 112, 112) and blob.dtype == np.float32
    np.testing.assert_allclose(blob[0, :, 5, 5], [-1, -1, 1])
    np.testing.assert_allclose(blob[1, :, 5, 5], [-1, -1, -1])


def test_embedding_is_the_graph_on_the_blob(face_folder):
    """The stand-in is a 14x14 stride-14 convolution: recompute it by hand from its weights."""
    import onnx
    from onnx import numpy_helper

    from studio.backends.stableanimator.arcface import ArcFace

    path = face_folder / "models" / "antelopev2" / "glintr100.onnx"
    w = numpy_helper.to_array(onnx.load(str(path)).graph.initializer[0])
    model = ArcFace(path, ["CPUExecutionProvider"])
    crops = np.random.default_rng(1).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    got = model.embed(crops)
    x = (crops[..., ::-1].astype(np.float64) - 127.5) / 127.5  # RGB -> the network's reversed order
    patches = x.reshape(2, 8, 14, 8, 14, 3).transpose(0, 1, 3, 5, 2, 4)  # n, y, x, c, ky, kx
    want = np.einsum("nyxcij,ocij->noyx", patches, w).reshape(2, 512)
    assert got.shape == (2, 512)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
