"""All-or-nothing file writes and OS errors in words a person can act on.

Every file the studio writes for the user (project files, rendered frames, manifests, cached
frames) goes through :func:`atomic_write_bytes`: the data is written to a hidden temporary file in
the same folder, flushed to disk, and renamed over the target, so a crash, a cancel or a full disk
never leaves a half-written file and never destroys the previous version.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from studio.core.errors import StudioError


def describe_os_error(err: OSError, path: Path, title: str | None = None) -> StudioError:
    """A :class:`StudioError` saying what went wrong writing ``path`` and what to do."""
    path = Path(path)
    title = title or f"Cannot write {path.name}"
    if err.errno == errno.ENOSPC or err.errno == getattr(errno, "EDQUOT", -1):
        return StudioError(
            title,
            f"The disk holding {path.parent} is full. Free some space or write to another drive; "
            "nothing was written at the target.",
            str(err),
        )
    if err.errno == errno.EROFS:
        return StudioError(
            title, f"{path.parent} is on a read-only drive. Choose a folder you can write to.", str(err)
        )
    if err.errno in (errno.EACCES, errno.EPERM):
        return StudioError(
            title,
            f"You do not have permission to write in {path.parent}. Choose another folder "
            "(for example your Videos or Desktop folder).",
            str(err),
        )
    if err.errno == errno.ENAMETOOLONG:
        return StudioError(title, f"The file name {path.name} is too long. Choose a shorter name.", str(err))
    return StudioError(
        title, f"Writing {path} failed: {err.strerror or err}. Check the folder and try again.", str(err)
    )


def atomic_write_bytes(path: Path | str, data: bytes, title: str | None = None) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename; an ``OSError`` becomes a
    :class:`StudioError` (titled ``title``) and the previous file at ``path`` stays as it was."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise describe_os_error(exc, path, title) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise describe_os_error(exc, path, title) from exc


def write_png_atomic(path: Path | str, frame: np.ndarray, title: str | None = None) -> None:
    """Write an ``(H, W, 3)`` uint8 RGB frame as a PNG, atomically."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    if not ok:
        raise StudioError(title or f"Cannot write {Path(path).name}",
                          f"PNG encoding failed for a {frame.shape} frame.")
    atomic_write_bytes(path, buf.tobytes(), title)


def read_png(path: Path | str) -> np.ndarray | None:
    """An RGB PNG as ``(H, W, 3)`` uint8, or ``None`` if it is missing or unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
