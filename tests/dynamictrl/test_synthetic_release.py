"""tools/synthetic_releases/dynamictrl.py: the small release is the golden one, tensor for tensor."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from safetensors import safe_open  # noqa: E402

from tests.dynamictrl.conftest import RELEASE  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _writer():
    spec = importlib.util.spec_from_file_location("dc_synthetic", ROOT / "tools" / "synthetic_releases" / "dynamictrl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("dc_small")
    assert _writer().main([str(out), "--scale", "small"]) == 0
    return out


@pytest.mark.parametrize("sub", ["transformer", "vae", "text_encoder"])
def test_small_release_equals_the_golden_release(small, sub):
    (got,) = sorted((small / sub).glob("*.safetensors"))
    (ref,) = sorted((RELEASE / sub).glob("*.safetensors"))
    with safe_open(str(got), "pt") as a, safe_open(str(ref), "pt") as b:
        assert set(a.keys()) == set(b.keys())
        for key in a.keys():
            assert torch.equal(a.get_tensor(key), b.get_tensor(key)), key


def test_small_release_loads_and_is_described(small):
    from studio.backends.dynamictrl.loading import check_release, load_transformer

    assert check_release(small) == []
    assert json.loads((small / "synthetic_release.json").read_text())["scale"] == "small"
    model = load_transformer(small)
    assert len(model.transformer_blocks) == 2 and hasattr(model.transformer_blocks[0], "control_norm1")


def test_shards_and_index(tmp_path):
    """A model bigger than the shard size is split, with an index naming every key's file."""
    w = _writer()
    from studio.backends.dynamictrl.transformer import DynamiCtrlTransformer

    with torch.device("meta"):
        model = DynamiCtrlTransformer(**w.TINY_TRANSFORMER)
    names = w.write_model(model, tmp_path / "transformer", "diffusion_pytorch_model", torch.Generator().manual_seed(0),
                          {}, torch.float32, shard_bytes=100_000)
    assert len(names) > 1
    index = json.loads((tmp_path / "transformer" / "diffusion_pytorch_model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(dict(model.named_parameters()))
    assert set(index["weight_map"].values()) == set(names)
