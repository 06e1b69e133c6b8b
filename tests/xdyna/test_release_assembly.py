"""Release assembly in the official order, on scaled-down synthetic releases.

The releases come from ``tools/make_synthetic_release.py --scale small`` (the generator of the
full-size release, with 32-64 channel models): the exact official tree, file formats and key
names, with random weights that differ between the SD1.5 UNet file, the ``.pth`` and the X-Dyna
checkpoint, so taking a tensor from the wrong file changes the result.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna.components import load_components  # noqa: E402
from studio.backends.xdyna.layout import UNET_BASES, resolve  # noqa: E402
from studio.backends.xdyna.loading import MappedPages  # noqa: E402
from studio.backends.xdyna.pipeline import XDynaCall, XDynaPipeline  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
UNET = "unet/unet-checkpoint-epoch-5.ckpt"
PTH = UNET_BASES["unet_motion"]
NAMES = ("unet", "controlnet", "vae", "text_encoder", "image_encoder", "image_proj")


def _generator():
    spec = importlib.util.spec_from_file_location("make_synthetic_release", REPO / "tools" / "make_synthetic_release.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.fixture(scope="module")
def partial(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("partial")
    GEN.write_release(folder, "small", partial_unet=True)
    return folder


@pytest.fixture(scope="module")
def full_fp16(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("full_fp16")
    GEN.write_release(folder, "small", partial_unet=False, fp16=True)
    return folder


def _kwargs(folder: Path) -> dict:
    info = json.loads((folder / GEN.SPEC_FILE).read_text())
    return {"resampler_kwargs": info["resampler_kwargs"], "motion_module_kwargs": info["motion_module_kwargs"]}


def _copy(folder: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(folder, dst)
    return dst


def _assert_same_models(a, b) -> None:
    for name in NAMES:
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert sa.keys() == sb.keys(), name
        differ = [k for k in sa if sa[k].dtype != sb[k].dtype or not torch.equal(sa[k], sb[k])]
        assert not differ, (name, differ[:5])


def test_partial_release_from_files_equals_the_state_dicts_in_memory(partial: Path) -> None:
    """Trained keys from the X-Dyna checkpoint, the rest from the .pth; one step gives the same latents."""
    files = XDynaPipeline.from_release(partial, device="cpu", dtype="float32", face=False, **_kwargs(partial))
    memory = XDynaPipeline(GEN.components_in_memory("small", partial_unet=True), device="cpu", dtype="float32")
    _assert_same_models(files, memory)
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pose = rng.integers(0, 256, (16, 64, 64, 3), dtype=np.uint8)
    a = files(XDynaCall(ref, pose, num_inference_steps=1, seed=5))
    b = memory(XDynaCall(ref, pose, num_inference_steps=1, seed=5))
    assert np.isfinite(a.latents).all() and np.abs(a.latents).mean() > 1e-3
    assert a.latents.tobytes() == b.latents.tobytes()
    # the step did depend on the .pth: the same weights with the SD1.5 values instead differ
    sd_values = GEN.random_tensor(0, "unet_sd", "conv_in.weight", tuple(files.unet.conv_in.weight.shape))
    assert not torch.equal(sd_values, files.unet.conv_in.weight)


def test_partial_release_provenance(partial: Path) -> None:
    comps = load_components(resolve(partial), face=True, **_kwargs(partial))
    root = resolve(partial).root
    unet = comps.provenance["unet"]
    trained = [k for k in comps.unet.state_dict() if any(t in k for t in GEN.TRAINED)]
    assert unet[str(root / UNET)] == len(trained)
    assert unet[str(root / PTH)] == len(comps.unet.state_dict()) - len(trained)
    assert unet[str(root / UNET_BASES["unet_sd"]) + ".safetensors"] == 0  # read, every tensor overridden
    for name in ("controlnet", "controlnet_face", "vae", "text_encoder", "image_encoder", "image_proj"):
        (count,) = comps.provenance[name].values()
        assert count == len(getattr(comps, name).state_dict())


def test_cpu_float32_load_keeps_every_weight_mapped_from_its_file(partial: Path) -> None:
    """Nothing is copied: every parameter lies in a mapping of a checkpoint file (never held twice)."""
    comps = load_components(resolve(partial), face=False, device="cpu", dtype=torch.float32, **_kwargs(partial))
    pages = MappedPages()
    assert pages.ranges, "no checkpoint file is mapped"

    def mapped(t: torch.Tensor) -> bool:
        ptr = t.data_ptr()
        return any(lo <= ptr < hi for lo, hi, _, _ in pages.ranges)

    for name in NAMES:
        params = list(getattr(comps, name).named_parameters())
        copied = [n for n, p in params if not mapped(p)]
        assert not copied, (name, copied[:5])


def test_float16_release_loads_as_float32_equal_to_memory(full_fp16: Path) -> None:
    comps = load_components(resolve(full_fp16), face=False, device="cpu", dtype=torch.float32, **_kwargs(full_fp16))
    memory = GEN.components_in_memory("small", partial_unet=False, fp16=True)
    _assert_same_models(comps, memory)
    assert comps.unet.conv_in.weight.dtype == torch.float32
    root = resolve(full_fp16).root
    assert comps.provenance["unet"][str(root / UNET)] == len(comps.unet.state_dict())


def test_to_q_ff_starts_as_a_copy_of_to_q_when_the_checkpoint_lacks_it(partial: Path, tmp_path: Path) -> None:
    folder = _copy(partial, tmp_path / "no_ff")
    ckpt = folder / "pretrained_weights" / UNET
    sd = torch.load(ckpt, weights_only=True)
    torch.save({k: v for k, v in sd.items() if "to_q_ff" not in k}, ckpt)
    comps = load_components(resolve(folder), face=False, **_kwargs(folder))
    pth = torch.load(folder / "pretrained_weights" / PTH, weights_only=True)
    unet = comps.unet.state_dict()
    ff = [k for k in unet if k.endswith("attn1.to_q_ff.weight")]
    assert ff and all(torch.equal(unet[k], pth[k.replace("to_q_ff", "to_q")]) for k in ff)
    assert comps.provenance["unet"]["initialisation: attn1.to_q_ff copied from attn1.to_q"] == len(ff)


def test_a_key_no_file_provides_names_the_chain(partial: Path, tmp_path: Path) -> None:
    folder = _copy(partial, tmp_path / "missing")
    root = folder / "pretrained_weights"
    for rel in (PTH, UNET_BASES["unet_sd"] + ".safetensors"):
        path = root / rel
        if path.suffix == ".safetensors":
            path.unlink()  # the SD1.5 UNet weights are optional
            continue
        sd = torch.load(path, weights_only=True)
        sd.pop("mid_block.resnets.0.conv1.weight")
        torch.save(sd, path)
    with pytest.raises(StudioError) as info:
        XDynaPipeline.from_release(folder, device="cpu", dtype="float32", face=False, **_kwargs(folder))
    text = info.value.description
    assert info.value.title == "UNet weights incomplete"
    assert "mid_block.resnets.0.conv1.weight" in text and str(root / PTH) in text and str(root / UNET) in text
    assert "animatediff_v15_v1_ipplus.pth" in text  # what to do


def test_unexpected_key_is_an_error_in_the_checkpoint_and_ignored_in_the_pth(partial: Path, tmp_path: Path) -> None:
    folder = _copy(partial, tmp_path / "unexpected")
    root = folder / "pretrained_weights"
    pth = torch.load(root / PTH, weights_only=True)
    pth["not_a_layer.weight"] = torch.zeros(2)
    torch.save(pth, root / PTH)
    comps = load_components(resolve(folder), face=False, **_kwargs(folder))  # strict=False, as official
    assert comps.unet is not None
    from studio.backends.xdyna.components import check_components

    report = next(r for r in check_components(resolve(folder), face=False, **_kwargs(folder)) if r.name == "unet")
    assert report.ignored == {str(root / PTH): 1}
    sd = torch.load(root / UNET, weights_only=True)
    sd["not_a_layer.weight"] = torch.zeros(2)
    torch.save(sd, root / UNET)
    with pytest.raises(StudioError) as info:
        load_components(resolve(folder), face=False, **_kwargs(folder))
    assert str(root / UNET) in info.value.description and "not_a_layer.weight" in info.value.description
    assert "unexpected" in info.value.description


def test_wrong_shape_in_a_base_file_names_it(partial: Path, tmp_path: Path) -> None:
    folder = _copy(partial, tmp_path / "shape")
    root = folder / "pretrained_weights"
    pth = torch.load(root / PTH, weights_only=True)
    pth["conv_in.weight"] = torch.zeros(3, 3, 1, 1)
    torch.save(pth, root / PTH)
    with pytest.raises(StudioError) as info:
        load_components(resolve(folder), face=False, **_kwargs(folder))
    assert str(root / PTH) in info.value.description and "conv_in.weight" in info.value.description
    assert "wrong shape" in info.value.description


def test_weights_check_prints_where_each_tensor_came_from(partial: Path, capsys) -> None:
    from studio.cli import main

    spec = partial / GEN.SPEC_FILE
    assert main(["weights", "check", str(partial), "--kwargs", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "every key and shape matches" in out
    assert "animatediff_v15_v1_ipplus.pth" in out and "unet-checkpoint-epoch-5.ckpt" in out
    assert main(["weights", "check", str(partial), "--files-only"]) == 0
    assert "tensors per source" not in capsys.readouterr().out


_CAST_CHILD = """
import resource, sys, torch
sys.path.insert(0, {repo!r})
from studio.backends.xdyna.loading import materialise, read_state_dict
sd = read_state_dict({path!r})
with torch.device("meta"):
    model = torch.nn.Sequential(*[torch.nn.Linear(1024, 1024) for _ in range({n})])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
model.load_state_dict(sd, assign=True)
del sd
materialise(model, "cpu", torch.float16)
assert model[0].weight.dtype == torch.float16
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""


def test_float16_cast_gives_the_file_pages_back(tmp_path: Path) -> None:
    """Casting a mapped float32 checkpoint to float16 peaks near the float16 size, not both sizes."""
    n = 48  # 48 x 4 MiB float32 weights: a 201 MB file
    model = torch.nn.Sequential(*[torch.nn.Linear(1024, 1024) for _ in range(n)])
    path = tmp_path / "big.ckpt"
    torch.save(model.state_dict(), path)
    del model
    code = _CAST_CHILD.format(repo=str(REPO), path=str(path), n=n)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr[-2000:]
    grew = int(run.stdout.strip().splitlines()[-1])
    size = path.stat().st_size
    assert grew < 0.75 * size, f"peak grew by {grew / size:.2f}x the file"


def test_converted_copy_of_a_partial_release_holds_the_assembled_unet(partial: Path, tmp_path: Path) -> None:
    from studio.backends.xdyna.convert import convert_release

    convert_release(partial, tmp_path / "converted", **_kwargs(partial))
    comps = load_components(resolve(tmp_path / "converted"), face=False)
    memory = GEN.components_in_memory("small", partial_unet=True)
    _assert_same_models(comps, memory)
    (count,) = comps.provenance["unet"].values()
    assert count == len(comps.unet.state_dict())
