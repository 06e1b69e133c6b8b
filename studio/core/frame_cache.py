"""Rendered frames keyed by (fingerprint, frame index): a memory LRU with a byte budget that
spills to PNG files on disk, and knows which ranges are valid for the timeline's cache bar.

A *fingerprint* says what a frame was rendered from (see :meth:`RenderJob.fingerprint` and
:meth:`RenderJob.frame_fingerprint`). When settings or tracks change, the caller asks for frames
under the new fingerprint; frames held only under older fingerprints show as *stale*.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from enum import IntEnum
from pathlib import Path

import numpy as np
from psygnal import Signal

from studio.core.files import describe_os_error, read_png, write_png_atomic


class FrameState(IntEnum):
    """What the cache bar shows for one frame."""

    EMPTY = 0
    STALE = 1  # only rendered under another fingerprint (settings changed since)
    PREVIEW = 2  # a per-step or draft preview, not final
    FINAL = 3


def ranges_of(indices: Iterable[int]) -> list[tuple[int, int]]:
    """Collapse frame indices into sorted half-open ``(start, stop)`` ranges."""
    out: list[tuple[int, int]] = []
    for i in sorted(set(int(x) for x in indices)):
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


class FrameCache:
    """Frames in memory up to ``budget_bytes``; older frames spill to ``spill_dir`` as PNG.

    Thread-safe: a render worker may ``put`` while the GUI thread reads.

    Signals
    -------
    changed(int, int): frames in ``[start, stop)`` were added, replaced or removed.
    """

    changed = Signal(int, int)

    def __init__(self, budget_bytes: int = 1 << 30, spill_dir: Path | str | None = None) -> None:
        self.budget_bytes = int(budget_bytes)
        self.spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._mem: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._disk: dict[tuple[str, int], Path] = {}
        self._kind: dict[tuple[str, int], FrameState] = {}
        self._bytes = 0
        self._lock = threading.RLock()

    # -- writing ------------------------------------------------------------------------------
    def put(self, key: str, index: int, frame: np.ndarray, final: bool = True) -> None:
        """Store ``frame`` ((H, W, 3) uint8) for ``(key, index)``; a preview never replaces a
        final frame of the same key."""
        if frame.dtype != np.uint8 or frame.ndim != 3:
            raise ValueError(f"frames are (H, W, 3) uint8, got {frame.dtype} {frame.shape}")
        k = (key, int(index))
        state = FrameState.FINAL if final else FrameState.PREVIEW
        with self._lock:
            if not final and self._kind.get(k) == FrameState.FINAL:
                return
            self._drop(k)
            frame = np.array(frame, copy=True)
            frame.setflags(write=False)
            self._mem[k] = frame
            self._kind[k] = state
            self._bytes += frame.nbytes
            self._evict()
        self.changed.emit(int(index), int(index) + 1)

    def _drop(self, k: tuple[str, int]) -> None:
        a = self._mem.pop(k, None)
        if a is not None:
            self._bytes -= a.nbytes
        p = self._disk.pop(k, None)
        if p is not None:
            p.unlink(missing_ok=True)
        self._kind.pop(k, None)

    def _evict(self) -> None:
        while self._bytes > self.budget_bytes and len(self._mem) > 1:
            k, a = self._mem.popitem(last=False)
            self._bytes -= a.nbytes
            if self.spill_dir is not None and self._kind.get(k) == FrameState.FINAL:
                self._disk[k] = self._spill(k, a)
            else:
                self._kind.pop(k, None)

    def _spill(self, k: tuple[str, int], a: np.ndarray) -> Path:
        assert self.spill_dir is not None
        d = self.spill_dir / k[0]
        p = d / f"{k[1]:06d}.png"
        title = "Cannot write the frame cache"
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe_os_error(exc, d, title) from exc
        write_png_atomic(p, a, title)
        return p

    # -- reading ------------------------------------------------------------------------------
    def get(self, key: str, index: int) -> np.ndarray | None:
        """The frame for ``(key, index)``, or ``None``; a spilled frame is read back from disk."""
        k = (key, int(index))
        with self._lock:
            a = self._mem.get(k)
            if a is not None:
                self._mem.move_to_end(k)
                return a
            p = self._disk.get(k)
        if p is None:
            return None
        img = read_png(p)
        if img is None:  # deleted behind our back: forget it
            with self._lock:
                self._disk.pop(k, None)
                self._kind.pop(k, None)
        return img

    def state(self, key: str, index: int) -> FrameState:
        """Cache-bar state of frame ``index`` when the current fingerprint is ``key``."""
        with self._lock:
            s = self._kind.get((key, int(index)))
            if s is not None:
                return s
            if any(i == index for (_, i) in self._kind):
                return FrameState.STALE
            return FrameState.EMPTY

    def states(self, keys: Sequence[str] | Callable[[int], str], n_frames: int) -> np.ndarray:
        """``(n_frames,)`` :class:`FrameState` codes; ``keys`` gives each frame's current
        fingerprint (one key for all frames, a sequence, or a function of the index)."""
        if isinstance(keys, str):
            one = keys
            keys = lambda i: one  # noqa: E731
        key_of = keys if callable(keys) else keys.__getitem__
        out = np.zeros(n_frames, np.uint8)
        with self._lock:
            for (k, i), s in self._kind.items():
                if 0 <= i < n_frames:
                    if key_of(i) == k:  # at most one entry per (key, index)
                        out[i] = s
                    elif out[i] == FrameState.EMPTY:
                        out[i] = FrameState.STALE
        return out

    def valid_ranges(self, key: str, final_only: bool = True) -> list[tuple[int, int]]:
        """Half-open index ranges held under ``key`` (final frames only by default)."""
        with self._lock:
            idx = [
                i for (k, i), s in self._kind.items()
                if k == key and (s == FrameState.FINAL or not final_only)
            ]
        return ranges_of(idx)

    def invalidate(self, start: int = 0, stop: int | None = None, key: str | None = None) -> None:
        """Remove frames with index in ``[start, stop)`` (all keys, or only ``key``)."""
        with self._lock:
            doomed = [
                k for k in list(self._kind)
                if k[1] >= start and (stop is None or k[1] < stop) and (key is None or k[0] == key)
            ]
            for k in doomed:
                self._drop(k)
        if doomed:
            lo = min(k[1] for k in doomed)
            hi = max(k[1] for k in doomed) + 1
            self.changed.emit(lo, hi)

    def clear(self) -> None:
        """Remove everything (memory and spilled files)."""
        self.invalidate(0, None)

    @property
    def memory_bytes(self) -> int:
        """Bytes of frames held in memory."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._kind)
