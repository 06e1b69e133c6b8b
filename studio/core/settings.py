"""Render settings: the fields every backend shares, plus the chosen backend's own options.

:class:`RenderSettings` holds what any renderer needs (backend name, size, seed, retargeting,
framing, device and precision) and ``options``: an instance of the chosen backend's options model
(:mod:`studio.core.options`), validated by it. The project file keeps every backend's options under
its name (:mod:`studio.core.project`); a job holds the chosen backend's.

Flat input (``RenderSettings(backend="xdyna", steps=4)``, and the settings of schema-1 project
files) is accepted: keys that are not shared fields are the backend's options.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from studio.core import registry
from studio.core.options import BackendOptions

#: Shared settings that choose how frames are computed, not which frames: not fingerprinted
#: (a backend marks its own such options with ``option(how=True)``).
HOW_TO_COMPUTE = frozenset({"device", "dtype"})

#: Fields of older project files that are no longer settings, dropped when read. ``smoothing`` was
#: never read by a renderer (the pose track's One-Euro smoothing is an extraction option:
#: ``studio extract --no-smoothing``), yet it changed the fingerprint and so threw caches away.
RETIRED = frozenset({"smoothing"})
#: Framing fields and their defaults (the official placement). At their defaults they are left out
#: of the fingerprint, so renders made before framing existed keep their cache keys.
FRAMING_DEFAULTS = {"photo_offset": (0.0, 0.0), "photo_scale": 1.0, "video_fit": "top",
                    "video_offset": (0.0, 0.0), "video_scale": 1.0}
#: How driving frames may be fitted onto the canvas: the official top-biased crop (S-Face mode),
#: a centre crop, or the whole frame letterboxed.
VideoFit = Literal["top", "center", "fit"]


class RenderSettings(BaseModel):
    """Everything that decides what a render produces (and so its cache fingerprint).

    ``device`` and ``dtype`` (and the options a backend marks ``how``) are *how* to compute, not
    *what*: they are excluded from :meth:`fingerprint`.

    Framing: ``photo_scale`` scales the photo about the canvas centre (1 = the official centre
    crop that fills the canvas) and ``photo_offset`` then moves it by fractions of the canvas
    (``(0.1, 0)`` = a tenth of the width to the right); ``video_fit`` is how driving frames are
    cropped onto the canvas, and ``video_offset``/``video_scale`` move and scale them after that
    crop the same way (which moves and scales the skeleton the model sees).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(default_factory=registry.default_name)
    width: int = Field(512, ge=64, le=2048, multiple_of=8)
    height: int = Field(896, ge=64, le=2048, multiple_of=8)
    seed: int = Field(42, ge=0, lt=2**63)
    retarget: bool = True
    device: str = "auto"
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    photo_offset: tuple[float, float] = (0.0, 0.0)
    photo_scale: float = Field(1.0, ge=0.25, le=4.0)
    video_fit: VideoFit = "top"
    video_offset: tuple[float, float] = (0.0, 0.0)
    video_scale: float = Field(1.0, ge=0.25, le=4.0)
    #: The chosen backend's options (an instance of its options model).
    options: SerializeAsAny[BackendOptions] = Field(default_factory=BackendOptions)

    @model_validator(mode="before")
    @classmethod
    def _route_options(cls, data: Any) -> Any:
        """Drop retired keys; put non-shared keys into ``options``; validate them with the
        backend's model (an unknown backend raises the registry's StudioError)."""
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if k not in RETIRED}
        name = data.get("backend") or registry.default_name()
        model = registry.get_spec(name).options
        given = data.pop("options", None)
        flat = {k: data.pop(k) for k in list(data) if k not in cls.model_fields}
        if isinstance(given, BackendOptions):
            if not isinstance(given, model):
                raise PydanticCustomError(
                    "backend_options", "options of type {got} given for the {name} renderer (expects {want})",
                    {"got": type(given).__name__, "name": name, "want": model.__name__})
            given = given.model_dump() if flat else given
        if isinstance(given, BackendOptions):
            data["options"] = given
        else:
            raw = {**(given or {}), **flat}
            try:
                data["options"] = model.model_validate(raw)
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(map(str, err.get("loc", ())))
                shown = "" if isinstance(err.get("input"), dict) else f" (got {err.get('input')!r})"
                raise PydanticCustomError(
                    "backend_options", "{name} option {loc}: {msg}{shown}",
                    {"name": name, "loc": loc, "msg": err["msg"], "shown": shown}) from None
        data["backend"] = name
        return data

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

    def shared(self) -> dict[str, Any]:
        """The shared fields (no ``options``), JSON-ready."""
        return self.model_dump(mode="json", exclude={"options"})

    def flat(self) -> dict[str, Any]:
        """Shared fields and options in one dict (what an edit or a summary compares)."""
        return {**self.model_dump(exclude={"options"}), **self.options.model_dump()}

    def updated(self, options: dict[str, Any] | None = None, **changes: Any) -> "RenderSettings":
        """A validated copy with ``changes`` (shared fields or this backend's options). When
        ``backend`` changes, the new backend's options are ``options`` (default: its defaults)."""
        d = self.model_dump(exclude={"options"})
        backend = changes.get("backend", self.backend)
        opts = dict(options) if options is not None else (
            self.options.model_dump() if backend == self.backend else {})
        for key, value in changes.items():
            if key in type(self).model_fields:
                d[key] = value
            else:
                opts[key] = value
        return RenderSettings.model_validate({**d, "options": opts})

    def fingerprint(self) -> str:
        """A short hash of the fields that change the rendered pixels: the shared ones and the
        backend's (one flat dict, so X-Dyna renders keep the keys they had before options were
        split out of the settings)."""
        d = self.model_dump(exclude=HOW_TO_COMPUTE | {"options"})
        for key, default in FRAMING_DEFAULTS.items():
            if d.get(key) == default:
                del d[key]
        d.update(self.options.fingerprint_fields())
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
