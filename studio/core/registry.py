"""The backend registry: every :class:`~studio.core.backend.BackendSpec` installed here, read from
the ``studio.backends`` entry-point group. It knows no backend by name.

A backend package (in this tree or any installed distribution) registers its spec in its
``pyproject.toml``::

    [project.entry-points."studio.backends"]
    echo = "studio_echo.spec:SPEC"

Reading a spec imports only its spec module (which must import without torch). Entry points seen
twice (an editable install next to a ``*.egg-info`` in the source root) count once; a plug-in that
fails to load, or that is not a ``BackendSpec`` named like its entry point, is kept aside as a
:class:`StudioError` naming its distribution and entry point (``studio backends`` lists it), and
the other backends work as before.
"""

from __future__ import annotations

import importlib.metadata
import threading
import traceback
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from studio.core.backend import Backend, BackendSpec
from studio.core.errors import StudioError

#: The entry-point group backends register under.
GROUP = "studio.backends"

_lock = threading.Lock()
_specs: dict[str, BackendSpec] | None = None
_broken: dict[str, StudioError] = {}


def _dist_name(ep: importlib.metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return getattr(dist, "name", None) or "an unknown distribution"


def _load_one(ep: importlib.metadata.EntryPoint) -> BackendSpec:
    where = f"entry point {ep.name} = {ep.value} of {_dist_name(ep)} (group {GROUP})"
    try:
        spec = ep.load()
    except Exception as exc:  # noqa: BLE001 - any failure of a plug-in is reported, not raised
        raise StudioError(
            f"Backend plug-in {ep.name!r} is broken",
            f"The {where} could not be loaded: {type(exc).__name__}: {exc}. Reinstall or update "
            f"{_dist_name(ep)}, or uninstall it.",
            "".join(traceback.format_exception(exc)),
        ) from exc
    if not isinstance(spec, BackendSpec):
        raise StudioError(
            f"Backend plug-in {ep.name!r} is broken",
            f"The {where} is a {type(spec).__name__}, not a studio.core.backend.BackendSpec. "
            f"Fix {_dist_name(ep)}: its entry point must name the spec object.",
        )
    if spec.name != ep.name:
        raise StudioError(
            f"Backend plug-in {ep.name!r} is broken",
            f"The {where} describes a backend named {spec.name!r}; the entry point and the spec must "
            f"have the same name. Fix {_dist_name(ep)}.",
        )
    return spec


def _scan(entry_points: Iterable[importlib.metadata.EntryPoint]) -> tuple[dict[str, BackendSpec],
                                                                          dict[str, StudioError]]:
    specs: dict[str, BackendSpec] = {}
    broken: dict[str, StudioError] = {}
    seen: dict[str, str] = {}
    for ep in entry_points:
        if ep.name in seen:
            if seen[ep.name] != ep.value and ep.name not in broken:
                broken[f"{ep.name} ({_dist_name(ep)})"] = StudioError(
                    f"Two backends are called {ep.name!r}",
                    f"{_dist_name(ep)} registers {ep.name} = {ep.value}, but {seen[ep.name]} already has "
                    f"that name; the first one found is used. Uninstall one of them.",
                )
            continue
        seen[ep.name] = ep.value
        try:
            spec = _load_one(ep)
        except StudioError as err:
            broken[ep.name] = err
            continue
        object.__setattr__(spec, "origin", f"{ep.value} ({_dist_name(ep)})")
        specs[spec.name] = spec
    ordered = dict(sorted(specs.items(), key=lambda kv: (kv[1].order, kv[0])))
    return ordered, broken


def _ensure() -> dict[str, BackendSpec]:
    global _specs, _broken
    with _lock:
        if _specs is None:
            _specs, _broken = _scan(importlib.metadata.entry_points(group=GROUP))
        return _specs


def specs() -> dict[str, BackendSpec]:
    """Every working backend, name -> spec, in list order."""
    return dict(_ensure())


def names() -> tuple[str, ...]:
    """The names :func:`get_spec` accepts, in list order."""
    return tuple(_ensure())


def broken() -> dict[str, StudioError]:
    """The plug-ins that failed to load: entry-point name -> the error."""
    _ensure()
    return dict(_broken)


def get_spec(name: str) -> BackendSpec:
    """The spec of the backend called ``name`` (a :class:`StudioError` for unknown or broken ones)."""
    found = _ensure()
    if name in found:
        return found[name]
    if name in _broken:
        raise _broken[name]
    choices = ", ".join(found) or "none are installed"
    raise StudioError(
        "Unknown renderer",
        f"There is no renderer called {name!r}; choose one of: {choices}. A backend from another package "
        f"appears here once that package is installed (it registers under the {GROUP!r} entry points).",
    )


def default_name() -> str:
    """The backend a new project renders with (the spec marked ``default``, else the first)."""
    found = _ensure()
    for name, spec in found.items():
        if spec.default:
            return name
    if not found:
        raise StudioError(
            "No renderers installed",
            f"No backend is registered under the {GROUP!r} entry points. Reinstall the studio "
            "(pip install -e .) so its draft and X-Dyna renderers are registered.",
        )
    return next(iter(found))


def legacy_name() -> str | None:
    """The backend that schema-1 project files' flat settings and ``weights_dir`` described."""
    for name, spec in _ensure().items():
        if spec.legacy:
            return name
    return None


def create_backend(name: str, weights_dir: Path | str | None = None, **kwargs: Any) -> Backend:
    """A new running backend called ``name`` (see :meth:`BackendSpec.create`)."""
    return get_spec(name).create(weights_dir, **kwargs)


def reload() -> None:
    """Read the entry points again (after installing a plug-in in this process; tests)."""
    global _specs
    with _lock:
        _specs = None


@contextmanager
def installed(*extra: BackendSpec) -> Iterator[None]:
    """Within the block, ``extra`` specs are registered too (tests of a backend not installed)."""
    global _specs
    before = dict(_ensure())
    with _lock:
        _specs = {**before, **{s.name: s for s in extra}}
    try:
        yield
    finally:
        with _lock:
            _specs = before
