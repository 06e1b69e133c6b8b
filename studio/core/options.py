"""The base of every backend's options model, and the field description the GUI form and the CLI
flags are built from.

A backend declares its options as a frozen pydantic model (fields, ranges, defaults, help)::

    class EchoOptions(BackendOptions):
        strength: float = option(0.5, ge=0.0, le=1.0, help="How strongly the photo is tinted.")

:func:`option` adds what pydantic does not know: a label for the form, the CLI flag if it is not
``--field-name``, whether the field is *how* to compute (left out of cache fingerprints), and
whether the form shows it under "advanced". :meth:`BackendOptions.describe` turns the model
into :class:`OptionField` rows (kind, range, choices, default, help) that the GUI and the CLI
read; neither knows any backend's fields.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from studio.core.errors import StudioError


def option(default: Any, *, help: str, label: str | None = None, flag: str | None = None, how: bool = False,
           advanced: bool = False, live_photo_only: bool = False, requires: str = "", **constraints: Any) -> Any:
    """A pydantic ``Field`` with the studio's extras.

    help: one or two sentences (what it does, what it costs in time and memory).
    label: the form's label (default: the field name in words).
    flag: the CLI flag without dashes (default: the field name with ``-``).
    how: the field says *how* to compute, not *what* (not in the cache fingerprint).
    advanced: shown in the form's "How to compute" box.
    live_photo_only: it matters only for a live photo (the form enables it only then).
    requires: the name of a bool option this one matters only with (the form enables it only
    while that one is on; the CLI's help says so).
    constraints: pydantic's ``ge``, ``le``, ``lt``, ``gt``, ``max_length``, ``multiple_of`` ...
    """
    extra = {"label": label, "flag": flag, "how": how, "advanced": advanced or how, "live_photo_only": live_photo_only,
             "requires": requires}
    return Field(default, description=help, json_schema_extra=extra, **constraints)


@dataclass(frozen=True)
class OptionField:
    """One option as the form and the CLI see it.

    kind: ``bool``, ``int``, ``float``, ``str`` or ``choice``.
    """

    name: str
    kind: str
    default: Any
    label: str
    help: str
    flag: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    how: bool = False
    advanced: bool = False
    max_length: int | None = None
    live_photo_only: bool = False
    requires: str = ""


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    origin = get_origin(annotation)
    if origin is Literal:
        return "choice", tuple(str(a) for a in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _kind(args[0])
    for kind in (bool, int, float, str):
        if annotation is kind:
            return kind.__name__, ()
    raise TypeError(f"option type {annotation!r} has no form widget (use bool, int, float, str or a Literal)")


def _bounds(info: FieldInfo) -> tuple[float | None, float | None, int | None]:
    lo = hi = length = None
    for m in info.metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
        hi = getattr(m, "lt", None) if getattr(m, "lt", None) is not None else hi
        length = getattr(m, "max_length", None) if getattr(m, "max_length", None) is not None else length
    return lo, hi, length


class BackendOptions(BaseModel):
    """Base of a backend's options (frozen; unknown fields are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def describe(cls) -> list[OptionField]:
        """The fields, in declaration order, as :class:`OptionField` rows."""
        out = []
        for name, info in cls.model_fields.items():
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            kind, choices = _kind(info.annotation)
            lo, hi, length = _bounds(info)
            out.append(OptionField(
                name=name, kind=kind, default=info.default,
                label=str(extra.get("label") or name.replace("_", " ").capitalize()),
                help=info.description or "", flag=str(extra.get("flag") or name.replace("_", "-")),
                minimum=lo, maximum=hi, choices=choices, how=bool(extra.get("how")),
                advanced=bool(extra.get("advanced")), max_length=length,
                live_photo_only=bool(extra.get("live_photo_only")), requires=str(extra.get("requires") or ""),
            ))
        names = {f.name: f for f in out}
        for f in out:
            if f.requires and (f.requires not in names or names[f.requires].kind != "bool"):
                raise TypeError(f"{cls.__name__}.{f.name} requires {f.requires!r}, which is not a bool option")
        return out

    @classmethod
    def how_to_compute(cls) -> frozenset[str]:
        """Fields that change how frames are computed, not which (not fingerprinted)."""
        return frozenset(f.name for f in cls.describe() if f.how)

    def uses_face(self) -> bool:
        """Whether these options render with the driving face (for the backends that can; the
        GUI shows face-tracking warnings then). Backends with a face switch override it."""
        return False

    def fingerprint_fields(self) -> dict[str, Any]:
        """The fields that change the rendered pixels (JSON-ready)."""
        return self.model_dump(mode="json", exclude=set(self.how_to_compute()))


def validation_error(exc: ValidationError, what: str, fix: str = "") -> StudioError:
    """A :class:`StudioError` from a pydantic error: the field, the model's message, the value."""
    err = exc.errors()[0]
    loc = ".".join(map(str, err.get("loc", ())))
    got = f" (got {err['input']!r})" if "input" in err and not isinstance(err["input"], dict) else ""
    where = f"{loc}: " if loc else ""
    return StudioError(what, f"{where}{err['msg']}{got}.{' ' + fix if fix else ''}", str(exc))
