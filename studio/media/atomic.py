"""All-or-nothing output: write to a hidden temporary next to the target, rename on success.

A cancelled or failed export leaves nothing at the target and never replaces an existing
target before the new one is complete. Operating-system errors (full disk, read-only
folder, missing permissions) become :class:`StudioError` messages a person can act on.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.files import describe_os_error

#: Files an existing PNG-sequence folder may hold for it to be replaced by a new sequence.
SEQUENCE_FILE = re.compile(r"frame_\d+\.png")


def _temp_name(target: Path) -> Path:
    token = secrets.token_hex(4)
    return target.with_name(f".{target.stem}.partial-{token}{target.suffix}")


def _check_replaceable(target: Path, directory: bool) -> None:
    if not target.exists():
        return
    if directory and not target.is_dir():
        raise StudioError(
            f"Cannot write the frames to {target.name}",
            f"{target} is a file, but a PNG sequence needs a folder. Choose a folder name.",
        )
    if not directory and target.is_dir():
        raise StudioError(
            f"Cannot write {target.name}",
            f"{target} is a folder. Choose a file name such as {target.name}.mp4.",
        )
    if directory:
        strangers = [p.name for p in target.iterdir() if not SEQUENCE_FILE.fullmatch(p.name)]
        if strangers:
            raise StudioError(
                f"Cannot replace the folder {target.name}",
                f"{target} already holds files that are not frames of a PNG sequence "
                f"(e.g. {strangers[0]}). Choose an empty or new folder so nothing of yours is deleted.",
            )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _commit(tmp: Path, target: Path, directory: bool) -> None:
    if not directory:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the data is on disk before the name points at it
        finally:
            os.close(fd)
        os.replace(tmp, target)  # atomic on one filesystem; replaces an existing file
        return
    if not target.exists():
        os.rename(tmp, target)
        return
    old = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except OSError:
        os.rename(old, target)  # put the previous sequence back
        raise
    _remove(old)


@contextmanager
def atomic_target(target: str | Path, directory: bool = False) -> Iterator[Path]:
    """Yield a hidden temporary path next to ``target``; move it into place on success.

    With ``directory=True`` the temporary is an (already created) folder. On any exception
    (including :class:`~studio.core.errors.RenderCancelled`) the temporary is deleted and the
    target is left untouched; ``OSError`` is re-raised as :class:`StudioError`.
    """
    target = Path(target)
    _check_replaceable(target, directory)
    tmp = _temp_name(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if directory:
            tmp.mkdir()
        else:
            tmp.touch(exist_ok=False)
    except OSError as err:
        raise describe_os_error(err, target) from err
    try:
        yield tmp
        _commit(tmp, target, directory)
    except OSError as err:
        _remove(tmp)
        raise describe_os_error(err, target) from err
    except BaseException:
        _remove(tmp)
        raise
