"""A load puts each model where the memory setting keeps it between renders, as it is read
(issue 23, item 7): with ``low_vram`` only the UNet ever reaches the GPU during a load, so the load
peak is the low-VRAM setting's, not the default's (which it was when every model went to the GPU
first and Placement offloaded afterwards).

No GPU is needed: a :class:`FakeGPU` stands in for ``cuda``. Every move a load makes (the
per-component :func:`~studio.backends.xdyna.loading.materialise`, the pipeline's ``to_device`` and
Placement's moves) is done on the CPU instead and recorded, with the bytes on the "GPU" after it.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from studio.backends.xdyna import components, pipeline  # noqa: E402
from studio.backends.xdyna.placement import ENCODERS, Placement, idle_resident, module_bytes  # noqa: E402

CASE = "b_sface_28f"  # pose + S-Face ControlNets: all seven models


class FakeGPU:
    """Records which models a load puts on ``cuda`` (kept on the CPU) and the peak bytes there."""

    def __init__(self) -> None:
        self.on: dict[int, int] = {}  # id(model) -> bytes
        self.ever: set[int] = set()
        self.peak = 0

    def put(self, model: torch.nn.Module, device: torch.device | str) -> None:
        if torch.device(device).type == "cuda":
            self.on[id(model)] = module_bytes(model)
            self.ever.add(id(model))
        else:
            self.on.pop(id(model), None)
        self.peak = max(self.peak, sum(self.on.values()))


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> FakeGPU:
    fake = FakeGPU()
    materialise, to_device = components.materialise, pipeline.to_device

    def fake_materialise(model, device, dtype):
        materialise(model, "cpu", dtype)
        fake.put(model, device)
        return model

    def fake_to_device(module, device, dtype):
        to_device(module, torch.device("cpu"), dtype)
        fake.put(module, device)
        return module

    monkeypatch.setattr(components, "materialise", fake_materialise)
    monkeypatch.setattr(pipeline, "to_device", fake_to_device)
    monkeypatch.setattr(Placement, "_to", lambda self, name, device: fake.put(self.modules[name], device))
    return fake


@pytest.mark.parametrize("low_vram", [True, False])
def test_a_load_puts_only_the_idle_set_on_the_gpu(gpu: FakeGPU, tiny, low_vram: bool) -> None:
    pipe = pipeline.XDynaPipeline.from_release(tiny.dir(CASE) / "weights", device="cuda", face=True,
                                               low_vram=low_vram, **tiny.kwargs(CASE))
    names = {id(m): name for name, m in pipe.placement.modules.items()}
    assert len(names) == 7 and pipe.dtype == torch.float16  # the GPU's precision, cast as read
    ever = {names[i] for i in gpu.ever}
    want = idle_resident(low_vram)
    assert ever == want  # nothing else reached the GPU, not even for a moment
    assert want == ({"unet"} if low_vram else {"unet", "controlnet", "controlnet_face", "vae"})
    assert not ever & ENCODERS
    sizes = pipe.placement.sizes
    assert gpu.peak == sum(sizes[n] for n in want) < sum(sizes.values())
    assert pipe.placement.on_device == set(want) and pipe.placement.device_bytes == gpu.peak
    assert pipe.placement.low_vram is low_vram and pipe.options.low_vram is low_vram
    for name, model in pipe.placement.modules.items():  # every model in the GPU's dtype, wherever it is
        assert {p.dtype for p in model.parameters()} == {torch.float16}, name
    pipe.placement.enter("encode")  # a render's first phase brings the encoders, only then
    assert pipe.placement.on_device >= ENCODERS and gpu.peak > sum(sizes[n] for n in want)

