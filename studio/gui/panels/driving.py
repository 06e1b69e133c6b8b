"""Driving panel: open or drop the driving video; plays it with the live pose overlay (body,
hands and face box, each toggleable) and a warning strip on frames with no person. Keypoints can
be dragged to fix a bad detection (undoable). Pose extraction runs off the GUI thread with
progress and cancel."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from studio.core import registry
from studio.core.tracks import FLAG_NO_PERSON, FLAG_PENDING
from studio.extract.quality import MISSING, sface_coverage, sface_note
from studio.gui.errors import hub
from studio.gui.extraction import extract_in_helper
from studio.gui.helper_task import Spare, helpers_allowed
from studio.gui.panels.drop import DropTarget
from studio.gui.tasks import Task
from studio.gui.extraction import extract_first_in_helper
from studio.gui.undo import MoveKeypointCommand
from studio.gui.widgets.pose_overlay import PoseCanvas

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi", ".gif")


def extract_tracks(path: Path, progress, cancel):
    """Worker function: the pose and face tracks of the video at ``path`` (disk-cached),
    extracted in a helper process (see :mod:`studio.gui.helper_task`)."""
    from studio.gui.helper_task import run_in_helper

    return run_in_helper(extract_in_helper, (Path(path),), progress, cancel)


def extract_rest_tracks(path: Path, progress, cancel):
    """:func:`extract_tracks` at background priority (the rest of a range-first clip)."""
    from studio.gui.extraction import extract_rest_in_helper
    from studio.gui.helper_task import run_in_helper

    return run_in_helper(extract_rest_in_helper, (Path(path),), progress, cancel)


def extract_first_tracks(path: Path, frame_range, playhead: int, progress, cancel, spare=None):
    """Worker function: range-first extraction of the frames to show first (or the cached whole
    clip) in a helper process (``spare``, a warm :class:`~studio.gui.helper_task.Spare`, when
    usable): ``(path, pose, face, complete)``."""
    from studio.gui.helper_task import run_in_helper

    return run_in_helper(extract_first_in_helper, (Path(path), frame_range, int(playhead)), progress, cancel,
                         spare=spare)


class DrivingPanel(DropTarget):
    """The driving video with its pose, at the playhead."""

    def __init__(self, document, driving_frames, parent: QWidget | None = None, extractor=extract_tracks,
                 first_extractor=None) -> None:
        super().__init__(VIDEO_SUFFIXES, self.open_path, parent)
        self.doc = document
        self.frames = driving_frames
        self.extractor = extractor
        #: Range-first extraction (the frames to show first); ``None`` extracts the whole clip at
        #: once. On by default with the default extractor.
        self.first_extractor = first_extractor if first_extractor is not None else (
            extract_first_tracks if extractor is extract_tracks else None)
        #: A warm extraction helper (MediaPipe loaded) started while the artist picks a clip
        #: (:meth:`warm_up`); the next clip's first frames are extracted in it.
        self.spare: Spare | None = None
        self.setObjectName("DrivingPanel")
        self.canvas = PoseCanvas("Drop a driving video here\nor click Open video…")
        self.canvas.editable = True
        self.canvas.setToolTip("Drag a keypoint to fix a bad detection on this frame (Ctrl+Z undoes)")
        self.open_btn = QPushButton("Open video…")
        self.open_btn.clicked.connect(self.choose)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.quality = QLabel()
        self.quality.setObjectName("extractionSummary")
        self.quality.setWordWrap(True)
        self.quality.setToolTip("Extraction summary: frames with the person, each hand and the face found "
                                "(filled = interpolated from neighbouring frames); the quality strip under "
                                "the timeline shows the same per frame")
        self.sface = QLabel()
        self.sface.setObjectName("sfaceCoverage")
        self.sface.setWordWrap(True)
        self.sface.setToolTip("Frames with a usable face (found, or filled in from neighbouring frames) and "
                              "what X-Dyna's S-Face ControlNet gets on the others")
        self.body_box = QCheckBox("Body")
        self.hands_box = QCheckBox("Hands")
        self.face_box = QCheckBox("Face box")
        for b in (self.body_box, self.hands_box, self.face_box):
            b.setChecked(True)
            b.toggled.connect(self._layers)
        self.spread = QSpinBox()
        self.spread.setRange(0, 30)
        self.spread.setPrefix("±")
        self.spread.setSuffix(" frames")
        self.spread.setToolTip("Apply a keypoint drag to this many neighbouring frames too, fading out")
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.clicked.connect(self.cancel)

        top = QHBoxLayout()
        top.addWidget(self.open_btn)
        top.addWidget(self.info, 1)
        layers = QHBoxLayout()
        for w in (self.body_box, self.hands_box, self.face_box):
            layers.addWidget(w)
        layers.addStretch(1)
        spread = QHBoxLayout()  # a row of its own: one row of both would set the dock's width
        spread.addWidget(QLabel("Edit spreads"))
        spread.addWidget(self.spread)
        spread.addStretch(1)
        prog = QHBoxLayout()
        prog.addWidget(self.progress, 1)
        prog.addWidget(self.cancel_btn)
        self._prog_row = QWidget()
        self._prog_row.setLayout(prog)
        prog.setContentsMargins(0, 0, 0, 0)
        self._prog_row.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.quality)
        lay.addWidget(self.sface)
        lay.addWidget(self._prog_row)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(layers)
        lay.addLayout(spread)

        self.task: Task | None = None
        self.canvas.keypoint_dragged.connect(self._dragged)
        document.timeline.current_changed.connect(self._show)
        document.driving_changed.connect(self._follow_video)
        document.project_replaced.connect(self._resume_pending)
        document.driving_changed.connect(self.refresh)
        document.reference_changed.connect(self._photo_without_clip)
        document.pose_edited.connect(lambda *_: self._show(document.timeline.current))
        document.pose_edited.connect(lambda *_: self._summarise())  # edits, the rest of a clip extracted
        document.settings_changed.connect(lambda: self._show(document.timeline.current))
        document.settings_changed.connect(self._summarise)  # the S-Face line follows its switch
        driving_frames.frame_ready.connect(self._on_frame)
        self.refresh()

    # -- opening -------------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Start a spare extraction helper (:func:`~studio.gui.extraction.warm_extraction`) if
        none is waiting: with the default extractors and helper processes only, and not with
        ``STUDIO_SPARE_HELPER=0``."""
        if self.first_extractor is not extract_first_tracks or not helpers_allowed() \
                or os.environ.get("STUDIO_SPARE_HELPER") == "0":
            return
        if self.spare is not None and self.spare.usable():
            return
        from studio.gui.extraction import warm_extraction

        self.spare = Spare(warm_extraction)

    def close_spare(self) -> None:
        """Stop a spare helper no clip has used (the window closes)."""
        if self.spare is not None:
            self.spare.close()
            self.spare = None

    def _photo_without_clip(self) -> None:
        """A photo and no clip yet: the clip comes next, so warm the extraction helper up."""
        if self.doc.reference_rgb is not None and self.doc.project.driving_video is None:
            self.warm_up()

    def choose(self) -> None:
        """Ask for a driving video (the extraction helper warms up while the dialog is open)."""
        self.warm_up()
        pattern = " ".join(f"*{s}" for s in VIDEO_SUFFIXES)
        path, _ = QFileDialog.getOpenFileName(self, "Open a driving video", "", f"Videos ({pattern})")
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> Task:
        """Extract the pose of the video at ``path`` in the background, then use it. With
        range-first extraction the first seconds get their pose first and are shown at once;
        the rest of the clip follows in the background (:meth:`_extend`)."""
        self.cancel()
        self.progress.setRange(0, 0)
        self.progress.setFormat(f"Reading {Path(path).name}…")
        self._prog_row.setVisible(True)
        if self.first_extractor is not None:
            first = self.first_extractor
            spare = {"spare": self.spare} if first is extract_first_tracks and self.spare is not None else {}
            self.spare = None  # one clip per spare
            # a new clip starts with no range and the playhead at 0: its first seconds come first
            task = Task(lambda progress, cancel: first(Path(path), None, 0, progress, cancel, **spare), "extract",
                        self)
            task.succeeded.connect(self._first_extracted)
        else:
            extractor = self.extractor
            task = Task(lambda progress, cancel: extractor(Path(path), progress, cancel), "extract", self)
            task.succeeded.connect(self._extracted)
        task.progress.connect(self._progress)
        task.failed.connect(hub().report)
        task.finished.connect(lambda: self._prog_row.setVisible(self.is_extracting()))
        self.task = task
        task.start()
        return task

    def is_extracting(self) -> bool:
        """Whether an extraction (first frames or the rest of the clip) is running."""
        return self.task is not None and self.task.is_running()

    def _first_extracted(self, result) -> None:
        from studio.core.phases import mark

        path, pose, face, complete = result
        mark("first tracks back in the window")
        self.doc.set_driving(path, pose, face)
        mark("first tracks on the timeline")
        if not complete:
            self._extend(path, pose)

    def _resume_pending(self) -> None:
        """A project saved while its clip was still being extracted: finish the extraction."""
        from studio.extract.range_first import pending_frames

        p = self.doc.project
        if p.pose is not None and p.driving_video is not None and Path(p.driving_video).is_file() \
                and pending_frames(p.pose).size:
            self.cancel()
            self._extend(Path(p.driving_video), p.pose)

    def _extend(self, path: Path, pose) -> Task:
        """Extract the rest of the clip in the background (below a render's priority) and fill in
        the frames still pending."""
        extractor = extract_rest_tracks if self.extractor is extract_tracks else self.extractor
        task = Task(lambda progress, cancel: extractor(Path(path), progress, cancel), "extract", self)
        task.progress.connect(self._progress)
        task.succeeded.connect(lambda res: self.doc.complete_driving(pose, res[1], res[2]))
        task.failed.connect(hub().report)
        task.finished.connect(lambda: self._prog_row.setVisible(self.is_extracting()))
        self._prog_row.setVisible(True)
        self.task = task
        task.start()
        return task

    def cancel(self) -> None:
        """Stop a running extraction."""
        if self.task is not None and self.task.is_running():
            self.task.cancel()

    def _progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{message or 'Working'}: %v / %m frames")
        else:
            self.progress.setRange(0, 0)

    def _extracted(self, result) -> None:
        path, pose, face = result
        self.doc.set_driving(path, pose, face)  # the frames follow the document (_follow_video)

    def _follow_video(self) -> None:
        """Read frames of the document's driving video (it changes on open, undo and redo)."""
        video = self.doc.project.driving_video
        self.frames.set_video(video if video is not None and Path(video).exists() else None)

    # -- showing --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Show the document's driving data."""
        self._summarise()
        self.canvas.set_image(None)
        self._show(self.doc.timeline.current)

    def _summarise(self) -> None:
        """The info and quality lines, from the tracks as they are now (frames still being
        extracted are counted apart, not as frames with no person)."""
        from studio.extract.range_first import pending_frames

        p = self.doc.project
        pose = p.pose
        pending = pending_frames(pose).size
        if pose is None:
            self.info.setText("No driving video yet.")
        else:
            missing = int(np.count_nonzero(((pose.flags & FLAG_NO_PERSON) != 0) & ((pose.flags & FLAG_PENDING) == 0)))
            name = Path(p.driving_video).name if p.driving_video else \
                f"live photo ({p.live_seconds:g} s, the photo's pose held)" if p.is_live_photo else "pose only (no video)"
            warn = f" · ⚠ no person on {missing} frame{'s' if missing != 1 else ''}" if missing else ""
            self.info.setText(f"{name} · {len(pose)} frames · {pose.fps:g} fps{warn}")
        q = self.doc.pose_quality()
        text = q.summary() if q is not None else ""
        if pending:
            text = (f"{len(pose) - pending}/{len(pose)} frames extracted, the rest in the background; "
                    f"so far: {text}")
        self.quality.setText(text)
        self.quality.setVisible(q is not None)
        face_line = sface_coverage(q, self.doc.settings.options.uses_face(), p.face is not None,
                                   self._face_off_reason()) if q is not None else ""
        short = q is not None and p.face is not None and bool(np.count_nonzero(q.face == MISSING))
        self.sface.setText(("⚠ " if short and self.doc.settings.options.uses_face() else "") + face_line)
        self.sface.setVisible(bool(face_line))

    def _face_off_reason(self) -> str:
        """Why no frame gets face guidance when the options do not use the face: a renderer
        that has no face input at all, or its face switch turned off."""
        spec = registry.get_spec(self.doc.settings.backend)
        if spec.capabilities.face_input:
            return "the S-Face ControlNet is off"
        return f"the {spec.label} renderer does not use the driving face"

    def _show(self, i: int) -> None:
        q = self.doc.pose_quality()
        # without a face track no backend uses the face: the panel's S-Face line says so once
        face_track = self.doc.project.face is not None
        uses_face = self.doc.settings.options.uses_face()
        self.canvas.note = sface_note(q, i, uses_face, self._face_off_reason()) \
            if q is not None and face_track else ""
        self.canvas.set_pose(self.doc.project.pose, self.doc.project.face, i)
        img = self.frames.request(i) if self.doc.project.driving_video else None
        if img is not None:
            self.canvas.set_image(img)

    def _on_frame(self, i: int, frame) -> None:
        if i == self.doc.timeline.current:
            self.canvas.set_image(frame)

    def _layers(self) -> None:
        self.canvas.set_layers(self.body_box.isChecked(), self.hands_box.isChecked(), self.face_box.isChecked())

    def _dragged(self, frame: int, part: str, index: int, x: float, y: float) -> None:
        self.doc.undo_stack.push(MoveKeypointCommand(self.doc, frame, part, index, x, y, self.spread.value()))
