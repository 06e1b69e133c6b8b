"""DynamiCtrl's render options (torch-free): what the GUI form and ``studio render --backend
dynamictrl`` flags are built from. Size, seed, device and precision are the studio's own
settings; the frame count comes from the clip (8k+5 frames, see :mod:`.rules`)."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from studio.backends.dynamictrl import rules
from studio.core.options import BackendOptions, option


class DynamiCtrlOptions(BackendOptions):
    """Options of the DynamiCtrl renderer."""

    prompt: str = option("", max_length=2000, label="Prompt",
                         help="Describe the person and the scene (clothes, hair, background): DynamiCtrl's "
                         "'joint text' steers appearance and background. Empty: a prompt built from what the "
                         "studio knows about the clip (see 'Empty prompt'). No extra time or memory.")
    negative_prompt: str = option("", max_length=2000, label="Negative prompt",
                                  help="Text to steer away from (the unconditional half of guidance; the official "
                                  "code uses an empty one). No extra time or memory.")
    empty_prompt: bool = option(False, label="Empty prompt",
                                help="Render with an empty prompt instead of the built default when the prompt is "
                                "empty (the degraded text-free mode the paper compares against).")
    steps: int = option(25, ge=1, le=200, label="Steps",
                        help="Denoising steps (the official examples use 25; at least 3 runs the scheduler's "
                        "second-order updates). Time grows in proportion; memory does not change.")
    guidance: float = option(3.0, ge=0.0, le=20.0, label="Guidance", flag="cfg",
                             help="Text guidance scale (official 3.0). Above 1 every step runs the transformer on "
                             "[negative, prompt] as one batch: about twice the activation memory of 1.0 or less, "
                             "which runs it once.")
    segment_frames: int = option(rules.OFFICIAL_FRAMES, ge=13, le=101, label="Frames per pass",
                                 help="Frames rendered in one pass (8k+5; the release was trained at 37). Longer "
                                 "clips are rendered as overlapping passes. Memory grows with it.")
    overlap: int = option(5, ge=rules.MIN_FRAMES, le=93, label="Overlap",
                          help="Frames a pass shares with the previous one (8j+5): they are held to the previous "
                          "pass's frames and crossfaded. More overlap: smoother seams, more passes.")
    cpu_text_encoder: bool = option(True, how=True, label="T5 on the CPU",
                                    help="Keep the T5-XXL text encoder (about 9 GB in bf16) on the CPU: the prompt "
                                    "is encoded once per pass, in seconds, and the GPU keeps that memory. Same frames "
                                    "up to float noise.")
    offload: Literal["none", "model", "sequential"] = option("none", how=True, label="GPU memory",
                          help="none: transformer and VAE stay on the GPU. model: each model is on the GPU only "
                          "for its part (diffusers model offload). sequential: layer by layer (slowest, least "
                          "memory). Same frames (model: up to float rounding).")

    @field_validator("segment_frames")
    @classmethod
    def _segment_is_8k_plus_5(cls, v: int) -> int:
        if not rules.is_valid_count(v):
            near = " or ".join(str(c) for c in rules.nearest_counts(v))
            raise ValueError(f"frames per pass must be 8k+5 (5, 13, 21, 29, 37, ...); use {near}")
        return v

    @model_validator(mode="after")
    def _overlap_fits(self) -> "DynamiCtrlOptions":
        if not rules.is_valid_count(self.overlap) or self.overlap > self.segment_frames - 8:
            valid = ", ".join(str(c) for c in range(rules.MIN_FRAMES, self.segment_frames - 7, 8))
            raise ValueError(f"overlap {self.overlap} must be 8j+5 and at least 8 below the frames per pass "
                             f"({self.segment_frames}): one of {valid}")
        return self
