"""X-Dyna's render options (torch-free): the fields, ranges, defaults and help the GUI form and
``studio render --backend xdyna`` flags are built from. Field names and values are those of the
flat settings of schema-1 project files, so renders made before the split keep their cache keys."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from studio.core.options import BackendOptions, option


class XDynaOptions(BackendOptions):
    """Options of the X-Dyna renderer."""

    prompt: str = option("", max_length=2000, label="Prompt",
                         help="Text that steers X-Dyna (e.g. 'wind in the hair, waves'). Empty, as in the official "
                         "examples, by default. No extra time or memory: the text is encoded once per render.")
    negative_prompt: str = option("", max_length=2000, label="Negative prompt",
                                  help="Text to steer away from. No extra time or memory.")
    steps: int = option(25, ge=1, le=200, label="Steps",
                        help="Denoising steps. Render time grows in proportion (every step runs the UNet over every "
                        "window); memory does not change.")
    cfg: float = option(7.5, ge=0.0, le=30.0, label="CFG",
                        help="Classifier-free guidance scale. Every step runs the UNet on two halves at any value, "
                        "so changing it costs no time or memory.")
    schedule: Literal["reference", "static", "stream"] = option(
        "reference", label="Schedule",
        help="reference: the official schedule (all windows every step; previews of the whole clip). stream: "
        "window after window, finished frames arrive early; same total time. static: no wrap-around windows.")
    context_frames: int = option(16, ge=2, le=24, label="Window size",
                                 help="Frames per window (the motion module was trained on 16). Memory per window "
                                 "grows with it.")
    overlap: int = option(4, ge=0, le=12, label="Overlap",
                          help="Frames shared by neighbouring windows. More overlap: smoother seams, more windows, "
                          "so more time (about n/(window-overlap) windows per step); memory per window unchanged.")
    weighting: Literal["flat", "pyramid"] = option(
        "flat", label="Weighting",
        help="How overlapping windows are mixed: flat (the official average) or pyramid (fades at window "
        "edges). No cost in time or memory.")
    face_controlnet: bool = option(True, label="S-Face ControlNet", flag="face",
                                   help="S-Face: the second ControlNet keeps the face expression of the driving video "
                                   "(the photo's face for a live photo). Costs time, a second ControlNet evaluation per "
                                   "frame and step, and memory: ~0.7 GiB of fp16 weights.")
    low_vram: bool = option(False, how=True, label="Low-VRAM mode",
                            help="Keep only the model in use on the GPU and run the CFG halves one after the other "
                            "(896x512 in about 6 GB); slower by the moves. Same frames.")
    sequential_cfg: bool = option(False, how=True, label="Sequential CFG",
                                  help="Run the two CFG halves one after the other instead of as one batch: lower "
                                  "peak activation memory, slightly slower. Same frames.")
    torch_compile: bool = option(False, how=True, label="torch.compile the UNet", flag="compile",
                                 help="Compile the UNet with torch.compile: a one-off compile of a minute or more, "
                                 "then faster steps on a GPU. Same frames up to float noise. If compiling fails "
                                 "(no C++ compiler, no Triton) the render runs uncompiled and says why.")

    def uses_face(self) -> bool:
        """With the S-Face ControlNet on."""
        return bool(self.face_controlnet)

    @field_validator("overlap")
    @classmethod
    def _overlap_below_context(cls, v: int, info) -> int:
        ctx = info.data.get("context_frames", 16)
        if v >= ctx:
            raise ValueError(f"overlap {v} must be smaller than the window size {ctx}")
        return v
