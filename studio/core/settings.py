"""Render settings: a validated, versioned schema shared by the project file, GUI and CLI."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BackendName = Literal["draft", "xdyna"]


#: Settings that choose how frames are computed, not which frames: not part of the fingerprint.
HOW_TO_COMPUTE = frozenset({"device", "dtype", "low_vram", "sequential_cfg", "torch_compile"})

#: Fields of older project files that are no longer settings, dropped when read. ``smoothing`` was
#: never read by a renderer (the pose track's One-Euro smoothing is an extraction option:
#: ``studio extract --no-smoothing``), yet it changed the fingerprint and so threw caches away.
RETIRED = frozenset({"smoothing"})


class RenderSettings(BaseModel):
    """Everything that decides what a render produces (and so its cache fingerprint).

    ``device``, ``dtype``, ``low_vram``, ``sequential_cfg`` and ``torch_compile`` are *how* to
    compute, not *what*: they are excluded from :meth:`fingerprint` (fp16 on a GPU and fp32 on a
    CPU target the same frames; the memory options change results only at float-noise level).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: BackendName = "draft"
    width: int = Field(512, ge=64, le=2048, multiple_of=8)
    height: int = Field(896, ge=64, le=2048, multiple_of=8)
    steps: int = Field(25, ge=1, le=200)
    cfg: float = Field(7.5, ge=0.0, le=30.0)
    seed: int = Field(42, ge=0, lt=2**63)
    schedule: Literal["reference", "static", "stream"] = "reference"
    context_frames: int = Field(16, ge=2, le=24)
    overlap: int = Field(4, ge=0, le=12)
    weighting: Literal["flat", "pyramid"] = "flat"
    face_controlnet: bool = True
    retarget: bool = True
    prompt: str = Field("", max_length=2000)
    negative_prompt: str = Field("", max_length=2000)
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    low_vram: bool = False
    sequential_cfg: bool = False
    torch_compile: bool = False

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: object) -> object:
        if isinstance(data, dict) and RETIRED & data.keys():
            data = {k: v for k, v in data.items() if k not in RETIRED}
        return data

    @field_validator("overlap")
    @classmethod
    def _overlap_below_context(cls, v: int, info) -> int:
        ctx = info.data.get("context_frames", 16)
        if v >= ctx:
            raise ValueError(f"overlap {v} must be smaller than the window size {ctx}")
        return v

    def fingerprint(self) -> str:
        """A short hash of the fields that change the rendered pixels."""
        d = self.model_dump(exclude=HOW_TO_COMPUTE)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
