"""Model offload (``model_offload``): each model on the GPU only for its phase, the same frames.

No GPU is needed: a :class:`FakeGPU` stands in for the device. Every move the placement makes
(:meth:`~studio.backends.stableanimator.placement.Placement._to`) is recorded, with the bytes "on the
GPU" after it, and a model sent to CPU memory is *poisoned* (its weights replaced by NaN, kept
aside and put back when it returns): a model that computed while the placement had it off the
device would turn the frames to NaN. So "the frames are bit-identical with offload on and off"
means every model was where the placement said, for every call, and moving changed no number.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studio.backends.stableanimator.components import load_components  # noqa: E402
from studio.backends.stableanimator.hjb import HJBSettings  # noqa: E402
from studio.backends.stableanimator.iresnet import load_arcface  # noqa: E402
from studio.backends.stableanimator.pipeline import StableAnimatorPipeline  # noqa: E402
from studio.backends.stableanimator.placement import RESIDENT, Placement, model_units, module_bytes  # noqa: E402


class FakeGPU:
    """Which units are on the stand-in GPU, the peak bytes there, and the poisoned weights of the others."""

    def __init__(self) -> None:
        self.on: dict[str, int] = {}
        self.peak = 0
        self.moves: list[tuple[str, bool]] = []
        self._kept: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    def put(self, placement: Placement, name: str, on_device: bool) -> None:
        self.moves.append((name, on_device))
        if on_device:
            for t, data in self._kept.pop(name, []):
                t.data = data
            self.on[name] = module_bytes(placement.units[name])
        else:
            if name not in self._kept:
                tensors = [t for m in placement.units[name] for t in (*m.parameters(), *m.buffers())]
                self._kept[name] = [(t, t.data) for t in tensors]
                for t in tensors:
                    t.data = torch.full_like(t.data, float("nan") if t.is_floating_point() else -1)
            self.on.pop(name, None)
        self.peak = max(self.peak, sum(self.on.values()))


@pytest.fixture
def gpu(monkeypatch: pytest.MonkeyPatch) -> FakeGPU:
    fake = FakeGPU()
    monkeypatch.setattr(Placement, "_to", lambda self, name, on: fake.put(self, name, on))
    return fake


@pytest.fixture
def fresh(tiny_release, arcface_file):
    """Fresh components of the tiny release with the HJB case's ArcFace (the session's pipelines keep theirs)."""
    return lambda: replace(load_components(tiny_release), arcface=load_arcface(arcface_file))


def _watch(pipe: StableAnimatorPipeline, gpu: FakeGPU) -> list[tuple[str, frozenset[str]]]:
    """(unit, units on the stand-in GPU) at every call of a unit, after the placement's own hook."""
    seen: list[tuple[str, frozenset[str]]] = []
    for name, mods in pipe.placement.units.items():
        mods[0].register_forward_pre_hook(lambda m, a, name=name: seen.append((name, frozenset(gpu.on))))
    return seen


def test_the_units_cover_every_weight(fresh):
    c = fresh()
    units = model_units(c)
    models = (c.unet, c.vae, c.image_encoder, c.pose_net, c.face_encoder, c.arcface)
    assert set(units) == {n for phase in RESIDENT.values() for n in phase}
    assert sum(module_bytes(u) for u in units.values()) == module_bytes(models)
    assert "arcface" not in model_units(replace(c, arcface=None))


def test_offload_renders_the_same_bytes_with_each_model_on_the_gpu_only_for_its_phase(gpu, fresh, golden):
    """The HJB case passes every phase: prepare, a refine step (VAE decoder + ArcFace), the UNet, the
    decode. Two steps with one refined by one iteration cross every phase boundary the case's three
    steps (two refined, two iterations each) cross, in about 40% of the time."""
    request = golden.hjb_request(steps=2, hjb=HJBSettings(0, 0, 1))
    resident = StableAnimatorPipeline(fresh())(request)
    assert gpu.moves and all(on for _, on in gpu.moves)  # resident: every model to the device, once, at the start
    gpu.moves.clear()
    gpu.on.clear()  # that pipeline is done with: the ledger follows the offloaded one from here
    gpu.peak = 0

    pipe = StableAnimatorPipeline(fresh(), offload=True)
    assert gpu.on == {} and pipe.placement.on_device == set()  # nothing on the device until a phase needs it
    seen = _watch(pipe, gpu)
    out = pipe(request)
    np.testing.assert_array_equal(out.frames, resident.frames)
    np.testing.assert_array_equal(out.latents.numpy(), resident.latents.numpy())

    # which models were on the GPU whenever one of them computed: its phase's, no other
    want = {"image_encoder": {"image_encoder"}, "face_encoder": {"face_encoder"}, "vae_encoder": {"vae_encoder"},
            "pose_net": {"pose_net"}, "unet": {"unet"}}
    for name, on in seen:
        if name in want:
            assert on == want[name], (name, on)
        elif name == "arcface":
            assert on == {"vae_decoder", "arcface"}
        else:
            assert name == "vae_decoder" and on in ({"vae_decoder"}, {"vae_decoder", "arcface"})
    assert pipe.placement.phases == ["clip", "face", "encode", "pose", "hjb",  # prepare (+ the photo's ArcFace)
                                     "unet", "decode", "hjb",  # step 0 refines
                                     "unet", "decode"]  # step 1, then the frames
    sizes = pipe.placement.sizes
    largest = max(sum(sizes[n] for n in units) for units in RESIDENT.values())
    assert gpu.peak == pipe.placement.peak_bytes == largest < sum(sizes.values())
    pipe.placement.release()
    assert gpu.on == {} and pipe.placement.device_bytes == 0


def test_switching_offload_moves_the_loaded_models(gpu, fresh, golden):
    pipe = StableAnimatorPipeline(fresh())
    total = sum(pipe.placement.sizes.values())
    assert pipe.placement.device_bytes == total and not pipe.placement._hooks
    pipe.placement.set_offload(True)
    assert gpu.on == {} and pipe.placement.device_bytes == 0
    req = golden.request("b_odd_14f", steps=1, decode=False)
    pipe(req)
    assert pipe.placement.phases[-1] == "unet" and set(gpu.on) == {"unet"}
    pipe.placement.set_offload(False)
    assert set(gpu.on) == set(pipe.placement.units) and not pipe.placement._hooks
    pipe.placement.phases.clear()
    pipe(req)
    assert pipe.placement.phases == []  # resident: no phase is ever entered


def test_on_the_meta_device_the_placement_only_keeps_count():
    unit = torch.nn.Linear(4, 4, device="meta")
    p = Placement({"unet": (unit,)}, "meta", offload=True)
    p.start()
    assert not p.move and p.home().type == "meta" and p.device_bytes == 0
    unit(torch.zeros(1, 4, device="meta"))
    assert p.on_device == {"unet"} and p.device_bytes == p.sizes["unet"] == 4 * 4 * 4 + 4 * 4
    assert unit.weight.device.type == "meta"
    assert Placement({}, "cuda").move and Placement({}, "cuda", offload=True).home().type == "cpu"


def test_the_backend_renders_the_same_frames_with_model_offload(gpu, tiny_release, golden):
    """``model_offload`` is a *how* option: the same frames, the same render key, no reload; nothing
    stays on the device after the render."""
    from studio.backends.stableanimator.backend import StableAnimatorBackend
    from studio.core.cancel import CancelToken
    from studio.core.events import FramesReady
    from studio.core.jobs import RenderJob
    from studio.core.settings import RenderSettings

    emb = np.load(golden.root / "a_tiles_20f" / "inputs" / "face_embedding.npy")
    req = golden.request("b_odd_14f")
    options = dict(steps=2, tile_size=4, tile_overlap=1)

    def job(offload: bool) -> RenderJob:
        settings = RenderSettings(backend="stableanimator", width=64, height=64, device="cpu", model_offload=offload,
                                  **options)
        return RenderJob(reference=req.reference, pose=golden.pose(5), frames=tuple(range(5)), settings=settings,
                         weights_dir=tiny_release)  # the job's folder: the backend has none of its own

    backend = StableAnimatorBackend(None, face_embedder=lambda photo: emb)

    def frames(j):
        return np.concatenate([e.frames for e in backend.render(j, CancelToken()) if isinstance(e, FramesReady)])

    resident = frames(job(False))
    pipe = backend._pipe
    on = frames(job(True))
    assert backend._pipe is pipe and pipe.placement.offload  # switched in place, not loaded again
    np.testing.assert_array_equal(on, resident)
    assert gpu.on == {} and pipe.placement.on_device == set()  # released after the render
    assert {"unet", "decode", "clip"} <= set(pipe.placement.phases)
    assert job(True).fingerprint() == job(False).fingerprint()
    assert job(True).settings.options.model_offload and not job(False).settings.options.model_offload



def test_the_estimate_and_the_help_state_the_offload_memory():
    """The render panel's estimate follows ``model_offload`` (the VRAM model's figures, with HJB too)."""
    from studio.backends.stableanimator import spec
    from studio.backends.stableanimator.options import StableAnimatorOptions
    from studio.core.settings import RenderSettings

    def gib(**options) -> float:
        return spec.estimate(RenderSettings(backend="stableanimator", **options), 16).vram_gib

    assert gib() == spec.VRAM_GIB == 7.00 and gib(model_offload=True) == spec.OFFLOAD_VRAM_GIB == 5.54
    assert gib(hjb=True) == spec.HJB_VRAM_GIB[4] and gib(hjb=True, model_offload=True) == spec.OFFLOAD_HJB_VRAM_GIB[4]
    assert gib(hjb=True, decode_chunk_size=1, model_offload=True) == spec.OFFLOAD_HJB_VRAM_GIB[1]
    two = gib(hjb=True, decode_chunk_size=2, model_offload=True)
    assert spec.OFFLOAD_HJB_VRAM_GIB[1] < two < spec.OFFLOAD_HJB_VRAM_GIB[4]
    assert two < gib(hjb=True, decode_chunk_size=2)
    assert "model offload" in spec.estimate(RenderSettings(backend="stableanimator", model_offload=True), 16).note
    field = StableAnimatorOptions.model_fields["model_offload"]
    assert "5.5 GiB" in field.description and "7.0 GiB" in field.description and "Same frames" in field.description
    assert field.json_schema_extra["how"] is True  # not in the render key


def test_face_models_go_to_the_gpu_the_render_names(monkeypatch):
    onnxruntime = pytest.importorskip("onnxruntime")
    from studio.backends.stableanimator.face_models import providers_for

    monkeypatch.setattr(onnxruntime, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert providers_for("cuda") == providers_for("cuda:0") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers_for("cuda:1") == [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert providers_for("cpu") == ["CPUExecutionProvider"]
