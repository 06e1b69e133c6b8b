"""Per-frame pose and face data: numpy arrays with confidences, flags and a fingerprint.

Coordinates are **normalised** to the source frame: ``x / width`` and ``y / height``, so a
track can be drawn at any render size (see :mod:`studio.extract.fit` for the crop). A
missing point is ``NaN`` with confidence 0.

Body layout is OpenPose-18 (the layout the X-Dyna pose ControlNet was trained on)::

    0 nose  1 neck  2 r_shoulder 3 r_elbow 4 r_wrist 5 l_shoulder 6 l_elbow 7 l_wrist
    8 r_hip 9 r_knee 10 r_ankle 11 l_hip 12 l_knee 13 l_ankle 14 r_eye 15 l_eye 16 r_ear 17 l_ear

Hands are two 21-point MediaPipe/OpenPose hands, index 0 = left hand, 1 = right hand.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from studio.core.errors import StudioError

BODY_NAMES: tuple[str, ...] = (
    "nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye", "l_eye", "r_ear", "l_ear",
)
N_BODY = 18
N_HAND = 21

# Per-frame flag bits.
FLAG_NO_PERSON = 1  # nobody detected on this frame
FLAG_MULTIPLE = 2  # more than one person detected (the largest/most consistent one was kept)
FLAG_CUT = 4  # a shot cut starts at this frame
FLAG_INTERPOLATED = 8  # values filled in from neighbouring frames
FLAG_EDITED = 16  # the artist moved a keypoint by hand
# Pose tracks only (their flags are 16-bit; face-track flags use the 8 bits above):
FLAG_LEFT_HAND_FILLED = 256  # the left hand (index 0) was filled in from neighbouring frames
FLAG_RIGHT_HAND_FILLED = 512  # the right hand (index 1) was filled in from neighbouring frames
#: The fill flag of each hand, by hand index.
FLAG_HAND_FILLED: tuple[int, int] = (FLAG_LEFT_HAND_FILLED, FLAG_RIGHT_HAND_FILLED)
FLAG_HELD = 32  # the reference photo's own pose, held (a live photo: no driving video)
FLAG_PENDING = 64  # not extracted yet (range-first extraction fills it in the background)


def _array_to_b64(a: np.ndarray) -> dict[str, Any]:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(a), allow_pickle=False)
    return {"npy": base64.b64encode(buf.getvalue()).decode("ascii")}


def _array_from_b64(d: Any, what: str) -> np.ndarray:
    try:
        raw = base64.b64decode(d["npy"], validate=True)
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - any decoding problem is a broken file
        raise StudioError(
            "Broken track data",
            f"The {what} array in the track could not be decoded. Re-run the extraction "
            "(or restore the project from its autosave).",
            repr(exc),
        ) from exc


def _fingerprint(*arrays: np.ndarray, extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _numbers(kind: str, name: str, value: Any, dtype: Any) -> np.ndarray:
    """``value`` as an array of ``dtype``, or a :class:`StudioError` naming ``name`` when the cast would
    change it: not real numbers (text, objects, complex), a fraction or an out-of-range value for an
    integer ``dtype`` (no wrap-around), a finite value beyond a float ``dtype``'s range (no infinity)."""
    title = f"Invalid {kind} track"
    try:
        src = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise StudioError(title, f"'{name}' does not hold numbers.", repr(exc)) from exc
    if src.dtype.kind not in "biuf":
        raise StudioError(title, f"'{name}' holds {src.dtype} values; it must hold real numbers.")
    target = np.dtype(dtype)
    if src.dtype == target:  # no cast, nothing it could change (and flags pass here twice: post-init, validate)
        return src
    with np.errstate(all="ignore"):
        a = src.astype(target)
        if target.kind in "iu":
            info = np.iinfo(target)
            if not np.array_equal(a.astype(np.float64), src.astype(np.float64)):
                raise StudioError(title, f"'{name}' must hold whole numbers from {info.min} to {info.max}.")
        elif np.any(np.isinf(a) & np.isfinite(src)):
            raise StudioError(title, f"'{name}' holds values beyond the range of {target} (about "
                              f"{np.finfo(target).max:.1e}).")
    return a


class _Track:
    """Shared machinery: validation, slicing by frame, (de)serialisation, fingerprints."""

    kind: ClassVar[str] = ""
    _arrays: ClassVar[dict[str, tuple[tuple[int, ...], Any]]] = {}

    def __len__(self) -> int:
        return int(self.flags.shape[0])  # type: ignore[attr-defined]

    def _validate(self) -> None:
        n = len(self)
        for name, (tail, dtype) in self._arrays.items():
            a = _numbers(self.kind, name, getattr(self, name), dtype)
            if a.shape != (n, *tail):
                raise StudioError(
                    f"Invalid {self.kind} track",
                    f"'{name}' has shape {a.shape}, expected {(n, *tail)}.",
                )
            object.__setattr__(self, name, a)

    def frame_fingerprint(self, i: int) -> str:
        """A short hash of frame ``i``'s data, for per-frame cache keys."""
        return _fingerprint(*(getattr(self, k)[i] for k in self._arrays), extra=self.kind)

    def fingerprint(self) -> str:
        """A short hash of all the track's data; changes when any value changes."""
        return _fingerprint(*(getattr(self, k) for k in self._arrays), extra=self.kind)

    def copy(self):
        """A deep copy (arrays copied)."""
        kw = {k: getattr(self, k).copy() for k in self._arrays}
        return type(self)(**kw, **self._scalars())

    def _scalars(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "fps": self.fps}  # type: ignore[attr-defined]

    def slice(self, start: int, stop: int):
        """Frames ``start..stop-1`` as a new track."""
        kw = {k: getattr(self, k)[start:stop].copy() for k in self._arrays}
        return type(self)(**kw, **self._scalars())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (arrays as base64 .npy, exact round trip)."""
        d: dict[str, Any] = {"kind": self.kind, **self._scalars()}
        d["arrays"] = {k: _array_to_b64(getattr(self, k)) for k in self._arrays}
        return d

    @classmethod
    def from_dict(cls, d: Any):
        """Inverse of :meth:`to_dict`; raises :class:`StudioError` on malformed input."""
        if not isinstance(d, dict) or d.get("kind") != cls.kind or not isinstance(d.get("arrays"), dict):
            raise StudioError(
                f"Invalid {cls.kind} track",
                f"The data is not a {cls.kind} track. Re-run the extraction for this video.",
            )
        redo = "Re-run the extraction for this video."
        try:
            scalars = {"width": int(d["width"]), "height": int(d["height"]), "fps": float(d["fps"])}
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise StudioError(
                f"Invalid {cls.kind} track", f"The track lacks its frame size or fps. {redo}", repr(exc)
            ) from exc
        if scalars["width"] < 1 or scalars["height"] < 1 or not 0 < scalars["fps"] < math.inf:
            raise StudioError(
                f"Invalid {cls.kind} track",
                f"The track's frame size {scalars['width']}x{scalars['height']} or frame rate "
                f"{scalars['fps']:g} is not valid. {redo}",
            )
        arrays = {}
        for k in cls._arrays:
            if k not in d["arrays"]:
                raise StudioError(f"Invalid {cls.kind} track", f"The track has no '{k}' array. {redo}")
            arrays[k] = _array_from_b64(d["arrays"][k], k)
        try:
            return cls(**arrays, **scalars)
        except (TypeError, ValueError, OverflowError) as exc:  # e.g. flags that are not numbers
            raise StudioError(
                f"Invalid {cls.kind} track", f"The track's arrays do not hold numbers. {redo}", repr(exc)
            ) from exc


@dataclass(eq=False)
class PoseTrack(_Track):
    """Body (OpenPose-18) and hands (2 x 21) per frame, normalised coordinates.

    Attributes
    ----------
    body: ``(N, 18, 2)`` float32, ``NaN`` where missing.
    body_conf: ``(N, 18)`` float32 in [0, 1].
    hands: ``(N, 2, 21, 2)`` float32 (0 = left, 1 = right).
    hands_conf: ``(N, 2, 21)`` float32.
    flags: ``(N,)`` uint16 bit mask of ``FLAG_*`` (the hand-fill bits need more than 8).
    width, height: the source frame size the coordinates are normalised to.
    fps: the source frame rate.
    """

    kind: ClassVar[str] = "pose"
    _arrays: ClassVar[dict[str, tuple[tuple[int, ...], Any]]] = {
        "body": ((N_BODY, 2), np.float32),
        "body_conf": ((N_BODY,), np.float32),
        "hands": ((2, N_HAND, 2), np.float32),
        "hands_conf": ((2, N_HAND), np.float32),
        "flags": ((), np.uint16),
    }

    body: np.ndarray
    body_conf: np.ndarray
    hands: np.ndarray
    hands_conf: np.ndarray
    flags: np.ndarray
    width: int = 512
    height: int = 512
    fps: float = 25.0

    def __post_init__(self) -> None:
        self.flags = _numbers(self.kind, "flags", self.flags, np.uint16).reshape(-1)
        self._validate()

    @classmethod
    def empty(cls, n: int, width: int, height: int, fps: float) -> "PoseTrack":
        """A track of ``n`` frames with no person detected anywhere."""
        return cls(
            body=np.full((n, N_BODY, 2), np.nan, np.float32),
            body_conf=np.zeros((n, N_BODY), np.float32),
            hands=np.full((n, 2, N_HAND, 2), np.nan, np.float32),
            hands_conf=np.zeros((n, 2, N_HAND), np.float32),
            flags=np.full(n, FLAG_NO_PERSON, np.uint8),
            width=width,
            height=height,
            fps=fps,
        )

    def has_person(self) -> np.ndarray:
        """``(N,)`` bool: frames where a person was found (or filled in)."""
        return (self.flags & FLAG_NO_PERSON) == 0


@dataclass(eq=False)
class FaceTrack(_Track):
    """Face box and the three S-Face anchor points per frame, normalised coordinates.

    Attributes
    ----------
    box: ``(N, 4)`` float32 ``x0, y0, x1, y1``: the landmark extent (not yet expanded).
    left_eye, right_eye, mouth: ``(N, 2)`` float32 centres (subject's left/right).
    conf: ``(N,)`` float32, 0 where no face was found.
    flags: ``(N,)`` uint8 bit mask of ``FLAG_*``.
    """

    kind: ClassVar[str] = "face"
    _arrays: ClassVar[dict[str, tuple[tuple[int, ...], Any]]] = {
        "box": ((4,), np.float32),
        "left_eye": ((2,), np.float32),
        "right_eye": ((2,), np.float32),
        "mouth": ((2,), np.float32),
        "conf": ((), np.float32),
        "flags": ((), np.uint8),
    }

    box: np.ndarray
    left_eye: np.ndarray
    right_eye: np.ndarray
    mouth: np.ndarray
    conf: np.ndarray
    flags: np.ndarray
    width: int = 512
    height: int = 512
    fps: float = 25.0

    def __post_init__(self) -> None:
        self.flags = _numbers(self.kind, "flags", self.flags, np.uint8).reshape(-1)
        self._validate()

    @classmethod
    def empty(cls, n: int, width: int, height: int, fps: float) -> "FaceTrack":
        """A track of ``n`` frames with no face anywhere."""
        nan2 = np.full((n, 2), np.nan, np.float32)
        return cls(
            box=np.full((n, 4), np.nan, np.float32),
            left_eye=nan2.copy(),
            right_eye=nan2.copy(),
            mouth=nan2.copy(),
            conf=np.zeros(n, np.float32),
            flags=np.full(n, FLAG_NO_PERSON, np.uint8),
            width=width,
            height=height,
            fps=fps,
        )

    def has_face(self) -> np.ndarray:
        """``(N,)`` bool: frames with a face."""
        return (self.conf > 0) & np.all(np.isfinite(self.box), axis=1)
