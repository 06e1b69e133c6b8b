"""The backends' shared device and precision picking (:mod:`studio.backends.devices`)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from studio.backends import devices  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402


@pytest.fixture
def one_gpu(monkeypatch):
    """torch says there is one CUDA GPU (nothing is put on it)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_auto_is_cuda_when_there_is_a_gpu(one_gpu):
    assert devices.pick_device("auto") == torch.device("cuda") == devices.render_device("auto")
    assert devices.render_device("cuda:0") == torch.device("cuda:0")


def test_auto_is_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.render_device("auto") == torch.device("cpu")
    with pytest.raises(StudioError) as err:
        devices.render_device("cuda")
    assert err.value.title == "No CUDA GPU" and "auto or cpu" in err.value.description


def test_a_gpu_index_that_is_not_there(one_gpu):
    with pytest.raises(StudioError) as err:
        devices.render_device("cuda:3")
    assert err.value.title == "No such CUDA GPU" and "cuda:0" in err.value.description


def test_an_unknown_device_name():
    with pytest.raises(StudioError) as err:
        devices.render_device("gpu-please")
    assert err.value.title == "Unknown device" and "'gpu-please'" in err.value.description


def test_precision_auto_follows_the_device_and_the_backend():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert devices.pick_dtype(cuda, "auto") == torch.float16  # X-Dyna's and StableAnimator's GPU precision
    assert devices.pick_dtype(cuda, None, cuda_dtype=torch.bfloat16) == torch.bfloat16  # DynamiCtrl's
    assert devices.pick_dtype(cpu, "auto") == devices.pick_dtype(cpu, "auto", torch.bfloat16) == torch.float32
    assert [devices.pick_dtype(cpu, n) for n in ("float32", "float16", "bfloat16")] == [
        torch.float32, torch.float16, torch.bfloat16]
    assert devices.pick_dtype(cpu, torch.float16) == torch.float16
    with pytest.raises(StudioError, match="Invalid precision"):
        devices.pick_dtype(cpu, "float8")


def test_every_torch_backend_uses_it(one_gpu):
    from studio.backends.dynamictrl import backend as dynamictrl
    from studio.backends.xdyna import run_options

    assert run_options.pick_device is devices.pick_device and run_options.pick_dtype is devices.pick_dtype
    assert dynamictrl.pick_device("auto") == "cuda" and dynamictrl.pick_dtype("auto", "cuda") == torch.bfloat16
    with pytest.raises(StudioError, match="Unknown device"):
        dynamictrl.pick_device("gpu-please")
