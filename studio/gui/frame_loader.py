"""Decodes driving-video frames on a background thread so scrubbing never waits for ffmpeg.

The GUI asks for a frame with :meth:`DrivingFrames.request`; only the newest request is served
(older ones are dropped while the user scrubs). Decoded frames arrive through
:attr:`DrivingFrames.frame_ready` on the GUI thread and are kept in a small LRU.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from studio.core.errors import StudioError

log = logging.getLogger("studio.gui")


class DrivingFrames(QObject):
    """Frames of one driving video, decoded off the GUI thread.

    Signals
    -------
    frame_ready(int, object): frame index and its ``(H, W, 3)`` uint8 pixels.
    failed(object): the video could not be read (a :class:`StudioError`).
    """

    frame_ready = Signal(int, object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None, keep: int = 48) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._path: Path | None = None
        self._wanted: int | None = None
        self._stop = False
        self._keep = keep
        self._lru: OrderedDict[int, np.ndarray] = OrderedDict()
        self._generation = 0
        self._thread = threading.Thread(target=self._loop, name="studio-driving-frames", daemon=True)
        self._thread.start()

    def set_video(self, path: Path | None) -> None:
        """Read frames from ``path`` from now on (``None``: no video)."""
        with self._cond:
            self._path = Path(path) if path is not None else None
            self._wanted = None
            self._generation += 1
            self._lru.clear()
            self._cond.notify()

    def cached(self, i: int) -> np.ndarray | None:
        """Frame ``i`` if it was decoded recently."""
        with self._cond:
            return self._lru.get(i)

    def request(self, i: int) -> np.ndarray | None:
        """Ask for frame ``i``: returns it now when cached, else decodes it in the background."""
        with self._cond:
            if i in self._lru:
                self._lru.move_to_end(i)
                return self._lru[i]
            if self._path is None:
                return None
            self._wanted = int(i)
            self._cond.notify()
        return None

    def close(self) -> None:
        """Stop the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _loop(self) -> None:  # background thread
        from studio.media.video import VideoReader

        reader = None
        reader_gen = -1
        while True:
            with self._cond:
                while not self._stop and self._wanted is None:
                    self._cond.wait()
                if self._stop:
                    break
                i, path, gen = self._wanted, self._path, self._generation
                self._wanted = None
            try:
                if reader is None or reader_gen != gen:
                    if reader is not None:
                        reader.close()
                    reader, reader_gen = VideoReader(path), gen
                frame = reader.read(i)
            except StudioError as err:
                reader = None
                self.failed.emit(err)
                continue
            except Exception as exc:  # noqa: BLE001 - shown to the user, thread keeps running
                log.exception("decoding frame %s of %s failed", i, path)
                reader = None
                self.failed.emit(StudioError("Cannot read the driving video", f"Decoding frame {i} of {path} failed.", repr(exc)))
                continue
            with self._cond:
                if gen != self._generation:
                    continue
                self._lru[i] = frame
                while len(self._lru) > self._keep:
                    self._lru.popitem(last=False)
            self.frame_ready.emit(i, frame)
        if reader is not None:
            reader.close()
