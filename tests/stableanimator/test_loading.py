"""Loading the release as published: strict keys, clear errors naming the file."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")

from studio.backends.stableanimator.components import load_components  # noqa: E402
from studio.backends.stableanimator.layout import ANIMATION_FILES as RELEASE_FILES  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402


@pytest.fixture()
def release_copy(tiny_release, tmp_path):
    dest = tmp_path / "release"
    shutil.copytree(tiny_release, dest)
    return dest


def test_official_unet_file_holds_the_id_adapter_weights(tiny_release):
    c = load_components(tiny_release)
    sd = torch.load(tiny_release / RELEASE_FILES["unet"], weights_only=True)
    ours = c.unet.state_dict()
    assert set(ours) == set(sd)
    assert any(k.endswith("attn2.processor.id_to_k.weight") for k in ours)
    key = next(k for k in ours if k.endswith("attn2.processor.id_to_v.weight"))
    torch.testing.assert_close(ours[key], sd[key], rtol=0, atol=0)


def test_missing_file_is_named(release_copy):
    (release_copy / RELEASE_FILES["face_encoder"]).unlink()
    with pytest.raises(StudioError) as err:
        load_components(release_copy)
    assert "Animation/face_encoder.pth" in err.value.description


def test_wrong_shape_names_the_file_and_key(release_copy):
    path = release_copy / RELEASE_FILES["pose_net"]
    sd = torch.load(path, weights_only=True)
    sd["final_proj.weight"] = torch.zeros(7, 128, 1, 1)
    torch.save(sd, path)
    with pytest.raises(StudioError) as err:
        load_components(release_copy)
    assert "pose_net.pth" in err.value.description and "final_proj.weight" in err.value.description
    assert "StableAnimator" in err.value.description


def test_pickled_code_is_refused(release_copy):
    path = release_copy / RELEASE_FILES["unet"]
    torch.save({"x": torch.nn.Linear(2, 2)}, path)  # a module, not a tensor: unpickling it could run code
    with pytest.raises(StudioError) as err:
        load_components(release_copy)
    assert "unet.pth" in err.value.description
