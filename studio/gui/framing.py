"""Framing on the Pose pane: drag to move the photo on the output canvas, scroll to scale it;
with Shift held, drag and scroll move and scale the driving video's crop instead (the skeleton the
model sees moves with it).

While the tool is active the Pose pane shows the photo as it is placed on the canvas, dimmed under
the skeleton the model sees (which follows live: retargeting takes the limb lengths of the person
as placed). Each change is a render-settings edit; the edits of one drag or one run of scrolling
merge into one undo step (:class:`studio.gui.undo.SettingsCommand`). Keypoint editing on the pane
is off meanwhile.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal

from studio.core.errors import StudioError
from studio.gui.errors import hub

#: Photo scale change per wheel notch.
SCALE_STEP = 1.05
#: How strongly the photo shows under the skeleton while framing.
PHOTO_OPACITY = 0.5


def framed_preview(photo_on_canvas: np.ndarray, pose_map: np.ndarray | None) -> np.ndarray:
    """The placed photo dimmed, with the pose map's skeleton drawn over it."""
    out = photo_on_canvas.astype(np.float32) * PHOTO_OPACITY
    if pose_map is not None and pose_map.shape == photo_on_canvas.shape:
        lit = pose_map.max(axis=2, keepdims=True) > 0
        out = np.where(lit, pose_map.astype(np.float32), out)
    return np.clip(out, 0, 255).astype(np.uint8)


def _target(modifiers) -> str:
    """What a drag or scroll frames: the video with Shift held, else the photo."""
    return "video" if modifiers & Qt.KeyboardModifier.ShiftModifier else "photo"


class FramingTool(QObject):
    """Drag/scroll framing on ``viewer``'s Pose pane for ``document``.

    Signals
    -------
    active_changed(bool): the tool was switched on or off.
    """

    active_changed = Signal(bool)

    def __init__(self, document, viewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.viewer = viewer
        self.pane = viewer.pose_view
        self.active = False
        self._press: QPointF | None = None
        self._start_offset = (0.0, 0.0)
        self._what = "photo"
        self.pane.installEventFilter(self)
        for sig in (document.settings_changed, document.reference_changed, document.driving_changed,
                    document.pose_edited, document.keys_changed, document.cache_changed,
                    document.timeline.current_changed):
            sig.connect(lambda *_: self._overlay())

    def set_active(self, on: bool) -> None:
        """Switch framing on (the Pose pane shows the placed photo; drags move it) or off."""
        on = bool(on)
        if on == self.active:
            return
        self.active = on
        if on and not self.viewer.side_by_side():
            self.viewer.set_side_by_side(True)  # the Pose pane is shown side by side
        self.pane.setCursor(Qt.CursorShape.SizeAllCursor if on else Qt.CursorShape.ArrowCursor)
        self.pane.setToolTip("Drag to move the photo on the canvas, scroll to scale it; with Shift, the "
                             "driving video instead (Ctrl+Z undoes)" if on
                             else "What the model sees: the retargeted pose on the output canvas. "
                                  "Drag a keypoint to correct it (Ctrl+Z undoes).")
        self.active_changed.emit(on)
        if on:
            self._overlay()
        else:
            self.viewer.refresh()

    # -- editing ---------------------------------------------------------------------------------
    def move_by(self, dx: float, dy: float, start: tuple[float, float] | None = None, what: str = "photo") -> None:
        """Set the offset of ``what`` (``photo`` or ``video``) to ``start`` (default: its current
        offset) plus ``(dx, dy)`` canvas fractions, clamped to the canvas."""
        key = f"{what}_offset"
        x0, y0 = start if start is not None else getattr(self.doc.settings, key)
        new = (round(min(1.0, max(-1.0, x0 + dx)), 4), round(min(1.0, max(-1.0, y0 + dy)), 4))
        self._set(**{key: new})

    def scale_by(self, factor: float, what: str = "photo") -> None:
        """Multiply the scale of ``what`` (``photo`` or ``video``) by ``factor`` (kept within 0.25..4)."""
        key = f"{what}_scale"
        new = round(min(4.0, max(0.25, getattr(self.doc.settings, key) * factor)), 4)
        self._set(**{key: new})

    def _set(self, **changes) -> None:
        try:
            self.doc.update_settings(**changes)
        except StudioError as err:
            hub().report(err)

    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is not self.pane or not self.active:
            return False
        kind = e.type()
        if kind == QEvent.Type.MouseButtonPress and e.button() == Qt.MouseButton.LeftButton:
            self._press = e.position()
            self._what = _target(e.modifiers())
            self._start_offset = tuple(getattr(self.doc.settings, f"{self._what}_offset"))
            return True
        if kind == QEvent.Type.MouseMove and self._press is not None:
            (x0, y0), (x1, y1) = self.pane.to_image(self._press), self.pane.to_image(e.position())
            self.move_by(x1 - x0, y1 - y0, self._start_offset, self._what)
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._press is not None:
            self._press = None
            return True
        if kind == QEvent.Type.Wheel:
            steps = e.angleDelta().y() / 120.0
            if steps:
                self.scale_by(SCALE_STEP ** steps, _target(e.modifiers()))
            return True
        return False

    # -- showing ---------------------------------------------------------------------------------
    def photo_on_canvas(self) -> np.ndarray | None:
        """The reference photo as the current framing places it on the render canvas."""
        rgb = self.doc.reference_rgb
        if rgb is None:
            return None
        from studio.extract.model_view import photo_fit

        return photo_fit(rgb.shape[1], rgb.shape[0], self.doc.model_view()).apply(rgb)

    def _overlay(self) -> None:
        if not self.active or not self.viewer.side_by_side():
            return
        photo = self.photo_on_canvas()
        if photo is None:
            return
        i = self.doc.timeline.current
        shown = self.viewer._model_pose()  # noqa: SLF001 - the pane's own model pose
        pose_map = self.viewer._pose_map(shown, i)  # noqa: SLF001
        s = self.doc.settings
        self.pane.set_image(framed_preview(photo, pose_map),
                            ("framing", i, tuple(s.photo_offset), s.photo_scale, s.video_fit,
                             tuple(s.video_offset), s.video_scale, s.width, s.height,
                             self.viewer._pose_gen))  # noqa: SLF001
