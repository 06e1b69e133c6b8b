"""The StableAnimator backend follows the render settings' device and precision (issue 25, GPU):
``auto`` is CUDA and float16 when there is a GPU (the official inference's precision), the face
models go to the same device, another device or precision loads again, and a device that is not
there is a StudioError before anything loads. No GPU needed: torch is told there is one, and the
pipeline records what it was asked for while it computes on the CPU."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.stableanimator import backend as backend_module  # noqa: E402
from studio.backends.stableanimator import face_models  # noqa: E402
from studio.backends.stableanimator import pipeline as pipeline_module  # noqa: E402
from studio.backends.stableanimator.backend import StableAnimatorBackend  # noqa: E402
from studio.core.errors import StudioError  # noqa: E402


@pytest.fixture
def asked(monkeypatch, tiny_release):
    """A CUDA GPU as torch sees it; the device, precision and offload each pipeline and face-model load is
    asked for (the pipeline itself on the CPU)."""
    calls: list[tuple] = []
    real = pipeline_module.StableAnimatorPipeline

    class Recorded(real):
        def __init__(self, components, device="cpu", dtype=torch.float32, offload=False):
            calls.append(("pipeline", str(device), dtype, offload))
            super().__init__(components, "cpu", dtype, offload)

    class Faces:
        def __init__(self, folder, device="cpu", detector_only=False):
            calls.append(("faces", str(device)))

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(pipeline_module, "StableAnimatorPipeline", Recorded)
    monkeypatch.setattr(face_models, "FaceModels", Faces)
    monkeypatch.setattr(backend_module, "face_problems", lambda folder, **kw: [])  # the tiny release has no face models
    return calls


def test_auto_on_a_gpu_is_cuda_float16_with_the_faces_there(asked, tiny_release):
    b = StableAnimatorBackend(tiny_release)
    pipe = b.pipeline(tiny_release, "auto", "auto")
    assert asked == [("faces", "cuda"), ("pipeline", "cuda", torch.float16, False)]
    assert {p.dtype for p in pipe.c.unet.parameters()} == {torch.float16}
    assert b.pipeline(tiny_release, "cuda", "float16", offload=True) is pipe and len(asked) == 2  # same key
    assert pipe.placement.offload  # offload only moves the loaded models


def test_another_device_or_precision_loads_again(asked, tiny_release):
    b = StableAnimatorBackend(tiny_release)
    first = b.pipeline(tiny_release, "cuda:1", "bfloat16")
    second = b.pipeline(tiny_release, "cpu", "auto")
    assert second is not first and b.pipeline(tiny_release, "cpu", "float32") is second
    assert asked == [("faces", "cuda:1"), ("pipeline", "cuda:1", torch.bfloat16, False),
                     ("faces", "cpu"), ("pipeline", "cpu", torch.float32, False)]


def test_a_device_that_is_not_there_fails_before_loading(asked, tiny_release):
    b = StableAnimatorBackend(tiny_release)
    with pytest.raises(StudioError) as err:
        b.pipeline(tiny_release, "cuda:2", "auto")
    assert err.value.title == "No such CUDA GPU"
    with pytest.raises(StudioError, match="Unknown device"):
        b.pipeline(tiny_release, "tpu", "auto")
    with pytest.raises(StudioError, match="Invalid precision"):
        b.pipeline(tiny_release, "cpu", "float8")
    assert asked == []


def test_a_render_asks_for_the_jobs_device_and_precision(asked, tiny_release, golden):
    from studio.core.cancel import CancelToken
    from studio.core.events import FramesReady
    from studio.core.jobs import RenderJob
    from studio.core.settings import RenderSettings

    emb = np.load(golden.root / "a_tiles_20f" / "inputs" / "face_embedding.npy")
    settings = RenderSettings(backend="stableanimator", width=64, height=64, device="cuda", dtype="float32",
                              steps=1, tile_size=4, tile_overlap=1)
    job = RenderJob(reference=golden.request("b_odd_14f").reference, pose=golden.pose(4), frames=tuple(range(4)),
                    settings=settings)
    b = StableAnimatorBackend(tiny_release, face_embedder=lambda photo: emb)
    frames = [e for e in b.render(job, CancelToken()) if isinstance(e, FramesReady)]
    assert asked == [("pipeline", "cuda", torch.float32, False)] and sum(len(f.indices) for f in frames) == 4


def test_without_a_gpu_cuda_is_a_clear_error(monkeypatch, tiny_release):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(StudioError) as err:
        StableAnimatorBackend(tiny_release).pipeline(tiny_release, "cuda", "auto")
    assert err.value.title == "No CUDA GPU"
