"""Playback transport (Blender / After Effects conventions): Space play/pause, J/K/L shuttle
(repeat J or L to go faster), played at the clip fps from the frame cache.

Every tick moves exactly one frame (:meth:`Timeline.next_playback_frame`), so playback never
skips a frame it has: when the GUI is busy it plays slower rather than dropping frames.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal

MAX_SPEED = 8


class Playback(QObject):
    """Plays a :class:`~studio.core.timeline.Timeline`.

    Signals
    -------
    playing_changed(bool)
    """

    playing_changed = Signal(bool)

    def __init__(self, timeline, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.timeline = timeline
        self.direction = 1
        self.speed = 1
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    @property
    def playing(self) -> bool:
        """Whether playback runs."""
        return self._timer.isActive()

    def play(self, direction: int = 1, speed: int = 1) -> None:
        """Play forward (1) or backward (-1) at ``speed`` times the clip fps."""
        if self.timeline.frame_count == 0:
            return
        self.direction = 1 if direction >= 0 else -1
        self.speed = max(1, min(MAX_SPEED, int(speed)))
        if not self.playing and self.timeline.next_playback_frame(self.direction) is None:
            # at the end of a non-looping range: start again from the other end
            tl = self.timeline
            tl.set_current(tl.in_point if self.direction > 0 else tl.out_point)
        self._timer.setInterval(max(1, int(round(1000.0 / (self.timeline.fps * self.speed)))))
        if not self.playing:
            self._timer.start()
            self.playing_changed.emit(True)

    def stop(self) -> None:
        """Stop (K)."""
        if self.playing:
            self._timer.stop()
            self.speed = 1
            self.playing_changed.emit(False)

    def toggle(self) -> None:
        """Space: play forward / stop."""
        if self.playing:
            self.stop()
        else:
            self.play(1)

    def shuttle(self, direction: int) -> None:
        """J (-1) or L (+1): play that way; pressing again doubles the speed."""
        if self.playing and self.direction == direction:
            self.play(direction, self.speed * 2)
        else:
            self.play(direction, 1)

    def _tick(self) -> None:
        nxt = self.timeline.next_playback_frame(self.direction)
        if nxt is None:
            self.stop()
        else:
            self.timeline.set_current(nxt)
