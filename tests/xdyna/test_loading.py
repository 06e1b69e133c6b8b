"""Loading the X-Dyna release: safe unpickling, strict keys/shapes, wrappers, layout checks, convert."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.layout import RELEASE_FILES, check_release  # noqa: E402
from studio.backends.xdyna.loading import read_state_dict  # noqa: E402
from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402

CASE = "a_pose_16f"
CONTROLNET = "controlnet/controlnet-checkpoint-epoch-5.ckpt"


@pytest.fixture
def release(tmp_path, tiny) -> Path:
    """A writable copy of the tiny release tree."""
    dst = tmp_path / "weights"
    shutil.copytree(tiny.dir(CASE) / "weights", dst)
    return dst


def _load(folder: Path, tiny) -> XDynaPipeline:
    return XDynaPipeline.from_release(folder, device="cpu", dtype="float32", **tiny.kwargs(CASE))


class _WritesFile:
    """Unpickling this would create ``path`` (the attack a weights_only load must refuse)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_that_would_run_code_is_refused(tmp_path, release, tiny):
    marker = tmp_path / "pwned.txt"
    ckpt = release / "pretrained_weights" / CONTROLNET
    torch.save({"conv_in.weight": torch.zeros(1), "payload": _WritesFile(marker)}, ckpt)
    with pytest.raises(StudioError) as err:
        read_state_dict(ckpt)
    assert err.value.title == "Checkpoint refused"
    assert str(ckpt) in err.value.description
    with pytest.raises(StudioError):
        _load(release, tiny)
    assert not marker.exists()


def test_plain_pickle_payload_is_refused(tmp_path):
    import pickle

    marker = tmp_path / "pwned2.txt"
    ckpt = tmp_path / "legacy.ckpt"
    ckpt.write_bytes(pickle.dumps({"w": _WritesFile(marker)}, protocol=2))
    with pytest.raises(StudioError) as err:
        read_state_dict(ckpt)
    assert "could run code" in err.value.description
    assert not marker.exists()


def test_wrong_shape_names_file_and_key(release, tiny):
    ckpt = release / "pretrained_weights" / CONTROLNET
    sd = torch.load(ckpt, weights_only=True)
    sd["controlnet_mid_block.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save(sd, ckpt)
    with pytest.raises(StudioError) as err:
        _load(release, tiny)
    text = err.value.description
    assert str(ckpt) in text and "controlnet_mid_block.weight" in text and "wrong shape" in text


def test_missing_and_unexpected_keys_are_named(release, tiny):
    ckpt = release / "pretrained_weights" / CONTROLNET
    sd = torch.load(ckpt, weights_only=True)
    sd.pop("conv_in.bias")
    sd["not_a_layer.weight"] = torch.zeros(2)
    torch.save(sd, ckpt)
    with pytest.raises(StudioError) as err:
        _load(release, tiny)
    assert "conv_in.bias" in err.value.description and "not_a_layer.weight" in err.value.description


def test_state_dict_wrapper_and_module_prefix_are_accepted(tmp_path, release, tiny):
    base = _load(release, tiny)  # mapped from its files: the wrapped copy goes to another folder
    other = tmp_path / "wrapped"
    shutil.copytree(release, other)
    for rel in (CONTROLNET, "unet/unet-checkpoint-epoch-5.ckpt"):
        ckpt = other / "pretrained_weights" / rel
        sd = torch.load(ckpt, weights_only=True)
        extras = {"epoch": np.int64(5), "loss": np.float32(0.25), "global_step": 1200,
                  "optimizer": {"state": {0: {"exp_avg": torch.zeros(2)}}, "param_groups": [{"lr": 1e-5}]}}
        torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, **extras}, ckpt)
    wrapped = _load(other, tiny)
    for a, b in ((base.controlnet, wrapped.controlnet), (base.unet, wrapped.unet)):
        sa, sb = a.state_dict(), b.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_check_release_lists_every_missing_piece(tmp_path, release):
    assert check_release(release) == []
    root = release / "pretrained_weights"
    (root / "unet" / "unet-checkpoint-epoch-5.ckpt").unlink()
    shutil.rmtree(root / "initialization/unet_initialization/SD/stable-diffusion-v1-5/tokenizer")
    problems = check_release(release)
    assert any("UNet checkpoint" in p for p in problems)
    assert sum("tokenizer" in p for p in problems) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(check_release(empty)) >= len(RELEASE_FILES) + 2
    assert check_release(tmp_path / "nowhere")
    face_free = [p for p in check_release(empty, face=False) if "S-Face" in p]
    assert face_free == []


def test_package_import_and_check_release_need_no_torch(release):
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import studio.backends.xdyna as x\n"
        f"assert x.check_release({str(release)!r}) == []\n"
        "assert 'diffusers' not in sys.modules and 'transformers' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_converted_copy_loads_and_renders_identically(tmp_path, tiny):
    from studio.backends.xdyna.convert import convert_release

    inputs = tiny.inputs(CASE)
    src = tiny.dir(CASE) / "weights"
    dst = tmp_path / "converted"
    convert_release(src, dst, **tiny.kwargs(CASE))
    assert check_release(dst) == []
    call = XDynaCall(inputs["reference"], inputs["pose"][:6], num_inference_steps=2, seed=1)
    a = _load(src, tiny)(call)
    b = XDynaPipeline.from_release(dst, device="cpu", dtype="float32")(call)
    assert a.video.tobytes() == b.video.tobytes()
    half = tmp_path / "half"
    convert_release(src, half, fp16=True, **tiny.kwargs(CASE))
    sd = read_state_dict(half / "unet.safetensors")
    assert all(v.dtype == torch.float16 for v in sd.values() if v.is_floating_point())
    c = XDynaPipeline.from_release(half, device="cpu", dtype="float32")(call)
    assert np.abs(c.video - a.video).max() < 0.05


def test_weights_cli(tmp_path, release, capsys, tiny):
    from studio.cli import main

    case = str(tiny.dir(CASE) / "case.json")  # the tiny resampler's size
    assert main(["weights", "check", str(release), "--kwargs", case]) == 0
    out = capsys.readouterr().out
    assert "every key and shape matches" in out and "note:" not in out
    pth = next((release / "pretrained_weights").rglob("animatediff_v15_v1_ipplus.pth"))
    moved = pth.rename(tmp_path / pth.name)
    assert main(["weights", "check", str(release), "--kwargs", case]) == 0  # the UNet checkpoint is complete
    assert "note: animatediff_v15_v1_ipplus.pth is not in" in capsys.readouterr().out
    moved.rename(pth)
    assert main(["weights", "check", str(release)]) == 1  # official resampler size: shapes do not fit
    assert "ip-adapter-plus_sd15.bin does not fit Resampler" in capsys.readouterr().out
    (release / "pretrained_weights" / CONTROLNET).unlink()
    assert main(["weights", "check", str(release)]) == 1
    assert "pose ControlNet checkpoint" in capsys.readouterr().out
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    assert main(["weights", "convert", str(release), str(occupied)]) == 2
