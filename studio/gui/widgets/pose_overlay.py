"""An image with its pose drawn on top: body (OpenPose-18), hands, face box, each toggleable;
a warning strip on frames where no person was found; optional dragging of keypoints.

With :attr:`PoseCanvas.handles_only` the skeleton itself is not painted (the image already is the
pose map, as on the Pose pane); small rings mark the body joints that can be dragged (hand points
light up under the mouse), and the point being dragged is drawn with its bones.

Dragging does not change the track: on release the widget emits :attr:`PoseCanvas.keypoint_dragged`
and the owner pushes an undoable command (see :mod:`studio.gui.undo`).
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

from studio.core.backend import PhotoNote
from studio.core.tracks import FLAG_EDITED, FLAG_NO_PERSON, FaceTrack, PoseTrack
from studio.extract.pose_map import BODY_LIMBS, HAND_BONES, HEAD_POINTS, OPENPOSE_COLORS
from studio.gui.widgets.image_view import ImageView
from studio.gui.widgets.photo_marks import paint_note

_LIMB_PENS = [QPen(QColor(*c, 220), 3, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap) for c in OPENPOSE_COLORS]
_POINT_COLORS = [QColor(*c) for c in OPENPOSE_COLORS]
_HAND_PEN = QPen(QColor(120, 220, 255, 220), 1.5)
_HAND_DOT = QColor(40, 90, 255)
_HAND_DOT_PEN = QPen(_HAND_DOT, 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
_DOT_PEN = QPen(QColor(0, 0, 0, 160), 1)
_HILITE_PEN = QPen(QColor(255, 255, 255), 2)
_RING_PEN = QPen(QColor(255, 255, 255, 150), 1)

#: A keypoint: ("body", i) or ("hand", side * 21 + i).
Part = tuple[str, int]
PICK_RADIUS = 10.0


class PoseCanvas(ImageView):
    """Image + pose of one frame.

    Signals
    -------
    keypoint_dragged(int, str, int, float, float): frame, part ("body"/"hand"), index, new
        normalised x and y (emitted on mouse release).
    """

    keypoint_dragged = Signal(int, str, int, float, float)

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(placeholder, parent)
        self.pose: PoseTrack | None = None
        self.face: FaceTrack | None = None
        self.frame = 0
        self.show_body = True
        self.show_hands = True
        self.show_face = True
        self.editable = False
        self.handles_only = False
        self.note = ""  # shown in a strip at the bottom when no warning is (e.g. the S-Face note)
        #: What the renderer sees in the photo (a PhotoNote in image pixels: e.g. the face it keeps).
        self.marks: PhotoNote | None = None
        self._drag: Part | None = None
        self._drag_pos: tuple[float, float] | None = None
        self._hover: Part | None = None
        self.setMouseTracking(True)

    def set_pose(self, pose: PoseTrack | None, face: FaceTrack | None, frame: int) -> None:
        """Draw ``pose``/``face`` at ``frame``."""
        self.pose, self.face, self.frame = pose, face, int(frame)
        if pose is not None and not self.has_image():
            self.set_aspect(pose.width, pose.height)
        self.update()

    def set_layers(self, body: bool | None = None, hands: bool | None = None, face: bool | None = None) -> None:
        """Switch the body, hands and face-box layers."""
        if body is not None:
            self.show_body = body
        if hands is not None:
            self.show_hands = hands
        if face is not None:
            self.show_face = face
        self.update()

    def has_overlay(self) -> bool:  # noqa: D102
        return self._valid_frame()

    # -- data access ------------------------------------------------------------------------------
    def _valid_frame(self) -> bool:
        return self.pose is not None and 0 <= self.frame < len(self.pose)

    def _points(self) -> list[tuple[Part, float, float]]:
        """Visible, editable keypoints of the current frame in normalised coordinates."""
        if not self._valid_frame():
            return []
        pose, f = self.pose, self.frame
        out: list[tuple[Part, float, float]] = []
        if self.show_body:
            for i, (x, y) in enumerate(pose.body[f]):
                if np.isfinite(x) and np.isfinite(y) and pose.body_conf[f, i] > 0:
                    out.append((("body", i), float(x), float(y)))
        if self.show_hands:
            for s in range(2):
                for i, (x, y) in enumerate(pose.hands[f, s]):
                    if np.isfinite(x) and np.isfinite(y) and pose.hands_conf[f, s, i] > 0:
                        out.append((("hand", s * 21 + i), float(x), float(y)))
        return out

    def _xy(self, part: Part) -> tuple[float, float] | None:
        if self._drag == part and self._drag_pos is not None:
            return self._drag_pos
        pose, f = self.pose, self.frame
        kind, i = part
        if kind == "body":
            x, y = pose.body[f, i]
            ok = pose.body_conf[f, i] > 0
        else:
            x, y = pose.hands[f, i // 21, i % 21]
            ok = pose.hands_conf[f, i // 21, i % 21] > 0
        return (float(x), float(y)) if ok and np.isfinite(x) and np.isfinite(y) else None

    def pick(self, pos: QPointF) -> Part | None:
        """The keypoint within :data:`PICK_RADIUS` pixels of widget position ``pos``."""
        best, best_d = None, PICK_RADIUS
        for part, x, y in self._points():
            q = self.to_widget(x, y)
            d = math.hypot(q.x() - pos.x(), q.y() - pos.y())
            if d <= best_d:
                best, best_d = part, d
        return best

    # -- input ----------------------------------------------------------------------------------------
    def mousePressEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self.editable and e.button() == Qt.MouseButton.LeftButton:
            self._drag = self.pick(e.position())
            if self._drag is not None:
                self._drag_pos = self._xy(self._drag)
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
                return
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None:
            x, y = self.to_image(e.position())
            self._drag_pos = (min(max(x, -0.5), 1.5), min(max(y, -0.5), 1.5))
            self.update()
            return
        if self.editable:
            hover = self.pick(e.position())
            if hover != self._hover:
                self._hover = hover
                self.setCursor(Qt.CursorShape.OpenHandCursor if hover else Qt.CursorShape.ArrowCursor)
                self.update()

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:  # noqa: N802
        if self._drag is not None and e.button() == Qt.MouseButton.LeftButton:
            part, pos = self._drag, self._drag_pos
            self._drag, self._drag_pos = None, None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
            start = self._xy(part)
            if pos is not None and start is not None and (abs(pos[0] - start[0]) > 1e-4 or abs(pos[1] - start[1]) > 1e-4):
                self.keypoint_dragged.emit(self.frame, part[0], part[1], pos[0], pos[1])
            self.update()
            return
        super().mouseReleaseEvent(e)

    # -- painting -------------------------------------------------------------------------------------
    def _widget_points(self, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Widget coordinates ``(K, 2)`` and visibility ``(K,)`` of the body (18) or hands (42)
        points of the current frame, with the point being dragged at its drag position."""
        pose, f = self.pose, self.frame
        if kind == "body":
            xy, ok = pose.body[f].astype(np.float64), pose.body_conf[f] > 0
        else:
            xy, ok = pose.hands[f].reshape(-1, 2).astype(np.float64), pose.hands_conf[f].reshape(-1) > 0
        if self._drag is not None and self._drag[0] == kind and self._drag_pos is not None:
            xy[self._drag[1]] = self._drag_pos
        ok = ok & np.all(np.isfinite(xy), axis=1)
        r = self.image_rect()
        w = np.empty_like(xy)
        w[:, 0] = r.left() + xy[:, 0] * r.width()
        w[:, 1] = r.top() + xy[:, 1] * r.height()
        return w, ok

    def _paint_handles(self, p: QPainter) -> None:
        """Rings on the draggable keypoints; the dragged point with its bones at the drag place."""
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(_RING_PEN)
        # rings on the body joints the map draws; hand points light up on hover instead
        for part, x, y in self._points():
            if part != self._drag and part[0] == "body" and part[1] not in HEAD_POINTS:
                p.drawEllipse(self.to_widget(x, y), 3.5, 3.5)
        if self._drag is None:
            if self._hover is not None and (xy := self._xy(self._hover)) is not None:
                self._dot(p, self._hover, np.array([self.to_widget(*xy).x(), self.to_widget(*xy).y()]),
                          QColor(255, 255, 255, 90), 3.0)
            return
        kind, k = self._drag
        pts, ok = self._widget_points(kind)
        bones = BODY_LIMBS if kind == "body" else [(s * 21 + a, s * 21 + b) for s in range(2) for a, b in HAND_BONES]
        p.setPen(_HILITE_PEN)
        for a, b in bones:
            if k in (a, b) and ok[a] and ok[b]:
                p.drawLine(QPointF(*pts[a]), QPointF(*pts[b]))
        if ok[k]:
            self._dot(p, self._drag, pts[k], _HAND_DOT if kind == "hand" else _POINT_COLORS[k], 4.0)

    def set_marks(self, note: PhotoNote | None) -> None:
        """Draw ``note``'s boxes, points and label over the image (``None``: none)."""
        self.marks = note
        self.update()

    def paint_overlay(self, p: QPainter, r: QRectF) -> None:
        self._paint_pose(p, r)
        if self.has_image():  # the renderer's marks on top
            paint_note(p, self.marks, self._aspect, self.to_widget)

    def _paint_pose(self, p: QPainter, r: QRectF) -> None:
        if not self._valid_frame():
            return
        pose, f = self.pose, self.frame
        if self.handles_only:
            if self.editable:
                self._paint_handles(p)
            self._flag_strip(p, r, int(pose.flags[f]), f)
            return
        if self.show_face and self.face is not None and 0 <= f < len(self.face):
            box = self.face.box[f]
            if np.all(np.isfinite(box)) and self.face.conf[f] > 0:
                a, b = self.to_widget(box[0], box[1]), self.to_widget(box[2], box[3])
                p.setPen(QPen(QColor(255, 255, 255, 200), 1.5, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(QRectF(a, b))
        if self.show_body:
            pts, ok = self._widget_points("body")
            for li, (a, b) in enumerate(BODY_LIMBS):
                if ok[a] and ok[b]:
                    p.setPen(_LIMB_PENS[li])
                    p.drawLine(QPointF(*pts[a]), QPointF(*pts[b]))
            for i in np.flatnonzero(ok):
                self._dot(p, ("body", int(i)), pts[i], _POINT_COLORS[i], 4.0)
        if self.show_hands:
            pts, ok = self._widget_points("hand")
            lines = [QLineF(*pts[s * 21 + a], *pts[s * 21 + b]) for s in range(2) for a, b in HAND_BONES
                     if ok[s * 21 + a] and ok[s * 21 + b]]
            if lines:
                p.setPen(_HAND_PEN)
                p.drawLines(lines)
            idx = np.flatnonzero(ok)
            if len(idx):
                p.setPen(_HAND_DOT_PEN)
                p.drawPoints([QPointF(*pts[i]) for i in idx])
            for part in (self._hover, self._drag):
                if part is not None and part[0] == "hand" and ok[part[1]]:
                    self._dot(p, part, pts[part[1]], _HAND_DOT, 2.5)
        self._flag_strip(p, r, int(pose.flags[f]), f)

    def _flag_strip(self, p: QPainter, r: QRectF, flags: int, f: int) -> None:
        if flags & FLAG_NO_PERSON:
            self._strip(p, r, QColor(200, 50, 40, 230), f"No person found on frame {f}")
        elif flags & FLAG_EDITED:
            self._strip(p, r, QColor(60, 110, 200, 200), f"Frame {f} edited by hand")
        elif self.note:
            self._strip(p, r, QColor(150, 100, 20, 220), self.note)

    def _dot(self, p: QPainter, part: Part, xy: np.ndarray, color: QColor, radius: float) -> None:
        if part == self._hover or part == self._drag:
            radius += 3
            p.setPen(_HILITE_PEN)
        else:
            p.setPen(_DOT_PEN)
        p.setBrush(color)
        p.drawEllipse(QPointF(xy[0], xy[1]), radius, radius)

    @staticmethod
    def strip_height(fm, width: float, text: str) -> float:
        """Height of a warning strip of ``width`` holding ``text`` word-wrapped (at most the
        whole image: a very narrow pane cuts the text rather than drawing outside the image)."""
        inner = QRect(0, 0, max(1, int(width) - 8), 100_000)
        flags = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)
        return max(18.0, fm.boundingRect(inner, flags, text).height() + 6.0)

    @staticmethod
    def _strip(p: QPainter, r: QRectF, color: QColor, text: str) -> None:
        h = min(r.height(), PoseCanvas.strip_height(p.fontMetrics(), r.width(), text))
        strip = QRectF(r.left(), r.bottom() - h, r.width(), h)
        p.fillRect(strip, color)
        p.setPen(QColor(255, 255, 255))
        p.drawText(strip.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
