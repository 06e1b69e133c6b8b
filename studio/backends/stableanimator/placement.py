"""Which StableAnimator models sit on the GPU when: every model resident, or model offload.

Resident (the official setup, the default): every model goes to the device when the pipeline is
made and stays there. Model offload (``StableAnimatorOptions.model_offload``): every model waits
in CPU memory and comes to the device only for its own phase of the render, and leaves when the
next phase starts:

======== ====================================== =====================================
phase    on the device                          when
======== ====================================== =====================================
clip     CLIP image encoder                     prepare: the photo's CLIP token
face     face encoder                           prepare: the ID tokens
encode   VAE encoder (+ ``quant_conv``)         prepare: the photo's reference latents
pose     PoseNet                                prepare: every tile's pose features
hjb      VAE decoder + ArcFace                  HJB: the reference embedding, each refine step
unet     UNet                                   every denoising step
decode   VAE decoder                            the decode chunks
======== ====================================== =====================================

A phase is entered by the model that needs it: a forward pre-hook on each model (on the VAE's
encoder and decoder, which move on their own) enters the model's phase when the model is not on
the device already, so the pipeline's code is the same in both settings. Moving weights changes
no number: the frames are the same bytes either way (tests/stableanimator/test_offload.py).
:attr:`Placement.device_bytes` counts the weights on the device, which the memory model
(``bench/vram_model.py --backend stableanimator``) adds to its trace; on the CPU or the meta
device (``move`` False) the placement only keeps count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

#: The models on the device in each phase of an offloaded render.
RESIDENT: dict[str, frozenset[str]] = {
    "clip": frozenset({"image_encoder"}),
    "face": frozenset({"face_encoder"}),
    "encode": frozenset({"vae_encoder"}),
    "pose": frozenset({"pose_net"}),
    "hjb": frozenset({"vae_decoder", "arcface"}),
    "unet": frozenset({"unet"}),
    "decode": frozenset({"vae_decoder"}),
}
#: The phase a model's call enters when the model is not on the device.
PHASE_OF = {"image_encoder": "clip", "face_encoder": "face", "vae_encoder": "encode", "pose_net": "pose",
            "arcface": "hjb", "unet": "unet", "vae_decoder": "decode"}


def model_units(components) -> dict[str, tuple[nn.Module, ...]]:
    """The pieces that move together, by name: each model, and the VAE as its encoder side
    (``encoder``, ``quant_conv``) and its decoder (absent models left out)."""
    c = components
    units = {"image_encoder": (c.image_encoder,), "face_encoder": (c.face_encoder,), "pose_net": (c.pose_net,),
             "vae_encoder": (c.vae.encoder, c.vae.quant_conv), "unet": (c.unet,), "vae_decoder": (c.vae.decoder,),
             "arcface": (c.arcface,)}
    return {k: v for k, v in units.items() if all(m is not None for m in v)}


def module_bytes(modules: Iterable[nn.Module]) -> int:
    """Bytes of the parameters and buffers of ``modules``."""
    return sum(t.numel() * t.element_size() for m in modules for t in (*m.parameters(), *m.buffers()))


class Placement:
    """Keeps the render's models where the setting wants them (see the module docstring).

    ``units`` maps the names of :data:`PHASE_OF` to the modules that move together. The models are
    expected where :meth:`home` says (the pipeline puts them there as it casts them); :meth:`start`
    takes the bookkeeping from there. ``move``: really move weights (default: on a device other
    than the CPU and the meta device; otherwise only keep count).
    """

    def __init__(self, units: Mapping[str, tuple[nn.Module, ...]], device: torch.device | str,
                 offload: bool = False, move: bool | None = None) -> None:
        self.units = dict(units)
        self.device = torch.device(device)
        self.offload = bool(offload)
        self.move = self.device.type not in ("cpu", "meta") if move is None else bool(move)
        self.sizes: dict[str, int] = {}
        self.on_device: set[str] = set()
        #: the phases entered so far (in order, repeats included) and the most weight bytes on the device
        self.phases: list[str] = []
        self.peak_bytes = 0
        self._hooks: list = []

    @property
    def device_bytes(self) -> int:
        """Bytes of weights on the device now."""
        return sum(self.sizes[n] for n in self.on_device)

    def home(self) -> torch.device:
        """Where the models start: the device, or CPU memory when offloading to a real device."""
        return torch.device("cpu") if self.offload and self.move else self.device

    def start(self) -> None:
        """Take stock with every model at :meth:`home` (all on the device unless offloading) and
        install the phase hooks when offloading (the models in their render dtype by now)."""
        self.sizes = {name: module_bytes(mods) for name, mods in self.units.items()}
        for name in self.units:
            self._to(name, not self.offload)
        self.on_device = set() if self.offload else set(self.units)
        self.peak_bytes = self.device_bytes
        if self.offload:
            self._install()

    def set_offload(self, offload: bool) -> None:
        """Switch the setting: offloading, every model leaves the device until its phase; resident,
        every model comes to the device now."""
        if bool(offload) == self.offload:
            return
        self.offload = bool(offload)
        if self.offload:
            self.release()
            self._install()
        else:
            self._remove()
            self._bring(set(self.units))

    def enter(self, phase: str) -> None:
        """Exactly the models of ``phase`` on the device (the others leave first)."""
        want = RESIDENT[phase] & self.units.keys()
        for name in sorted(self.on_device - want):
            self._to(name, False)
            self.on_device.discard(name)
        self._bring(want)
        self.phases.append(phase)

    def release(self) -> None:
        """Offloading: every model back to CPU memory (after a render); resident: nothing moves."""
        if self.offload:
            for name in sorted(self.on_device):
                self._to(name, False)
            self.on_device.clear()

    def _bring(self, names: set[str]) -> None:
        for name in sorted(names - self.on_device):
            self._to(name, True)
            self.on_device.add(name)
        self.peak_bytes = max(self.peak_bytes, self.device_bytes)

    def _install(self) -> None:
        for name, mods in self.units.items():
            for m in mods:
                self._hooks.append(m.register_forward_pre_hook(self._pre_hook(name)))

    def _remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    def _pre_hook(self, name: str):
        def enter_phase(module: nn.Module, args: tuple) -> None:
            if name not in self.on_device:
                self.enter(PHASE_OF[name])

        return enter_phase

    def _to(self, name: str, on_device: bool) -> None:
        """Move unit ``name`` to the device (``on_device``) or to CPU memory (a real move only with ``move``)."""
        if self.move:
            target = self.device if on_device else torch.device("cpu")
            for m in self.units[name]:
                m.to(target)
