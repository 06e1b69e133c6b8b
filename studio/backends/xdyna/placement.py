"""Which X-Dyna models sit on the GPU when: the residency policy of a render.

A render goes through phases; each phase needs some models on the device, and every other model
can wait in CPU memory. :data:`RESIDENT` is the policy, per setting:

========== ======================================= ======================================
phase      default                                 low VRAM
========== ======================================= ======================================
encode     encoders (CLIP text + image, image      encoders, VAE (the UNet stays)
           projection), VAE, UNet, ControlNets
controlnet UNet, ControlNets, VAE                  UNet, ControlNets
unet       UNet, ControlNets, VAE                  UNet
decode     UNet, ControlNets, VAE                  UNet, VAE
========== ======================================= ======================================

So in both settings the encoders (1.4 GiB in float16 at full size) are on the device only while
the prompt and the photo are encoded; in the low-VRAM setting the two ControlNets (1.35 GiB) come
onto the device only for their own calls and the VAE only to decode. The UNet (2.5 GiB) never
moves: moving it per window would cost more than the low-VRAM setting saves. A load puts each
model where the setting keeps it between renders (:func:`idle_resident`) as it is read, so the
load peak on the device is the idle set's, not the whole release's.

:class:`Placement` applies the policy (``with placement.phase("unet"): ...``) and keeps count of
the bytes of weights on the device, which the memory model (``bench/vram_model.py``) reads; with
``move=False`` (the CPU, or the meta-device memory model) it only keeps count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

import torch
from torch import nn

from studio.core.errors import StudioError

ENCODERS = frozenset({"text_encoder", "image_encoder", "image_proj"})
DENOISERS = frozenset({"unet", "controlnet", "controlnet_face"})
CONTROLNETS = frozenset({"controlnet", "controlnet_face"})

#: ``RESIDENT[low_vram][phase]``: the models on the device during ``phase``.
RESIDENT: dict[bool, dict[str, frozenset[str]]] = {
    False: {
        "encode": ENCODERS | DENOISERS | {"vae"},
        "controlnet": DENOISERS | {"vae"},
        "unet": DENOISERS | {"vae"},
        "decode": DENOISERS | {"vae"},
    },
    True: {
        "encode": ENCODERS | {"unet", "vae"},
        "controlnet": {"unet"} | CONTROLNETS,
        "unet": frozenset({"unet"}),
        "decode": frozenset({"unet", "vae"}),
    },
}
PHASES = ("encode", "controlnet", "unet", "decode")
#: The phase a pipeline is in between renders (it enters it when it is made and configured).
IDLE_PHASE = "unet"


def idle_resident(low_vram: bool) -> frozenset[str]:
    """The models on the device between renders: where a load puts each model as it is read
    (default: the denoisers and the VAE; low VRAM: the UNet alone), so a load never holds more
    on the device than the setting does when idle."""
    return RESIDENT[bool(low_vram)][IDLE_PHASE]


def module_bytes(module: nn.Module | None) -> int:
    """Bytes of ``module``'s parameters and buffers."""
    if module is None:
        return 0
    return sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))


class Placement:
    """Moves the render's models between the device and the CPU by phase (see the module docstring).

    ``modules`` maps the names used in :data:`RESIDENT` to the models (``None`` for an absent
    S-Face ControlNet). Models start wherever they are; :meth:`phase` moves what the phase needs.
    """

    def __init__(self, modules: Mapping[str, nn.Module | None], device: torch.device, low_vram: bool = False,
                 move: bool | None = None) -> None:
        self.modules = {k: v for k, v in modules.items() if v is not None}
        self.device = torch.device(device)
        self.low_vram = bool(low_vram)
        self.move = self.device.type not in ("cpu", "meta") if move is None else bool(move)
        self.sizes = {name: module_bytes(m) for name, m in self.modules.items()}
        self.on_device: set[str] = {name for name, m in self.modules.items() if _device_of(m) == self.device.type}
        self.current: str | None = None

    def resident(self, phase: str) -> frozenset[str]:
        """The models on the device during ``phase`` under this setting."""
        if phase not in PHASES:
            raise StudioError("Unknown render phase", f"'{phase}' is not one of {', '.join(PHASES)}.")
        return RESIDENT[self.low_vram][phase] & self.modules.keys()

    @property
    def device_bytes(self) -> int:
        """Bytes of weights on the device now."""
        return sum(self.sizes[n] for n in self.on_device)

    def set_low_vram(self, low_vram: bool) -> None:
        """Switch the setting (takes effect at the next :meth:`phase`)."""
        self.low_vram = bool(low_vram)

    def enter(self, phase: str) -> None:
        """Move models so exactly :meth:`resident` ``(phase)`` is on the device (offload first)."""
        want = self.resident(phase)
        for name in sorted(self.on_device - want):
            self._to(name, torch.device("cpu"))
            self.on_device.discard(name)
        for name in sorted(want - self.on_device):
            self._to(name, self.device)
            self.on_device.add(name)
        self.current = phase

    @contextlib.contextmanager
    def phase(self, phase: str) -> Iterator[None]:
        """``with placement.phase("unet"):`` -- enter ``phase``; the previous phase's set of
        models is restored only when another phase is entered (no moves back and forth)."""
        self.enter(phase)
        yield

    def _to(self, name: str, device: torch.device) -> None:
        if self.move:
            self.modules[name].to(device)


def _device_of(module: nn.Module) -> str:
    for p in module.parameters():
        return p.device.type
    return "cpu"
