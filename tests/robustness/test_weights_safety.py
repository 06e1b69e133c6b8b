"""Weights safety with torch: a planted pickle that would run code when loaded never runs, wherever it
sits in the release folder. (The torch-free source check is ``test_weights_safety_static.py``.)"""

from __future__ import annotations

import os
import pathlib
import pickle
import shutil
from pathlib import Path

import pytest

from robust_helpers import assert_clear, checkpoint_files, tiny_kwargs, tiny_release
from studio.core.errors import StudioError


# -- dynamic check: planted pickles never run ----------------------------------------------------------
torch = pytest.importorskip("torch")


class TouchOnLoad:
    """Unpickling this creates ``path`` (pathlib.Path.touch)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


class ShellOnLoad:
    """Unpickling this runs a shell command that creates ``path`` (os.system)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch '{self.path}'",))


def _plant(path: Path, marker: Path, legacy: bool) -> None:
    """Overwrite ``path`` with a checkpoint-looking dict that holds both payloads."""
    payload = {"state_dict": {"conv_in.weight": torch.zeros(1)},
               "touch": TouchOnLoad(marker), "shell": ShellOnLoad(marker.with_suffix(".sh"))}
    if legacy:
        path.write_bytes(pickle.dumps(payload, protocol=2))  # a plain pickle, as old .bin files are
    else:
        torch.save(payload, path)  # the zip format of .ckpt/.pth files


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_release(tmp_path_factory.mktemp("release"))


def _positions(pristine: Path) -> list[str]:
    return [str(p.relative_to(pristine)) for p in checkpoint_files(pristine)]


def test_the_release_has_every_checkpoint_format(pristine: Path) -> None:
    suffixes = {Path(p).suffix for p in _positions(pristine)}
    assert suffixes == {".ckpt", ".bin", ".pth", ".safetensors"}


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "plain-pickle"])
def test_reader_refuses_a_planted_pickle_in_every_position(pristine: Path, tmp_path: Path, legacy: bool) -> None:
    from studio.backends.xdyna.loading import read_state_dict

    marker = tmp_path / "pwned"
    for rel in _positions(pristine):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".safetensors":
            path = path.with_suffix(".bin")  # the loader also accepts .bin in these places
        _plant(path, marker, legacy)
        with pytest.raises(StudioError) as info:
            read_state_dict(path)
        assert info.value.title == "Checkpoint refused", (rel, info.value)
        assert_clear(info.value, path.name)
        assert not marker.exists() and not marker.with_suffix(".sh").exists(), rel


def test_pipeline_refuses_a_planted_pickle_in_every_position(pristine: Path, tmp_path: Path) -> None:
    """The whole load, as the app does it, with the pickle in one place at a time."""
    from studio.backends.xdyna.layout import resolve
    from studio.backends.xdyna.pipeline import XDynaPipeline

    marker = tmp_path / "pwned"
    sources = resolve(pristine)
    loaded = {str(p) for p in [*sources.weights.values(), *sources.unet_bases.values()]}
    # the seven components plus the UNet's base file animatediff_v15_v1_ipplus.pth (read as the official code does)
    assert {Path(p).suffix for p in loaded} == {".ckpt", ".bin", ".safetensors", ".pth"} and len(loaded) == 8
    for i, rel in enumerate(_positions(pristine)):
        release = tmp_path / f"release{i}"
        shutil.copytree(pristine, release)
        path = release / rel
        if path.suffix == ".safetensors":
            path.unlink()
            path = path.with_suffix(".bin")
        _plant(path, marker, legacy=path.suffix == ".bin")
        if str(pristine / rel) in loaded:
            with pytest.raises(StudioError) as info:
                XDynaPipeline.from_release(release, device="cpu", dtype="float32", **tiny_kwargs())
            assert info.value.title == "Checkpoint refused", (rel, info.value)
            assert_clear(info.value, path.name)
        else:  # a file the release ships but the studio never opens (the ControlNet initialisations)
            XDynaPipeline.from_release(release, device="cpu", dtype="float32", **tiny_kwargs())
        assert not marker.exists() and not marker.with_suffix(".sh").exists(), rel
        shutil.rmtree(release)
