"""``make_synthetic_release.py --backend stableanimator``: the official layout with the official key sets."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _writer(golden):
    root = golden.root.parents[2]
    spec = importlib.util.spec_from_file_location("make_synthetic_release", root / "tools" / "make_synthetic_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_small_release_has_the_official_keys_and_renders(golden, tmp_path):
    rc = _writer(golden).main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"])
    assert rc == 0
    info = json.loads((tmp_path / "rel" / "synthetic_release.json").read_text())
    official = golden.release()["digests"]
    # built from the studio's models, the same tensors as the release the official code loaded strictly
    assert info["digests"] == {k: v for k, v in official.items() if k != "unet"}
    from studio.backends.stableanimator.components import load_components
    from studio.backends.stableanimator.pipeline import StableAnimatorPipeline

    pipe = StableAnimatorPipeline(load_components(tmp_path / "rel"))
    req = golden.request("b_odd_14f", steps=2)
    seen = []
    res = pipe(req, on_step=lambda s: seen.append(s.step))
    assert seen == [0, 1]
    assert res.frames.shape == (14, 48, 80, 3) and np.isfinite(res.frames).all()


def test_existing_release_is_not_overwritten(golden, tmp_path):
    (tmp_path / "rel" / "Animation").mkdir(parents=True)
    assert _writer(golden).main([str(tmp_path / "rel"), "--backend", "stableanimator", "--scale", "small"]) == 2
