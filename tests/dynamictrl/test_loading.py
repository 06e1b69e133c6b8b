"""Loading a DynamiCtrl release: strict keys and shapes, clear errors naming the file."""

from __future__ import annotations

import shutil

import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import load_file, save_file  # noqa: E402

from studio.backends.dynamictrl.loading import check_release, load_pipeline, load_transformer  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402
from tests.dynamictrl.conftest import RELEASE  # noqa: E402

TR = "transformer/diffusion_pytorch_model.safetensors"


@pytest.fixture
def release(tmp_path):
    out = tmp_path / "release"
    shutil.copytree(RELEASE, out)
    return out


def _edit(release, fn):
    sd = load_file(str(release / TR))
    fn(sd)
    save_file(sd, str(release / TR))


def test_complete_release_has_no_problems(release):
    assert check_release(release) == []


def test_missing_folder_is_named(release):
    shutil.rmtree(release / "vae")
    assert "vae/config.json is missing" in check_release(release)
    with pytest.raises(StudioError) as err:
        load_pipeline(release)
    assert "vae/config.json is missing" in err.value.description and str(release) in err.value.description


def test_missing_pa_ln_key(release):
    _edit(release, lambda sd: sd.pop("transformer_blocks.1.control_norm1.linear.weight"))
    with pytest.raises(StudioError, match="control_norm1.linear.weight") as err:
        load_transformer(release)
    assert "PA-LN" in err.value.description


def test_wrong_shape_names_file_and_key(release):
    _edit(release, lambda sd: sd.__setitem__("proj_out.weight", torch.zeros(3, 3)))
    with pytest.raises(StudioError) as err:
        load_transformer(release)
    assert TR.split("/")[1] in err.value.description and "proj_out.weight" in err.value.description
    assert "(3, 3)" in err.value.description


def test_unexpected_key_names_file(release):
    _edit(release, lambda sd: sd.__setitem__("extra.weight", torch.zeros(1)))
    with pytest.raises(StudioError, match="extra.weight"):
        load_transformer(release)


def test_damaged_file(release):
    (release / TR).write_bytes(b"not a safetensors file")
    with pytest.raises(StudioError, match="could not be read"):
        load_transformer(release)


def test_sharded_transformer_with_index_loads(release):
    """A transformer split in two files with an index (as large releases are) loads the same."""
    sd = load_file(str(release / TR))
    keys = sorted(sd)
    half = len(keys) // 2
    parts = {"diffusion_pytorch_model-00001-of-00002.safetensors": keys[:half],
             "diffusion_pytorch_model-00002-of-00002.safetensors": keys[half:]}
    (release / TR).unlink()
    for name, ks in parts.items():
        save_file({k: sd[k] for k in ks}, str(release / "transformer" / name))
    import json

    (release / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(
        json.dumps({"weight_map": {k: n for n, ks in parts.items() for k in ks}}))
    model = load_transformer(release)
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k
    (release / "transformer" / "diffusion_pytorch_model-00002-of-00002.safetensors").unlink()
    with pytest.raises(StudioError, match="00002-of-00002"):
        load_transformer(release)
