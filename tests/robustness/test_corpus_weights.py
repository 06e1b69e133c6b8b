"""Bad-input corpus, X-Dyna weights: a damaged copy of the tiny release must give a clear StudioError
naming the damaged file, from the loader and through the render path the app uses."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from robust_helpers import assert_clear, tiny_kwargs, tiny_release  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402

SD = "initialization/unet_initialization/SD/stable-diffusion-v1-5"
UNET = "unet/unet-checkpoint-epoch-5.ckpt"
CONTROLNET = "controlnet/controlnet-checkpoint-epoch-5.ckpt"
VAE = f"{SD}/vae/diffusion_pytorch_model.safetensors"
TEXT = f"{SD}/text_encoder/pytorch_model.bin"
IMAGE_ENCODER = "initialization/unet_initialization/IP-Adapter/IP-Adapter/models/image_encoder/pytorch_model.bin"
PTH = f"{SD}/unet/animatediff_v15_v1_ipplus.pth"


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _missing_unet(root: Path) -> str:
    (root / UNET).unlink()
    return Path(UNET).name


def _missing_config(root: Path) -> str:
    (root / f"{SD}/vae/config.json").unlink()
    return "config.json"


def _missing_tokenizer_file(root: Path) -> str:
    (root / f"{SD}/tokenizer/vocab.json").unlink()
    return "vocab.json"


def _wrong_shape(root: Path) -> str:
    sd = torch.load(root / CONTROLNET, weights_only=True)
    key = next(k for k, v in sd.items() if v.ndim == 4)
    sd[key] = torch.zeros(3, 3, 1, 1)
    torch.save(sd, root / CONTROLNET)
    return key


def _truncated_safetensors(root: Path) -> str:
    _truncate(root / VAE)
    return Path(VAE).name


def _truncated_ckpt(root: Path) -> str:
    _truncate(root / UNET, 0.3)
    return Path(UNET).name


def _truncated_bin(root: Path) -> str:
    _truncate(root / TEXT)
    return Path(TEXT).name


def _zero_byte_bin(root: Path) -> str:
    (root / IMAGE_ENCODER).write_bytes(b"")
    return "image_encoder"


def _tensors_list(root: Path) -> str:
    torch.save([torch.zeros(2)], root / CONTROLNET)  # a list, not a state dict
    return Path(CONTROLNET).name


def _corrupt_unet_config(root: Path) -> str:
    (root / f"{SD}/unet/config.json").write_text('{"sample_size": 64, "block_out_')
    return "config.json"


def _corrupt_text_encoder_config(root: Path) -> str:
    (root / f"{SD}/text_encoder/config.json").write_text("{ not json")
    return "config.json"


def _foreign_vae_config(root: Path) -> str:
    (root / f"{SD}/vae/config.json").write_text('["this is", "a list"]')
    return "config.json"


def _unexpected_unet_key(root: Path) -> str:
    sd = torch.load(root / UNET, weights_only=True)
    sd["down_blocks.0.not_a_layer.weight"] = torch.zeros(2)  # the official loader asserts on these too
    torch.save(sd, root / UNET)
    return Path(UNET).name


def _unet_key_no_file_provides(root: Path) -> str:
    sd = torch.load(root / UNET, weights_only=True)
    sd.pop("conv_in.weight")  # nor does the .pth (it holds only attn1.to_q here)
    torch.save(sd, root / UNET)
    return Path(UNET).name


def _wrong_shape_in_pth(root: Path) -> str:
    sd = torch.load(root / PTH, weights_only=True)
    key = next(iter(sd))
    sd[key] = torch.zeros(3, 5)
    torch.save(sd, root / PTH)
    return Path(PTH).name


def _corrupt_tokenizer(root: Path) -> str:
    (root / f"{SD}/tokenizer/vocab.json").write_text("[[[")
    return "tokenizer"


CASES: dict[str, Callable[[Path], str]] = {
    "missing-unet-checkpoint": _missing_unet,
    "missing-config": _missing_config,
    "missing-tokenizer-file": _missing_tokenizer_file,
    "wrong-shape-tensor": _wrong_shape,
    "truncated-safetensors": _truncated_safetensors,
    "truncated-ckpt": _truncated_ckpt,
    "truncated-bin": _truncated_bin,
    "zero-byte-bin": _zero_byte_bin,
    "list-instead-of-state-dict": _tensors_list,
    "corrupt-unet-config": _corrupt_unet_config,
    "corrupt-text-encoder-config": _corrupt_text_encoder_config,
    "config-not-an-object": _foreign_vae_config,
    "corrupt-tokenizer": _corrupt_tokenizer,
    "unexpected-key-in-unet-checkpoint": _unexpected_unet_key,
    "unet-key-no-file-provides": _unet_key_no_file_provides,
    "wrong-shape-in-animatediff-pth": _wrong_shape_in_pth,
}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy of the tiny release, copied again (cheaply) for each damaged variant."""
    return tiny_release(tmp_path_factory.mktemp("release"))


def _damaged(pristine: Path, tmp_path: Path, damage: Callable[[Path], str]) -> tuple[Path, str]:
    release = tmp_path / "weights"
    shutil.copytree(pristine, release)
    return release, damage(release / "pretrained_weights")


def _load(release: Path):
    from studio.backends.xdyna.pipeline import XDynaPipeline

    return XDynaPipeline.from_release(release, device="cpu", dtype="float32", **tiny_kwargs())


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_release_is_a_clear_error(pristine: Path, tmp_path: Path, case: str) -> None:
    release, name = _damaged(pristine, tmp_path, CASES[case])
    with pytest.raises(StudioError) as info:
        _load(release)
    assert_clear(info.value, name)


def test_empty_and_wrong_weights_folders(tmp_path: Path) -> None:
    from studio.backends.xdyna.layout import check_release

    (tmp_path / "empty").mkdir()
    (tmp_path / "file.ckpt").write_bytes(b"x")
    for folder in (tmp_path / "empty", tmp_path / "file.ckpt", tmp_path / "nowhere"):
        with pytest.raises(StudioError) as info:
            _load(folder)
        assert_clear(info.value, folder.name)
        assert check_release(folder)  # the weights check lists the problem without torch


def _person_job(release: Path, out: Path | None = None, n: int = 4):
    from studio.core.jobs import RenderJob
    from studio.core.settings import RenderSettings
    from studio.core.tracks import PoseTrack

    pose = PoseTrack.empty(n, 64, 64, 25.0)
    pose.body[:] = np.linspace(0.3, 0.7, 18, dtype=np.float32)[:, None]
    pose.body_conf[:] = 1.0
    pose.flags[:] = 0
    s = RenderSettings(backend="xdyna", width=64, height=64, steps=1, face_controlnet=False, device="cpu",
                       dtype="float32")
    ref = np.full((64, 64, 3), 128, np.uint8)
    return RenderJob(reference=ref, pose=pose, frames=tuple(range(n)), settings=s, weights_dir=release,
                     output_dir=out)


def test_damaged_weights_fail_the_render_cleanly_and_the_backend_recovers(pristine: Path, tmp_path: Path) -> None:
    from studio.backends.xdyna.backend import XDynaBackend
    from studio.core.events import Failed, Finished
    from studio.core.render import run_job

    release, name = _damaged(pristine, tmp_path, _truncated_ckpt)
    backend = XDynaBackend(release, **tiny_kwargs())
    assert backend.available()[0]  # files are all there: the damage shows when loading
    events = list(run_job(_person_job(release), backend))
    assert isinstance(events[-1], Failed)
    assert_clear(events[-1].error, name)
    assert events[-1].error.title != "Render failed"  # a named problem, not the catch-all
    # the same backend instance (the GUI keeps one) renders once the weights are fixed
    shutil.copy(pristine / "pretrained_weights" / UNET, release / "pretrained_weights" / UNET)
    events = list(run_job(_person_job(release), backend))
    assert isinstance(events[-1], Finished), events[-1]


@pytest.mark.parametrize("content", ['{"format": "stud', '["a", "list"]', '{"format": "nonsense"}', "damaged-entry"])
def test_converted_copy_with_a_damaged_manifest(pristine: Path, tmp_path: Path, content: str) -> None:
    from studio.backends.xdyna.convert import convert_release
    from studio.backends.xdyna.layout import check_release

    dst = tmp_path / "converted"
    manifest = convert_release(pristine, dst, **tiny_kwargs())
    if content == "damaged-entry":
        d = json.loads(manifest.read_text())
        next(iter(d["components"].values())).pop("weights")
        content = json.dumps(d)
    manifest.write_text(content)
    with pytest.raises(StudioError) as info:
        _load(dst)
    assert_clear(info.value, manifest.name)
    assert check_release(dst)
