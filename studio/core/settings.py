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
#: Framing fields and their defaults (the official placement). At their defaults they are left out
#: of the fingerprint, so renders made before framing existed keep their cache keys.
FRAMING_DEFAULTS = {"photo_offset": (0.0, 0.0), "photo_scale": 1.0, "video_fit": "top",
                    "video_offset": (0.0, 0.0), "video_scale": 1.0}
#: Settings left out of the fingerprint at their defaults, so older renders keep their cache keys:
#: ``live_motion`` (how much a draft live photo breathes and sways) changes only live photos.
OMITTED_AT_DEFAULT = {**FRAMING_DEFAULTS, "live_motion": 1.0}
#: How driving frames may be fitted onto the canvas: the official top-biased crop (S-Face mode),
#: a centre crop, or the whole frame letterboxed.
VideoFit = Literal["top", "center", "fit"]


class RenderSettings(BaseModel):
    """Everything that decides what a render produces (and so its cache fingerprint).

    ``device``, ``dtype``, ``low_vram``, ``sequential_cfg`` and ``torch_compile`` are *how* to
    compute, not *what*: they are excluded from :meth:`fingerprint` (fp16 on a GPU and fp32 on a
    CPU target the same frames; the memory options change results only at float-noise level).

    Framing: ``photo_scale`` scales the photo about the canvas centre (1 = the official centre
    crop that fills the canvas) and ``photo_offset`` then moves it by fractions of the canvas
    (``(0.1, 0)`` = a tenth of the width to the right); ``video_fit`` is how driving frames are
    cropped onto the canvas, and ``video_offset``/``video_scale`` move and scale them after that
    crop the same way (which moves and scales the skeleton the model sees).

    ``live_motion`` scales the draft renderer's idle motion of a live photo (breathing, sway,
    head tilt; 0 = still, 1 = the default, up to 3); renders driven by a video ignore it.
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
    photo_offset: tuple[float, float] = (0.0, 0.0)
    photo_scale: float = Field(1.0, ge=0.25, le=4.0)
    video_fit: VideoFit = "top"
    video_offset: tuple[float, float] = (0.0, 0.0)
    video_scale: float = Field(1.0, ge=0.25, le=4.0)
    live_motion: float = Field(1.0, ge=0.0, le=3.0)

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

    @field_validator("photo_offset", "video_offset")
    @classmethod
    def _offset_on_canvas(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(-1.0 <= float(c) <= 1.0 for c in v):
            raise ValueError(f"offset {v} must be between -1 and 1 (fractions of the canvas)")
        return (float(v[0]), float(v[1]))

    @property
    def default_framing(self) -> bool:
        """Whether the photo and video are placed as the official code places them."""
        return all(getattr(self, k) == v for k, v in FRAMING_DEFAULTS.items())

    def fingerprint(self) -> str:
        """A short hash of the fields that change the rendered pixels."""
        d = self.model_dump(exclude=HOW_TO_COMPUTE)
        for key, default in OMITTED_AT_DEFAULT.items():
            if d.get(key) == default:
                del d[key]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
