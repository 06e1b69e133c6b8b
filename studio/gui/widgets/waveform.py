"""A strip under the timeline showing the driving video's sound, frame-aligned with the timeline
(playback stays silent; the strip is there to cut on the beat).

The per-frame loudness (:func:`studio.media.audio.frame_envelope`) is decoded on a background
task whenever the driving video changes; the strip is hidden for silent videos and live photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.core.errors import StudioError
from studio.gui.tasks import Task

WAVE_COLOR = QColor(110, 170, 230)
PLAYHEAD = QColor(255, 90, 70)


class WaveformStrip(QWidget):
    """The sound of the driving video under ``timeline`` (a :class:`TimelineWidget`, whose frame
    geometry it shares)."""

    STRIP_H = 28

    def __init__(self, document, timeline, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.timeline = timeline
        self.setObjectName("WaveformStrip")
        self.setFixedHeight(self.STRIP_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The driving video's sound (playback is silent; exports keep the sound)")
        self.envelope: np.ndarray | None = None
        self._source: Path | None = None
        self._task: Task | None = None
        self.setVisible(False)
        document.driving_changed.connect(self.reload)
        document.project_replaced.connect(self.reload)
        document.timeline.current_changed.connect(lambda *_: self.update())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(600, self.STRIP_H)

    # -- loading ---------------------------------------------------------------------------------
    def reload(self) -> None:
        """Decode the loudness of the current driving video (in the background)."""
        video = self.doc.project.driving_video
        video = Path(video) if video is not None and Path(video).is_file() else None
        if video == self._source and (self.envelope is not None or self.is_loading()):
            return
        self._source = video
        self.envelope = None
        self.setVisible(False)
        if self._task is not None and self._task.is_running():
            self._task.cancel()
        if video is None:
            return
        fps = float(self.doc.timeline.fps or 25.0)

        def work(progress, cancel):
            from studio.media.audio import frame_envelope

            try:
                return video, frame_envelope(video, fps=fps)
            except StudioError:
                return video, None  # an undecodable sound track only means no strip

        task = Task(work, "waveform", self)
        task.succeeded.connect(self._loaded)
        self._task = task
        task.start()

    def is_loading(self) -> bool:
        """Whether the envelope is being decoded now."""
        return self._task is not None and self._task.is_running()

    def _loaded(self, result: tuple[Path, np.ndarray | None]) -> None:
        video, env = result
        if video != self._source:
            return  # a newer video replaced it meanwhile
        self.envelope = env
        self.setVisible(env is not None and len(env) > 0)
        self.update()

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, _e: QPaintEvent) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), QColor(30, 32, 38))
            env = self.envelope
            n = self.doc.timeline.frame_count
            if env is None or n == 0:
                return
            env = env[:n]
            mid = self.height() / 2
            amp = (self.height() - 4) / 2
            peak = float(env.max()) or 1.0
            top = [QPointF(self.timeline.x_of(i), mid - amp * v / peak) for i, v in enumerate(env)]
            bottom = [QPointF(pt.x(), 2 * mid - pt.y()) for pt in reversed(top)]
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(WAVE_COLOR)
            p.drawPolygon(QPolygonF(top + bottom))
            x = self.timeline.x_of(self.doc.timeline.current)
            p.setPen(PLAYHEAD)
            p.drawLine(QRectF(x, 0, 0, self.height()).topLeft(), QRectF(x, 0, 0, self.height()).bottomLeft())
        finally:
            p.end()
