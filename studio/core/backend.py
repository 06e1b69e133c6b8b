"""What a renderer is: the :class:`Backend` protocol it implements and the :class:`BackendSpec`
that describes it to the studio (the manifest, read from the ``studio.backends`` entry points by
:mod:`studio.core.registry`).

The split follows napari's npe2 manifests and diffusers' ``model_index.json``: everything the
studio needs to *list*, *configure* and *check* a backend (name, label, capabilities, options
model, weights layout, doctor checks, estimates) lives in the spec, whose module imports without
torch; the running backend, with its heavy imports, is built only by :meth:`BackendSpec.create`.
Nothing here names a backend; capabilities decide what the GUI, the CLI and the farm offer.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.events import RenderEvent

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from studio.core.jobs import RenderJob
    from studio.core.options import BackendOptions
    from studio.core.settings import RenderSettings


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, so callers adapt without knowing which one they hold.

    needs_weights: it reads a weights folder (see :attr:`BackendSpec.weights`).
    step_previews: it emits ``StepPreview`` events while denoising.
    independent_frames: each output frame depends only on its own driving frame, so the job
        runner may hand it just the missing frames (else it gets the whole job and skips finished
        parts itself, from its render store).
    schedules: the window schedules it offers (empty: it has no windows).
    streaming: finished frames arrive while later ones still render (chunks or windows).
    prompt: it reads a text prompt (its options model has ``prompt``/``negative_prompt``).
    face_input: it uses the driving face (face track and face pixels of the driving video).
    live_photo: it renders a held pose (a live photo) with motion of its own.
    split_render: one clip can be divided among farm workers (:attr:`BackendSpec.split`).
    resumable: ``render(job, cancel, store=...)`` takes the job's
        :class:`~studio.core.render_store.ResumeStore` (finished frames, saved latents) from
        :func:`~studio.core.render.run_job` and resumes from it (:mod:`studio.core.resume`).
    """

    needs_weights: bool
    step_previews: bool
    independent_frames: bool
    schedules: tuple[str, ...] = ()
    streaming: bool = True
    prompt: bool = False
    face_input: bool = False
    live_photo: bool = True
    split_render: bool = False
    resumable: bool = False

    @property
    def windows(self) -> bool:
        """Whether it renders in overlapping windows (it offers schedules)."""
        return bool(self.schedules)


@runtime_checkable
class Backend(Protocol):
    """A running renderer, built by :meth:`BackendSpec.create`.

    ``render`` is a generator that checks ``cancel`` at every step or chunk, yields
    :mod:`studio.core.events` (``Progress``, ``StepPreview``, ``FramesReady``, indices are positions
    in ``job.frames``) and never touches the GUI. A backend is used by one render at a time and may
    be kept for many (the GUI's worker, a farm actor): it caches what it loaded and reloads only
    when a job asks for other weights, device or precision.

    Optionally a backend has ``prepare(job)``: build now what ``render(job)`` loads first (its
    weights on the job's device, in its precision and placed as its memory options say; the
    draft's rig), so that render reuses it. The GUI calls it in the background while the user is
    still choosing; without it the first render loads.
    """

    name: str
    capabilities: Capabilities

    def available(self) -> tuple[bool, str]:
        """Whether this backend can run here (dependencies, weights), and if not, why."""
        ...

    def load(self) -> None:
        """Load the models now (ahead of a render); a no-op for weight-free backends. Raises
        :class:`StudioError` when the weights cannot be loaded."""
        ...

    def render(self, job: "RenderJob", cancel: CancelToken) -> Iterator[RenderEvent]:
        """Render ``job`` (whose ``options`` are this backend's validated options). Raises
        :class:`StudioError` on bad input and :class:`~studio.core.errors.RenderCancelled` when
        cancelled. A backend whose capabilities say ``resumable`` also takes ``store=`` (a
        :class:`~studio.core.render_store.ResumeStore`) and skips what it holds."""
        ...

    def close(self) -> None:
        """Release the loaded models and their memory (GPU included); the backend may load again."""
        ...


@dataclass(frozen=True)
class DoctorCheck:
    """One line of ``studio doctor``: ``status`` is ``OK``, ``MISSING`` or ``ERROR``."""

    status: str
    name: str
    detail: str


@dataclass(frozen=True)
class Estimate:
    """What a render is expected to need, where the backend has a model of it."""

    vram_gib: float | None = None
    seconds: float | None = None
    note: str = ""


@dataclass(frozen=True)
class PhotoNote:
    """What a backend sees in the reference photo, for the GUI to draw over it and the command
    line to print (see :attr:`BackendSpec.photo_note`). Coordinates are photo pixels.

    boxes: ``(x0, y0, x1, y1)`` rectangles (e.g. the face the renderer will use).
    points: ``(x, y)`` points (e.g. its landmarks).
    label: a short text drawn at the first box.
    message: one line for the user (shown under the photo, printed by ``studio render``).
    warning: the message is a warning (the render will lack something the user expects).
    """

    boxes: tuple[tuple[float, float, float, float], ...] = ()
    points: tuple[tuple[float, float], ...] = ()
    label: str = ""
    message: str = ""
    warning: bool = False


@dataclass(frozen=True)
class WeightsSpec:
    """Where a backend's weights live and how to check a folder (torch-free).

    env_var: the environment variable naming the folder (``STUDIO_<NAME>_WEIGHTS``).
    layout: the files and folders a complete folder holds, relative to it (what ``studio
        backends`` and the docs show; also the fallback check when ``check`` is not given).
    check: ``check(folder, options) -> problems`` (empty: complete); ``options`` may be ``None``.
    default_folder: the folder used when nothing else names one (default: ``weights/<name>`` in
        the user data folder).
    licence: the licence note shown next to the weights (where they come from, terms).
    source: where to get them (a URL or a sentence).
    extra_env: older variables that also name this folder, read after ``env_var``.
    inspect: ``"module:func"``, ``func(args) -> exit code``: a deeper check of a complete folder
        (``studio weights check``; may import torch).
    convert: ``"module:func"``, ``func(args) -> exit code``: ``studio weights convert SRC DST``.
    """

    env_var: str
    layout: tuple[str, ...] = ()
    check: Callable[[Path, Any], list[str]] | None = None
    default_folder: Callable[[], Path] | None = None
    licence: str = ""
    source: str = ""
    extra_env: tuple[str, ...] = ()
    inspect: str | None = None
    convert: str | None = None

    def problems(self, folder: Path, options: Any = None) -> list[str]:
        """What is missing or wrong in ``folder`` (empty when it is complete)."""
        folder = Path(folder)
        if not folder.is_dir():
            return [f"{folder} is not a folder"]
        if self.check is not None:
            return list(self.check(folder, options))
        return [f"{rel} is missing" for rel in self.layout if not (folder / rel).exists()]


class SplitRender(Protocol):
    """How a backend renders one clip across several farm workers (numpy in, numpy out).

    Worker side: :meth:`prepare` (once, from the job), :meth:`predict` (per step, a block of
    windows), :meth:`decode` (chunks of final latents). Driver side: :meth:`denoiser` fuses the
    predictions; it has ``x`` (current latents), ``steps``, ``windows(step)`` and
    ``step(step, windows, predictions) -> preview frames``.
    """

    def refusal(self, job: "RenderJob") -> str | None:
        """Why ``job`` cannot be split (``None``: it can)."""
        ...

    def prepare(self, backend: Backend, job: "RenderJob") -> tuple[Any, dict[str, Any]]:
        """The worker's state and the driver's info (initial latents, guidance, ...)."""
        ...

    def predict(self, state: Any, step_index: int, x: "np.ndarray", windows: list[list[int]],
                mine: list[int]) -> list["np.ndarray"]:
        """Noise predictions of the windows ``mine``."""
        ...

    def decode(self, state: Any, latents: "np.ndarray") -> "np.ndarray":
        """Final latents -> ``(F, H, W, 3)`` uint8 frames."""
        ...

    def denoiser(self, info: dict[str, Any], job: "RenderJob") -> Any:
        """The driver's fusion and sampler state."""
        ...


def _load(path: str) -> Any:
    """``"package.module:attr"`` -> the attribute (imported now)."""
    module, _, attr = path.partition(":")
    obj = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class BackendSpec:
    """The manifest of one backend (see the module docstring).

    name: the short name (``--backend NAME``, the project file's key, the entry point's name).
    label: what the GUI's renderer list shows.
    capabilities: what it can do.
    options: its pydantic options model (a :class:`~studio.core.options.BackendOptions` subclass).
    factory: ``"module:Class"`` of the running backend, imported only by :meth:`create`; the class
        is called as ``Class(weights_dir=...)`` (``None`` for weight-free backends).
    weights: its weights (``None``: it needs none).
    requires: modules it needs that may be missing (checked without importing them).
    install_hint: ``install_hint(missing) -> text`` saying how to get them.
    doctor: ``doctor(weights_folder) -> checks`` for ``studio doctor`` (beyond weights).
    estimate: ``estimate(settings, n_frames) -> Estimate | None`` (memory/time), if it has a model.
    split: ``"module:attr"`` of its :class:`SplitRender`, if it can split a clip across workers.
    photo_note: ``"module:func"``, ``func(photo, weights_dir, device) -> PhotoNote | None``: what
        the renderer sees in the reference photo ((H, W, 3) uint8 RGB at its own size), e.g. the
        face it will keep; imported and called only by :meth:`note_photo` (may be slow: off the
        GUI thread).
    description: one line for ``studio backends`` and the docs.
    order: position in lists (lower first).
    default: the backend a new project uses (one backend sets it).
    legacy: the backend whose fields and weights folder the flat settings of schema-1 project
        files (``weights_dir``, ``$STUDIO_WEIGHTS_DIR``, steps, schedule, ...) described.
    """

    name: str
    label: str
    capabilities: Capabilities
    options: type["BackendOptions"]
    factory: str
    weights: WeightsSpec | None = None
    requires: tuple[str, ...] = ()
    install_hint: Callable[[list[str]], str] | None = None
    doctor: Callable[[Path | None], list[DoctorCheck]] | None = None
    estimate: Callable[["RenderSettings", int], Estimate | None] | None = None
    split: str | None = None
    photo_note: str | None = None
    description: str = ""
    order: int = 100
    default: bool = False
    legacy: bool = False
    #: Set by the registry: the distribution and entry point the spec came from.
    origin: str = field(default="", compare=False)

    # -- availability -------------------------------------------------------------------------
    def missing_modules(self) -> list[str]:
        """The modules of :attr:`requires` that cannot be imported here (found without importing)."""
        missing = []
        for name in self.requires:
            try:
                found = importlib.util.find_spec(name) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(name)
        return missing

    def hint(self, missing: Sequence[str]) -> str:
        """How to get the ``missing`` modules."""
        if self.install_hint is not None:
            return self.install_hint(list(missing))
        return f"{', '.join(missing)} not installed; install them to use the {self.label} renderer."

    def weights_problems(self, folder: Path | None, options: Any = None) -> list[str]:
        """What is missing in the weights ``folder`` (empty for weight-free backends)."""
        if self.weights is None:
            return []
        if folder is None:
            return [f"no {self.label} weights folder is set"]
        return self.weights.problems(Path(folder), options)

    def availability(self, weights_dir: Path | None = None) -> tuple[bool, str]:
        """``(ok, why)`` without importing the backend: dependencies, then weights."""
        missing = self.missing_modules()
        if missing:
            return False, self.hint(missing)
        problems = self.weights_problems(weights_dir)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            return False, f"The {self.label} weights in {weights_dir} are incomplete: {problems[0]}{more}."
        if self.weights is None:
            return True, "ready (no model weights needed)"
        return True, f"ready (weights: {weights_dir})"

    # -- building -----------------------------------------------------------------------------
    def backend_class(self) -> type:
        """The running backend's class (imports it: torch for diffusion backends)."""
        missing = self.missing_modules()
        try:
            return _load(self.factory)
        except (ImportError, AttributeError) as exc:
            hint = f" {self.hint(missing)}" if missing else ""
            raise StudioError(
                f"The {self.label} renderer is not available",
                f"{self.factory} could not be loaded in this installation.{hint}",
                repr(exc),
            ) from exc

    def create(self, weights_dir: Path | str | os.PathLike | None = None, **kwargs: Any) -> Backend:
        """A new running backend (``weights_dir`` for backends with weights)."""
        cls = self.backend_class()
        if self.weights is not None:
            kwargs["weights_dir"] = Path(weights_dir) if weights_dir is not None else None
        return cls(**kwargs)

    def note_photo(self, photo: "np.ndarray", weights_dir: Path | None, device: str = "cpu") -> PhotoNote | None:
        """What this renderer sees in ``photo`` (``None`` when it has no :attr:`photo_note`)."""
        if self.photo_note is None:
            return None
        return _load(self.photo_note)(photo, Path(weights_dir) if weights_dir is not None else None, device)

    def split_render(self) -> SplitRender | None:
        """Its :class:`SplitRender` (imported now), or ``None``."""
        if self.split is None:
            return None
        return _load(self.split)
