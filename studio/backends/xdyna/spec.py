"""The X-Dyna backend's manifest (registered as the ``xdyna`` entry point). Imports without
torch: the running backend (:class:`~.backend.XDynaBackend`) is imported only when built."""

from __future__ import annotations

import sys
from pathlib import Path

from studio.backends.xdyna.options import XDynaOptions
from studio.core.backend import BackendSpec, Capabilities, DoctorCheck, Estimate, WeightsSpec

#: The official release tree (README of bytedance/X-Dyna), as ``studio backends`` shows it.
RELEASE_TREE = (
    "controlnet/controlnet-checkpoint-epoch-5.ckpt",
    "controlnet_face/controlnet-face-checkpoint-epoch-2.ckpt",
    "unet/unet-checkpoint-epoch-5.ckpt",
    "initialization/controlnets_initialization/controlnet/control_v11p_sd15_openpose",
    "initialization/controlnets_initialization/controlnet_face/controlnet2",
    "initialization/unet_initialization/IP-Adapter/IP-Adapter/models/image_encoder",
    "initialization/unet_initialization/IP-Adapter/IP-Adapter/models/ip-adapter-plus_sd15.bin",
    "initialization/unet_initialization/SD/stable-diffusion-v1-5",
)
REQUIRES = ("torch", "diffusers", "transformers", "safetensors")

CAPABILITIES = Capabilities(needs_weights=True, step_previews=True, independent_frames=False,
                            schedules=("reference", "static", "stream"), streaming=True, prompt=True,
                            face_input=True, live_photo=True, split_render=True, resumable=True)


def install_hint(missing: list[str] | None = None) -> str:
    """What to tell a person when the X-Dyna dependencies (``missing``) cannot be imported: in a
    packaged draft build they are left out on purpose; in a Python install they can be added."""
    names = ", ".join(missing or ["torch"])
    if getattr(sys, "frozen", False):
        return (
            f"The X-Dyna renderer is not included in this build of the studio (it has no {names}). "
            "Use the full build to render with X-Dyna, or use the draft renderer."
        )
    return (
        f"{names} not installed. Install the X-Dyna extras (pip install 'xdyna-studio[xdyna]') "
        "or use the draft renderer."
    )


def check(folder: Path, options: XDynaOptions | None = None) -> list[str]:
    """Problems with a release folder (files only); S-Face files only when the options use it."""
    from studio.backends.xdyna.layout import check_release

    face = True if options is None else bool(options.face_controlnet)
    return list(check_release(folder, face=face))


def default_folder() -> Path:
    """``weights`` in the user data folder (where X-Dyna's weights always were)."""
    from studio.core.weights_folder import default_weights_dir

    return default_weights_dir()


def doctor(weights: Path | None) -> list[DoctorCheck]:
    """Per CUDA GPU: VRAM, compute capability, bf16, fused attention and the memory setting to use."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return []
    try:
        import torch

        if not torch.cuda.is_available():
            return [DoctorCheck("MISSING", "cuda", "no CUDA GPU available: X-Dyna renders on the CPU (very slow); "
                                "the draft renderer is unaffected")]
        from studio.backends.xdyna.gpu_report import gpu_reports

        reports = gpu_reports()
    except Exception as err:  # noqa: BLE001 - the report must not stop doctor
        return [DoctorCheck("ERROR", "gpu", f"could not query the GPU: {err!r}")]
    return [DoctorCheck("OK" if r.setting != "too small" else "MISSING", f"gpu{r.index}", r.line())
            for r in reports]


def estimate(settings, n_frames: int) -> Estimate | None:
    """GPU memory of the chosen memory setting, from the measured 192-frame 896x512 fp16 peaks."""
    from studio.backends.xdyna.gpu_report import needed_gib

    setting = "low-VRAM" if settings.options.low_vram else "default"
    return Estimate(vram_gib=round(needed_gib(setting), 2),
                    note=f"{setting} setting, measured for a 192-frame 896x512 float16 render (bench/vram_model.py)")


SPEC = BackendSpec(
    name="xdyna",
    label="X-Dyna (diffusion)",
    description="SD1.5 UNet + AnimateDiff motion modules + Dynamics-Adapter + pose and S-Face ControlNets",
    capabilities=CAPABILITIES,
    options=XDynaOptions,
    factory="studio.backends.xdyna.backend:XDynaBackend",
    weights=WeightsSpec(
        env_var="STUDIO_XDYNA_WEIGHTS",
        extra_env=("STUDIO_WEIGHTS_DIR",),
        layout=RELEASE_TREE,
        check=check,
        default_folder=default_folder,
        inspect="studio.backends.xdyna.weights_cli:check_keys",
        convert="studio.backends.xdyna.weights_cli:convert",
        licence="X-Dyna release weights: Apache-2.0 (bytedance/X-Dyna); SD1.5 parts under the CreativeML "
        "OpenRAIL-M licence.",
        source="https://huggingface.co/Boese0601/X-Dyna (the pretrained_weights folder), or `studio weights "
        "convert` of it",
    ),
    requires=REQUIRES,
    install_hint=install_hint,
    doctor=doctor,
    estimate=estimate,
    split="studio.backends.xdyna.split:SPLIT",
    order=10,
    legacy=True,
)
