"""The timeline model: clip length, playhead, in/out points and looping (no Qt).

The Qt widget in :mod:`studio.gui.widgets.timeline` only observes these signals and calls these
methods; all transport logic lives here so it is tested without a window.
"""

from __future__ import annotations

from psygnal import Signal


class Timeline:
    """Playhead and range of a clip of ``frame_count`` frames at ``fps``.

    Signals
    -------
    current_changed(int): the playhead moved.
    range_changed(int, int): the in or out point changed (inclusive frame indices).
    frame_count_changed(int): a clip of another length was loaded.
    loop_changed(bool): looping was switched.
    """

    current_changed = Signal(int)
    range_changed = Signal(int, int)
    frame_count_changed = Signal(int)
    loop_changed = Signal(bool)

    def __init__(self, frame_count: int = 0, fps: float = 25.0) -> None:
        self._frame_count = max(0, int(frame_count))
        self.fps = float(fps)
        self._current = 0
        self._in = 0
        self._out = max(0, self._frame_count - 1)
        self._loop = True

    # -- properties -------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        """Number of frames in the clip."""
        return self._frame_count

    @property
    def current(self) -> int:
        """The frame under the playhead."""
        return self._current

    @property
    def in_point(self) -> int:
        """First frame of the working range (inclusive)."""
        return self._in

    @property
    def out_point(self) -> int:
        """Last frame of the working range (inclusive)."""
        return self._out

    @property
    def loop(self) -> bool:
        """Whether playback wraps from the out point to the in point."""
        return self._loop

    # -- mutation ---------------------------------------------------------------------------
    def set_frame_count(self, n: int, fps: float | None = None) -> None:
        """Load a clip of ``n`` frames: resets the range to the whole clip and clamps the playhead."""
        self._frame_count = max(0, int(n))
        if fps is not None:
            self.fps = float(fps)
        self._in, self._out = 0, max(0, self._frame_count - 1)
        self.frame_count_changed.emit(self._frame_count)
        self.range_changed.emit(self._in, self._out)
        self.set_current(self._current)

    def _clamp(self, i: int) -> int:
        return min(max(int(i), 0), max(0, self._frame_count - 1))

    def set_current(self, i: int) -> None:
        """Move the playhead to ``i`` (clamped to the clip)."""
        i = self._clamp(i)
        if i != self._current:
            self._current = i
            self.current_changed.emit(i)

    def step(self, delta: int) -> None:
        """Move by ``delta`` frames, clamped to the clip (no wrapping: that is for playback)."""
        self.set_current(self._current + delta)

    def go_start(self) -> None:
        """Playhead to the in point (or the first frame when already there)."""
        self.set_current(0 if self._current == self._in else self._in)

    def go_end(self) -> None:
        """Playhead to the out point (or the last frame when already there)."""
        last = max(0, self._frame_count - 1)
        self.set_current(last if self._current == self._out else self._out)

    def set_in(self, i: int | None = None) -> None:
        """Set the in point (default: the playhead); pushes the out point along if needed."""
        i = self._clamp(self._current if i is None else i)
        self._in = i
        self._out = max(self._out, i)
        self.range_changed.emit(self._in, self._out)

    def set_out(self, i: int | None = None) -> None:
        """Set the out point (default: the playhead); pulls the in point along if needed."""
        i = self._clamp(self._current if i is None else i)
        self._out = i
        self._in = min(self._in, i)
        self.range_changed.emit(self._in, self._out)

    def clear_range(self) -> None:
        """Make the working range the whole clip."""
        self._in, self._out = 0, max(0, self._frame_count - 1)
        self.range_changed.emit(self._in, self._out)

    def set_loop(self, on: bool) -> None:
        """Switch looping."""
        if bool(on) != self._loop:
            self._loop = bool(on)
            self.loop_changed.emit(self._loop)

    def next_playback_frame(self, direction: int = 1) -> int | None:
        """The frame playback shows next, moving ``direction`` (+1 forward, -1 back) inside the
        in/out range; wraps when looping, ``None`` when playback should stop."""
        if self._frame_count == 0:
            return None
        nxt = self._current + (1 if direction >= 0 else -1)
        if self._in <= nxt <= self._out:
            return nxt
        if not self._loop:
            return None
        return self._in if direction >= 0 else self._out

    def range_frames(self) -> range:
        """The frames of the working range."""
        return range(self._in, self._out + 1) if self._frame_count else range(0)
