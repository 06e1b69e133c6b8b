"""The project file: what the artist made, saved as one JSON file (atomically).

Paths inside the file are stored relative to the project file when possible and resolved against
it on load, so a project folder can be moved as a whole. Tracks (including hand edits) are stored
inside the file. ``schema_version`` rules: bump it when a field changes meaning or a required field
is added; older versions are migrated on load, newer ones are refused with a clear message.
Optional fields added with a default that keeps older files meaning the same (``live_photo``)
do not bump it.

Schema 2 keeps every backend's options under its name (``"options": {"xdyna": {...}}``) and every
backend's weights folder under its name (``"weights": {"xdyna": "..."}``); ``settings`` holds the
shared fields and the chosen ``backend``. Schema-1 files (one flat ``settings`` whose non-shared
fields, and ``weights_dir``, were the legacy backend's: see ``BackendSpec.legacy``) are migrated
on load and mean the same.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from studio.core.errors import StudioError
from studio.core.files import atomic_write_bytes
from studio.core.settings import RETIRED, RenderSettings
from studio.core.tracks import FaceTrack, PoseTrack

SCHEMA_VERSION = 2
PROJECT_SUFFIX = ".studio.json"
#: What to do about a project file whose content is damaged.
FIX_HINT = "Restore an earlier copy (or the <name>.autosave.json beside it), or fix the value in a text editor."


@dataclass
class Project:
    """An animation project.

    Attributes
    ----------
    reference_image: the photo to animate.
    driving_video: the video whose motion drives it (optional when a pose track is given).
    fps: output frame rate.
    frame_range: ``(start, stop)`` driving frames to render (half-open), or ``None`` for all.
    pose, face: the driving tracks (with any hand edits).
    reference_pose, reference_face: the reference photo's own detection.
    settings: render settings (the chosen backend and its options).
    backend_options: every backend's options as last set, name -> JSON dict (the chosen one's are
        ``settings.options``; the others come back when that backend is chosen again).
    weights_dirs: the project's weights folder per backend name (see :attr:`weights_dir`).
    render_dir: where finished frames are written (default: ``<project>.renders/`` beside the file).
    live_seconds: ``None`` for a clip driven by a video; otherwise the project is a *live photo*
        of that many seconds (at ``fps``): the photo's own pose is held on every frame
        (:mod:`studio.extract.live_photo`) and no driving video is needed.
    path: where this project was loaded from / saved to (not stored in the file).
    """

    reference_image: Path | None = None
    driving_video: Path | None = None
    fps: float = 25.0
    frame_range: tuple[int, int] | None = None
    pose: PoseTrack | None = None
    face: FaceTrack | None = None
    reference_pose: PoseTrack | None = None
    reference_face: FaceTrack | None = None
    settings: RenderSettings = field(default_factory=RenderSettings)
    backend_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    weights_dirs: dict[str, Path] = field(default_factory=dict)
    render_dir: Path | None = None
    live_seconds: float | None = None
    path: Path | None = None

    @property
    def is_live_photo(self) -> bool:
        """Whether the project holds the photo's pose instead of following a driving video."""
        return self.live_seconds is not None

    # -- backends ---------------------------------------------------------------------------
    @property
    def weights_dir(self) -> Path | None:
        """The project's weights folder for the chosen backend (``None``: not set)."""
        return self.weights_dirs.get(self.settings.backend)

    @weights_dir.setter
    def weights_dir(self, path: Path | None) -> None:
        if path is None:
            self.weights_dirs.pop(self.settings.backend, None)
        else:
            self.weights_dirs[self.settings.backend] = Path(path)

    def all_options(self) -> dict[str, dict[str, Any]]:
        """Every backend's options, the chosen one's from :attr:`settings`."""
        return {**self.backend_options, self.settings.backend: self.settings.options.model_dump(mode="json")}

    def choose_backend(self, name: str) -> RenderSettings:
        """Switch to backend ``name``, keeping the options of the one left and restoring ``name``'s;
        returns the new settings (also stored)."""
        if name != self.settings.backend:
            self.backend_options = self.all_options()
            self.settings = self.settings.updated(backend=name, options=self.backend_options.get(name, {}))
        return self.settings

    # -- paths ------------------------------------------------------------------------------
    def default_render_dir(self) -> Path | None:
        """``<name>.renders`` beside the project file."""
        if self.render_dir is not None:
            return self.render_dir
        if self.path is None:
            return None
        name = self.path.name.removesuffix(PROJECT_SUFFIX).removesuffix(".json")
        return self.path.parent / f"{name}.renders"

    def missing_files(self) -> list[tuple[str, Path]]:
        """``(field, path)`` for every referenced file that does not exist (to offer relinking)."""
        out = []
        for name in ("reference_image", "driving_video"):
            p = getattr(self, name)
            if p is not None and not Path(p).exists():
                out.append((name, Path(p)))
        return out

    def n_frames(self) -> int:
        """Frames in the working range (0 without a pose track)."""
        if self.pose is None:
            return 0
        start, stop = self.frame_range or (0, len(self.pose))
        return max(0, min(stop, len(self.pose)) - start)

    # -- (de)serialisation ----------------------------------------------------------------------
    def to_dict(self, base: Path | None = None) -> dict[str, Any]:
        """JSON-ready dict; paths relative to ``base`` where possible."""

        def rel(p: Path | None) -> str | None:
            if p is None:
                return None
            p = Path(p)
            if base is not None:
                try:
                    return os.path.relpath(p.resolve(), base.resolve())
                except ValueError:  # another drive on Windows
                    pass
            return str(p)

        def track(t):
            return None if t is None else t.to_dict()

        return {
            "schema_version": SCHEMA_VERSION,
            "app": "xdyna-studio",
            "reference_image": rel(self.reference_image),
            "driving_video": rel(self.driving_video),
            "fps": self.fps,
            "frame_range": list(self.frame_range) if self.frame_range else None,
            "settings": self.settings.shared(),
            "options": self.all_options(),
            "weights": {name: rel(p) for name, p in sorted(self.weights_dirs.items())},
            "render_dir": rel(self.render_dir),
            "live_photo": {"seconds": self.live_seconds} if self.live_seconds is not None else None,
            "tracks": {
                "pose": track(self.pose),
                "face": track(self.face),
                "reference_pose": track(self.reference_pose),
                "reference_face": track(self.reference_face),
            },
        }

    @classmethod
    def from_dict(cls, d: Any, base: Path | None = None, source: str = "the project") -> "Project":
        """Inverse of :meth:`to_dict`; relative paths are resolved against ``base``."""
        if not isinstance(d, dict) or "schema_version" not in d:
            raise StudioError(
                "Not a studio project",
                f"{source} is not an X-Dyna Studio project file (no schema_version). "
                f"Choose a {PROJECT_SUFFIX} file saved by the studio.",
            )
        version = d["schema_version"]
        if not isinstance(version, int) or version < 1:
            raise StudioError(
                "Broken project file", f"{source} has an invalid schema_version {version!r}. {FIX_HINT}"
            )
        if version > SCHEMA_VERSION:
            raise StudioError(
                "Project from a newer studio",
                f"{source} was saved by a newer version of the studio (schema {version}; this one "
                f"reads up to {SCHEMA_VERSION}). Update the studio to open it.",
            )

        def path(key: str) -> Path | None:
            v = d.get(key)
            if v is None:
                return None
            if not isinstance(v, str):
                raise StudioError("Broken project file", f"'{key}' in {source} is not a path. {FIX_HINT}")
            p = Path(v)
            return (base / p) if (base is not None and not p.is_absolute()) else p

        settings, options, weights = _read_backends(d, version, source, base)
        fr = d.get("frame_range")
        if fr is not None:
            if (
                not isinstance(fr, list) or len(fr) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in fr)
                or not 0 <= fr[0] < fr[1]
            ):
                raise StudioError(
                    "Broken project file", f"frame_range {fr!r} in {source} is not [start, stop]. {FIX_HINT}"
                )
            fr = (fr[0], fr[1])
        fps = d.get("fps", 25.0)
        if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not 0 < fps <= 240:
            raise StudioError(
                "Broken project file", f"fps {fps!r} in {source} is not between 0 and 240. {FIX_HINT}"
            )
        live = d.get("live_photo")
        live_seconds = None
        if live is not None:
            seconds = live.get("seconds") if isinstance(live, dict) else None
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds <= 60:
                raise StudioError(
                    "Broken project file",
                    f"live_photo {live!r} in {source} is not {{\"seconds\": 0 < s <= 60}}. {FIX_HINT}",
                )
            live_seconds = float(seconds)
        tracks = d.get("tracks") or {}
        if not isinstance(tracks, dict):
            raise StudioError("Broken project file", f"'tracks' in {source} is not an object. {FIX_HINT}")

        def track(kind, key):
            v = tracks.get(key)
            if v is None:
                return None
            try:
                return kind.from_dict(v)
            except StudioError as err:  # name the file and the track
                raise StudioError(
                    "Broken project file",
                    f"The {key.replace('_', ' ')} track in {source} is damaged: {err.description} "
                    "Extract the motion again, or restore an earlier copy of the project.",
                    err.details,
                ) from err

        return cls(
            reference_image=path("reference_image"),
            driving_video=path("driving_video"),
            fps=float(fps),
            frame_range=fr,
            pose=track(PoseTrack, "pose"),
            face=track(FaceTrack, "face"),
            reference_pose=track(PoseTrack, "reference_pose"),
            reference_face=track(FaceTrack, "reference_face"),
            settings=settings,
            backend_options=options,
            weights_dirs=weights,
            render_dir=path("render_dir"),
            live_seconds=live_seconds,
        )

    # -- files ----------------------------------------------------------------------------------
    def save(self, path: Path | str | None = None) -> Path:
        """Save atomically to ``path`` (default: where it was loaded from) and remember it."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise StudioError("Cannot save", "The project has no file yet; choose where to save it.")
        text = json.dumps(self.to_dict(base=target.parent), indent=1)
        atomic_write_bytes(target, text.encode("utf-8"), f"Cannot save {target.name}")
        self.path = target
        return target

    @classmethod
    def load(cls, path: Path | str) -> "Project":
        """Load a project file; every problem is a :class:`StudioError` naming the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise StudioError(
                "Project not found", f"{path} does not exist. Check the path, or choose the project file again.",
                repr(exc),
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise StudioError(
                "Cannot open the project",
                f"{path} cannot be read as a text file. Choose the {PROJECT_SUFFIX} file the studio saved.",
                repr(exc),
            ) from exc
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StudioError(
                "Broken project file",
                f"{path} is not valid JSON (line {exc.lineno}). If the studio crashed while saving, "
                "look for an autosave next to it.",
                repr(exc),
            ) from exc
        try:
            project = cls.from_dict(d, base=path.parent, source=str(path))
        except StudioError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise StudioError(
                "Broken project file", f"{path} has unexpected content. {FIX_HINT}", repr(exc)
            ) from exc
        project.path = path
        return project


def _read_backends(d: dict, version: int, source: str, base: Path | None) -> tuple[RenderSettings, dict, dict]:
    """``(settings, options per backend, weights folder per backend)`` of a project dict of schema
    ``version`` (schema 1 migrated: its flat settings' backend fields and ``weights_dir`` were the
    legacy backend's). Relative weights folders are resolved against ``base``."""
    from studio.core import registry

    raw = d.get("settings") or {}
    if not isinstance(raw, dict):
        raise StudioError("Broken project file", f"'settings' in {source} is not an object. {FIX_HINT}")
    shared_keys = set(RenderSettings.model_fields) - {"options"}
    shared = {k: v for k, v in raw.items() if k in shared_keys}
    legacy = registry.legacy_name()
    if version == 1:  # a flat key is an option of the file's backend if it has it, else the legacy one's
        own = shared.get("backend") if shared.get("backend") in registry.names() else None
        own_fields = registry.get_spec(own).options.model_fields if own is not None else {}
        options: dict = {}
        for k, v in raw.items():
            if k in shared_keys or k in RETIRED:
                continue
            target = own if k in own_fields else legacy
            if target is not None:
                options.setdefault(target, {})[k] = v
        weights_raw = {legacy: d.get("weights_dir")} if legacy is not None and d.get("weights_dir") else {}
    else:
        options = d.get("options") or {}
        weights_raw = d.get("weights") or {}
        if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
            raise StudioError("Broken project file", f"'options' in {source} is not an object per renderer. {FIX_HINT}")
        if not isinstance(weights_raw, dict):
            raise StudioError("Broken project file", f"'weights' in {source} is not an object. {FIX_HINT}")
    name = shared.get("backend") or registry.default_name()
    if not isinstance(name, str) or name not in registry.names():
        known = ", ".join(registry.names())
        raise StudioError(
            "Renderer not installed",
            f"{source} renders with {name!r}, which is not installed here (installed: {known}). Install the "
            "package that provides it, or edit 'backend' in the file to one of those.",
        )
    def invalid(exc: ValidationError, what: str) -> StudioError:
        err = exc.errors()[0]
        loc = ".".join(map(str, err["loc"]))
        return StudioError(
            "Broken project file",
            f"The {what} in {source} are invalid: {(loc + ': ') if loc else ''}{err['msg']}. Fix or remove them.",
            str(exc),
        )

    checked = {}
    for key, value in options.items():  # every installed backend's options, as the flat schema was
        if key in registry.names():
            try:
                value = registry.get_spec(key).options.model_validate(value).model_dump(mode="json")
            except ValidationError as exc:
                raise invalid(exc, f"render settings ({key} options)") from exc
        checked[key] = dict(value)
    try:
        settings = RenderSettings.model_validate({**shared, "options": checked.get(name, {})})
    except ValidationError as exc:
        raise invalid(exc, "render settings") from exc
    weights = {}
    for key, value in weights_raw.items():
        if value is None:
            continue
        if not isinstance(value, str):
            raise StudioError("Broken project file", f"the {key} weights folder in {source} is not a path. {FIX_HINT}")
        p = Path(value)
        weights[str(key)] = (base / p) if (base is not None and not p.is_absolute()) else p
    return settings, checked, weights
