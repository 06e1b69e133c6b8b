"""The render folder: finished frames as a PNG sequence plus a manifest, so a cancelled or crashed
render resumes from disk and a different job never reuses stale frames.

Layout of ``job.output_dir``::

    manifest.json            {"job": <job fingerprint>, "frames": {"<driving index>": <cache key>},
                              "stale": [<driving index>, ...], ...}
    frame_000012.png         the final frame for driving frame 12 (RGB)
    latents_<fp>_w003.npy    the X-Dyna stream schedule's final latents of window 3 of job <fp>

A PNG counts as finished only when the manifest lists it under the key the current job gives that
frame (see :func:`studio.core.render.cache_key`): per-frame keys for backends whose frames are
independent (editing one pose frame re-renders one frame), the job fingerprint otherwise. Every
file is written to a temporary name and renamed, so a crash never leaves a half-written frame.

The folder is shared by every render of a project (the GUI's and the CLI's, any frame range), so
no frame is ever deleted: a render replaces only the frames of its own job, by overwriting them.
Frames of other ranges keep their manifest entry and are reused when a job with the same key asks
for them again; frames of the job on disk under another key (settings or pose changed, or a render
from scratch) are listed under ``"stale"`` until the job overwrites them.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from studio.core.errors import StudioError
from studio.core.files import atomic_write_bytes, describe_os_error, read_png

#: Title of every error writing the render folder.
WRITE_ERROR = "Cannot write the render folder"

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
_FRAME_RE = re.compile(r"^frame_(\d{6,})\.png$")
_LATENTS_RE = re.compile(r"^latents_([0-9a-f]+)_w(\d{3,})\.npy$")


def frame_filename(index: int) -> str:
    """File name of the PNG for driving frame ``index``."""
    return f"frame_{int(index):06d}.png"


#: The latents slot of a whole clip (a render that denoises every window at every step).
WHOLE_CLIP = 0


def latents_filename(job_fingerprint: str, window: int) -> str:
    """File name of the saved final latents of stream window ``window`` of a job."""
    return f"latents_{job_fingerprint}_w{int(window):03d}.npy"


def save_window_latents(folder: Path, job_fingerprint: str, window: int, latents: np.ndarray) -> Path:
    """Persist the final latents of a finished stream window (float32 ``.npy``, atomic)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / latents_filename(job_fingerprint, window)
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(latents, dtype=np.float32), allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue(), WRITE_ERROR)
    return path


def load_window_latents(folder: Path | None, job_fingerprint: str, window: int) -> np.ndarray | None:
    """The saved final latents of stream window ``window`` of a job, or ``None``."""
    if folder is None:
        return None
    path = Path(folder) / latents_filename(job_fingerprint, window)
    if not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError):  # truncated by a crash: render the window again
        return None


def finished_positions(folder: Path | None, key: str, frames: Sequence[int]) -> set[int]:
    """Output positions ``k`` whose PNG (``frames[k]``) is in ``folder`` and recorded under ``key``
    in its manifest: what a coupled backend (one key for the whole job) may skip on resume."""
    if folder is None:
        return set()
    folder = Path(folder)
    try:
        d = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        recorded = {int(i): str(k) for i, k in d.get("frames", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return set()
    return {
        k for k, i in enumerate(frames)
        if recorded.get(int(i)) == key and (folder / frame_filename(i)).is_file()
    }


class ResumeStore:
    """What a resumable backend reads and writes to pick up a render where it stopped, handed to
    it by :func:`studio.core.render.run_job`: the output positions already final on disk
    (:attr:`done`) and the latents it saved by slot (a stream window, or :data:`WHOLE_CLIP`).
    Without a render folder nothing is done and nothing is kept (:meth:`nothing`)."""

    def __init__(self, folder: Path | None, job_fingerprint: str, done: Iterable[int] = ()) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.job_fingerprint = job_fingerprint
        self.done: frozenset[int] = frozenset(int(k) for k in done)

    @classmethod
    def nothing(cls) -> ResumeStore:
        """A store with nothing to resume and nowhere to save (a render without a folder)."""
        return cls(None, "")

    def load(self, slot: int) -> np.ndarray | None:
        """The latents saved in ``slot``, or ``None``."""
        return load_window_latents(self.folder, self.job_fingerprint, slot)

    def save(self, slot: int, latents: np.ndarray) -> None:
        """Keep ``latents`` in ``slot`` (atomic; nothing without a folder)."""
        if self.folder is not None:
            save_window_latents(self.folder, self.job_fingerprint, slot, latents)


def _encode_png(frame: np.ndarray, path: Path) -> bytes:
    """``(H, W, 3)`` uint8 RGB ``frame`` as PNG bytes (for ``path``, named in errors)."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
    if not ok:
        raise StudioError(WRITE_ERROR, f"PNG encoding failed for {path.name}, a {np.shape(frame)} frame.")
    return buf.tobytes()


def _write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to the disk (``OSError`` passes through)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class RenderStore:
    """One job's PNG sequence in a render folder shared with other jobs.

    Opening the store for a job deletes no frame: a job's frame is reusable when the manifest
    records it under the key the job gives it now, stale when it is on disk under another key (it
    is overwritten when the job renders it); frames the job does not render are left as they are,
    with their manifest entries. Saved latents of other jobs and our own leftover temporary files
    are removed (they are resume aids, not results).

    Parameters
    ----------
    folder: the render folder (created if missing).
    job_fingerprint: :meth:`RenderJob.fingerprint` of the job.
    frames: the job's driving frame indices (``job.frames``).
    keys: the cache key of each output frame (same order as ``frames``).
    info: extra JSON-ready facts stored in the manifest (backend name, size, settings).
    """

    def __init__(
        self,
        folder: Path | str,
        job_fingerprint: str,
        frames: Sequence[int],
        keys: Sequence[str],
        info: dict[str, Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.job_fingerprint = job_fingerprint
        self.frames = tuple(int(i) for i in frames)
        self.keys = tuple(keys)
        if len(self.keys) != len(self.frames):
            raise ValueError("one key per frame")
        self.info = dict(info or {})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StudioError(
                "Cannot create the render folder",
                f"{self.folder} cannot be created. Choose another render folder.",
                repr(exc),
            ) from exc
        if not os.access(self.folder, os.W_OK):
            raise StudioError(
                "Cannot write the render folder",
                f"{self.folder} is not writable. Choose another render folder.",
            )
        self._wanted = dict(zip(self.frames, self.keys))
        self._records: dict[int, str] = {}  # driving index -> key, for every trusted PNG on disk
        self._reconcile()

    # -- manifest -------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        """The manifest file of this folder."""
        return self.folder / MANIFEST

    def _read_manifest(self) -> dict[int, str]:
        try:
            d = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if d.get("version") != MANIFEST_VERSION:
                return {}
            return {int(i): str(k) for i, k in d.get("frames", {}).items()}
        except (OSError, ValueError, TypeError, AttributeError):
            return {}  # missing or broken: nothing on disk is trusted

    def _write_manifest(self) -> None:
        d = {
            "version": MANIFEST_VERSION,
            "app": "xdyna-studio",
            "job": self.job_fingerprint,
            "n_frames": len(self.frames),
            "order": list(self.frames),
            "complete": self.complete,
            **self.info,
            "frames": {str(i): k for i, k in sorted(self._records.items())},
            "stale": self.stale_frames(),
        }
        atomic_write_bytes(self.manifest_path, json.dumps(d, indent=1).encode("utf-8"), WRITE_ERROR)

    def _reconcile(self) -> None:
        recorded = self._read_manifest()
        for p in self.folder.iterdir():
            m = _FRAME_RE.match(p.name)
            if m:
                i = int(m.group(1))
                if i in recorded:
                    self._records[i] = recorded[i]
                continue  # a PNG the manifest does not vouch for is kept, untrusted
            m = _LATENTS_RE.match(p.name)
            if m and m.group(1) != self.job_fingerprint:
                p.unlink(missing_ok=True)
            elif p.name.startswith((".frame_", f".{MANIFEST}.", ".latents_")) and p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)  # our own temporary file, left over from a crash mid-write
        self._write_manifest()

    # -- frames ---------------------------------------------------------------------------------
    def _is_done(self, i: int) -> bool:
        return self._records.get(i) == self._wanted[i]

    @property
    def complete(self) -> bool:
        """Whether every frame of the job is on disk."""
        return all(self._is_done(i) for i in self.frames)

    def done_positions(self) -> list[int]:
        """Output positions ``k`` (into ``frames``) whose final PNG is on disk."""
        return [k for k, i in enumerate(self.frames) if self._is_done(i)]

    def stale_frames(self) -> list[int]:
        """Driving indices of the job with a PNG on disk that is not this job's frame (rendered
        with other settings or pose, or set aside by :meth:`restart`): kept until overwritten."""
        return [i for i in sorted(self._wanted)
                if not self._is_done(i) and (self.folder / frame_filename(i)).is_file()]

    def path(self, position: int) -> Path:
        """The PNG path of output frame ``position``."""
        return self.folder / frame_filename(self.frames[position])

    def read(self, position: int) -> np.ndarray | None:
        """Output frame ``position`` from disk, or ``None`` (and forgotten) if it is unreadable."""
        img = read_png(self.path(position))
        if img is None:
            self._records.pop(self.frames[position], None)
        return img

    def write(self, positions: Sequence[int], frames: np.ndarray) -> None:
        """Write finished output frames ``positions`` and record them in the manifest.

        Every frame PNG on disk stays recorded, whenever the process is killed: the chunk is
        encoded to temporary files first, the PNGs it replaces are removed, the manifest that
        records the new frames is written, and only then are the new PNGs renamed into place (a
        recorded frame whose PNG never arrived is simply rendered again)."""
        staged: list[tuple[int, Path, Path]] = []
        try:
            for k, frame in zip(positions, frames):
                final = self.path(k)
                tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")  # removed by _reconcile
                _write_durably(tmp, _encode_png(frame, final))
                staged.append((k, tmp, final))
            for k, _, final in staged:
                final.unlink(missing_ok=True)
                self._records[self.frames[k]] = self.keys[k]
            self._write_manifest()
            for _, tmp, final in staged:
                os.replace(tmp, final)
        except BaseException as exc:
            for _, tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                where = Path(exc.filename) if exc.filename else self.manifest_path
                raise describe_os_error(exc, where, WRITE_ERROR) from exc
            raise

    def restart(self) -> None:
        """Set up a render from scratch of this job: its finished frames stop counting as finished
        (they stay on disk, listed as stale, until the render overwrites them) and its saved
        latents are removed. Frames recorded under other keys keep their entries; frames outside
        the job are not touched."""
        for i in self.frames:
            if self._is_done(i):
                del self._records[i]
        for p in self.folder.iterdir():
            m = _LATENTS_RE.match(p.name)
            if m and m.group(1) == self.job_fingerprint:
                p.unlink(missing_ok=True)
        self._write_manifest()

    def resume(self) -> ResumeStore:
        """What a resumable backend gets for this job: its finished positions and saved latents."""
        return ResumeStore(self.folder, self.job_fingerprint, self.done_positions())

    def paths(self) -> list[Path]:
        """The PNG paths of all output frames in order (finished or not)."""
        return [self.path(k) for k in range(len(self.frames))]


def remove_render_folder(folder: str | Path) -> bool:
    """Delete the files a render store wrote in ``folder`` (frames, manifest, saved latents and
    leftover temporary files), then the folder if nothing else is in it; any other file is left
    alone. Returns whether the folder is gone. Failures to delete are not errors."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return not folder.exists()
    for p in entries:
        ours = (_FRAME_RE.match(p.name) or _LATENTS_RE.match(p.name) or p.name == MANIFEST
                or (p.name.startswith((".frame_", f".{MANIFEST}.", ".latents_")) and p.name.endswith(".tmp")))
        if ours and p.is_file():
            try:
                p.unlink()
            except OSError:
                pass
    try:
        folder.rmdir()
    except OSError:
        return False
    return True
