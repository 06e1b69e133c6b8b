"""The preview viewer: the rendered frame at the playhead, or driving | pose | result side by
side, with an optional onion skin of the neighbouring rendered frames (before = red tint,
after = green tint, as in Blender's Grease Pencil).

The Pose pane shows what the model sees: the pose ControlNet map of the retargeted pose fitted
to the output canvas (:func:`studio.extract.model_view.model_pose`, the function the renderers
and exports use). Its keypoints can be dragged there; the drop is mapped back onto the driving
track (:func:`studio.extract.model_view.driving_point`) as one undoable edit."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtWidgets import QButtonGroup, QCheckBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from studio.core.frame_cache import FrameState
from studio.gui.widgets.image_view import ImageView
from studio.gui.widgets.pose_overlay import PoseCanvas

POSE_MAPS_KEPT = 32

_STATE_TEXT = {
    FrameState.FINAL: "final",
    FrameState.PREVIEW: "preview (not final)",
    FrameState.STALE: "stale: settings or pose changed since this was rendered",
    FrameState.EMPTY: "not rendered yet",
}


def next_step_hint(document) -> str:
    """What the empty result view tells the user to do next, given what is open."""
    photo = document.reference_rgb is not None
    video = document.timeline.frame_count > 0
    if not photo and not video:
        return "Open a photo and a driving video, then press Render"
    if not photo:
        return "Open a photo of the person to animate (Reference panel)"
    if not video:
        return "Open a driving video (Driving panel)"
    from studio.core import registry

    spec = registry.get_spec(document.settings.backend)
    if spec.weights is None:
        return f"Press Render to animate with {spec.label}"
    quick = next((s.label for s in registry.specs().values() if s.weights is None), None)
    hint = f" (or switch the renderer to {quick} for a quick preview)" if quick else ""
    return f"Press Render to animate with {spec.label}{hint}"


def onion(current: np.ndarray, before: np.ndarray | None, after: np.ndarray | None, amount: float = 0.3) -> np.ndarray:
    """``current`` with tinted ghosts of ``before`` (red) and ``after`` (green) blended in."""
    out = current.astype(np.float32)
    for ghost, tint in ((before, (1.0, 0.45, 0.45)), (after, (0.45, 1.0, 0.45))):
        if ghost is not None and ghost.shape == current.shape:
            out = out * (1 - amount) + ghost.astype(np.float32) * np.asarray(tint, np.float32) * amount
    return np.clip(out, 0, 255).astype(np.uint8)


class PreviewViewer(QWidget):
    """Result view (and side-by-side driving/pose views) of a document at its playhead."""

    def __init__(self, document, driving_frames, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.frames = driving_frames
        self.setObjectName("PreviewViewer")
        self.result = ImageView(next_step_hint(document))
        self.driving = PoseCanvas("Driving video")
        self.driving.set_layers(face=False)
        self.pose_view = PoseCanvas("Pose")
        self.pose_view.handles_only = True
        self.pose_view.editable = True
        self.pose_view.setToolTip("What the model sees: the retargeted pose on the output canvas. "
                                  "Drag a keypoint to correct it (Ctrl+Z undoes).")
        self.status = QLabel()
        self.status.setObjectName("viewerStatus")

        self.btn_result = QToolButton(text="Result")
        self.btn_side = QToolButton(text="Driving | Pose | Result")
        for b in (self.btn_result, self.btn_side):
            b.setCheckable(True)
            b.setAutoRaise(True)
        self.btn_result.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.btn_result)
        group.addButton(self.btn_side)
        self.btn_side.setToolTip("Show the driving frame, its pose map and the result side by side")
        self.onion_box = QCheckBox("Onion skin")
        self.onion_box.setToolTip("Ghost the previous (red) and next (green) rendered frames")
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 6, 2)
        bar.addWidget(self.btn_result)
        bar.addWidget(self.btn_side)
        bar.addSpacing(12)
        bar.addWidget(self.onion_box)
        bar.addStretch(1)
        bar.addWidget(self.status)

        views = QHBoxLayout()
        views.setContentsMargins(0, 0, 0, 0)
        views.setSpacing(2)
        views.addWidget(self.driving, 1)
        views.addWidget(self.pose_view, 1)
        views.addWidget(self.result, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        lay.addLayout(views, 1)

        self.btn_side.toggled.connect(self._apply_mode)
        self.onion_box.toggled.connect(lambda _: self.refresh())
        tl = document.timeline
        tl.current_changed.connect(lambda _: self.refresh())
        document.cache_changed.connect(self._on_cache)
        for sig in (document.keys_changed, document.driving_changed, document.reference_changed,
                    document.project_replaced):
            sig.connect(self._reset)
        document.pose_edited.connect(self._on_pose_edited)
        document.settings_changed.connect(self._reset)
        self.pose_view.keypoint_dragged.connect(self._pose_dragged)
        self._pose_maps: OrderedDict[int, np.ndarray] = OrderedDict()
        self._pose_gen = 0
        driving_frames.frame_ready.connect(self._on_driving_frame)
        self._apply_mode(False)

    def side_by_side(self) -> bool:
        """Whether driving and pose are shown next to the result."""
        return self.btn_side.isChecked()

    def set_side_by_side(self, on: bool) -> None:
        """Switch side-by-side mode."""
        (self.btn_side if on else self.btn_result).setChecked(True)

    def _apply_mode(self, side: bool) -> None:
        self.driving.setVisible(side)
        self.pose_view.setVisible(side)
        self.refresh()

    def _reset(self) -> None:
        self._pose_maps.clear()
        self._pose_gen += 1
        self.refresh()

    def _on_pose_edited(self, start: int, stop: int) -> None:
        # Retargeting uses clip-wide limb lengths, so an edit can move every frame a little.
        self._reset()

    def _pose_dragged(self, frame: int, part: str, index: int, x: float, y: float) -> None:
        """A keypoint dropped on the Pose pane: the same edit on the driving track."""
        from studio.core.errors import StudioError
        from studio.extract.model_view import driving_point
        from studio.gui.errors import hub
        from studio.gui.undo import MoveKeypointCommand

        pose = self.doc.pose
        if pose is None:
            return
        try:
            dx, dy = driving_point(pose, self.doc.model_view(), frame, part, index, (x, y))
        except StudioError as err:
            hub().report(err)
            return
        self.doc.undo_stack.push(MoveKeypointCommand(self.doc, frame, part, index, dx, dy))

    def _on_cache(self, start: int, stop: int) -> None:
        if start <= self.doc.timeline.current < stop or (
            self.onion_box.isChecked() and start - 1 <= self.doc.timeline.current <= stop
        ):
            self.refresh_result()

    def _on_driving_frame(self, i: int, frame: np.ndarray) -> None:
        if i == self.doc.timeline.current and self.side_by_side():
            self.driving.set_image(frame)

    def refresh(self) -> None:
        """Redraw everything for the frame under the playhead."""
        self.refresh_result()
        if self.side_by_side():
            self._refresh_side(self.doc.timeline.current)

    def refresh_result(self) -> None:
        """Redraw the result view and the status line."""
        i = self.doc.timeline.current
        n = self.doc.timeline.frame_count
        frame, state = self.doc.frame_at(i) if n else (None, FrameState.EMPTY)
        key = self.doc.shown_key(i, state) if frame is not None else None
        if frame is not None and self.onion_box.isChecked():
            key = None
            before = self.doc.frame_at(i - 1)[0] if i > 0 else None
            after = self.doc.frame_at(i + 1)[0] if i + 1 < n else None
            frame = onion(frame, before, after)
        self.result.dim = state == FrameState.STALE
        hint = next_step_hint(self.doc)
        if hint != self.result.placeholder:
            self.result.placeholder = hint
            self.result.update()
        self.result.set_image(frame, key)
        self.result.caption = "Result" if self.side_by_side() else ""
        rendering = i in self.doc.inflight and state != FrameState.FINAL
        text = "rendering…" if rendering else _STATE_TEXT[FrameState(int(state))]
        self.status.setText(f"frame {i} / {max(0, n - 1)} · {text}" if n else "")

    def _refresh_side(self, i: int) -> None:
        pose = self.doc.pose
        self.driving.caption = "Driving"
        self.driving.set_pose(pose, self.doc.project.face, i)
        img = self.frames.request(i)
        if img is not None or not self.doc.project.driving_video:
            self.driving.set_image(img)
        shown = self._model_pose()
        s = self.doc.settings
        self.pose_view.caption = "Pose (what the model sees)" if shown is not None else "Pose"
        self.pose_view.set_aspect(s.width, s.height)
        self.pose_view.set_pose(shown, None, i)
        self.pose_view.set_image(self._pose_map(shown, i), ("pose", i, self._pose_gen))

    def _model_pose(self):
        """The document's model-space pose, or ``None`` (with the reason as the pane's caption)."""
        from studio.core.errors import StudioError

        try:
            return self.doc.model_pose()
        except StudioError as err:
            self.pose_view.placeholder = f"{err.title}: {err.description}"
            return None

    def _pose_map(self, shown, i: int) -> np.ndarray | None:
        """The pose ControlNet map of frame ``i`` at the render size, kept for a few frames."""
        if shown is None or not 0 <= i < len(shown):
            return None
        img = self._pose_maps.get(i)
        if img is None:
            from studio.extract.model_view import model_pose_map

            img = model_pose_map(shown, i)
            self._pose_maps[i] = img
            while len(self._pose_maps) > POSE_MAPS_KEPT:
                self._pose_maps.popitem(last=False)
        else:
            self._pose_maps.move_to_end(i)
        return img
