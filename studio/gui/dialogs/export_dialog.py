"""Export dialog: format (MP4 H.264, WebM VP9, GIF, PNG sequence), range (all / in-out), size
(25 % to 200 %), frame rate (source or 8/12/24/30, repeating or blending frames), side-by-side
panels in any order, and the driving video's sound; runs on a worker with progress and cancel
and opens the folder when done."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QListWidget, QListWidgetItem, QProgressBar, QPushButton, QRadioButton, QToolButton, QVBoxLayout, QWidget,
)

from studio.core.errors import StudioError
from studio.gui.errors import hub
from studio.gui.export_frames import FORMATS, ExportSpec, describe_ranges, export_frames, missing_frames
from studio.gui.tasks import Task
from studio.media.panels import PANEL_NAMES
from studio.media.retime import COMMON_RATES

SCALES = (("25 %", 0.25), ("50 %", 0.5), ("75 %", 0.75), ("100 %", 1.0), ("150 %", 1.5), ("200 %", 2.0))
#: Formats whose files carry sound.
SOUND_FORMATS = ("mp4", "webm")


def may_open_folders() -> bool:
    """False under tests and offscreen/minimal platforms (nothing to show a file manager on)."""
    if os.environ.get("STUDIO_NO_OPEN") or os.environ.get("PYTEST_CURRENT_TEST"):
        return False
    return QGuiApplication.platformName() not in ("offscreen", "minimal")


class ExportDialog(QDialog):
    """Writes the rendered frames of a document.

    Signals
    -------
    exported(object): the written file or folder (a ``Path``).
    """

    exported = Signal(object)

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self.setWindowTitle("Export")
        self.setObjectName("ExportDialog")
        self.format = QComboBox()
        for label, (name, _ext) in FORMATS.items():
            self.format.addItem(label, name)
        self.all_frames = QRadioButton("Whole clip")
        self.in_out = QRadioButton("In to out")
        self.in_out.setChecked(True)
        self.scale = QComboBox()
        for label, s in SCALES:
            self.scale.addItem(label, s)
        self.scale.setCurrentIndex(self.scale.findData(1.0))
        self.scale.setToolTip("Resize with Lanczos filtering; above 100 % the frames are upscaled, not re-rendered.")
        self.rate = QComboBox()
        self.rate.addItem(f"Source ({document.timeline.fps:g} fps)", None)
        for r in COMMON_RATES:
            self.rate.addItem(f"{r:g} fps", r)
        self.rate_mode = QComboBox()
        self.rate_mode.addItem("repeat / drop frames", "repeat")
        self.rate_mode.addItem("blend neighbouring frames", "blend")
        self.rate_mode.setToolTip("The clip keeps its duration (and its sound stays in sync). Repeat shows the "
                                  "frame on screen at each output time; blend mixes the two nearest frames.")
        self.side = QCheckBox("Side by side")
        self.panels = QListWidget()
        self.panels.setObjectName("SideBySidePanels")
        self.panels.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.panels.setToolTip("Tick the panels to show and drag them into order (left to right).")
        self.panels.setMaximumHeight(76)
        for name in PANEL_NAMES:
            item = QListWidgetItem(name.capitalize())
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.panels.addItem(item)
        self.sound = QCheckBox("Include the driving video's sound")
        self.sound.setChecked(True)
        self.sound.setToolTip("MP4 gets AAC, WebM Opus, cut to exactly the exported frames. GIF and PNG have no sound.")
        self.path = QLineEdit()
        browse = QToolButton(text="…")
        browse.clicked.connect(self._browse)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.export_btn = QPushButton("Export")
        self.export_btn.setDefault(True)
        self.cancel_btn = QPushButton("Close")

        rng = QHBoxLayout()
        rng.addWidget(self.in_out)
        rng.addWidget(self.all_frames)
        rng.addStretch(1)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Frames", rng)
        rate_row = QHBoxLayout()
        rate_row.addWidget(self.rate)
        rate_row.addWidget(self.rate_mode, 1)
        form.addRow("Size", self.scale)
        form.addRow("Frame rate", rate_row)
        form.addRow("", self.side)
        form.addRow("Panels", self.panels)
        form.addRow("Sound", self.sound)
        form.addRow("Save to", path_row)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_btn)
        buttons.addWidget(self.cancel_btn)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self.setMinimumWidth(460)

        self.format.currentIndexChanged.connect(self._format_changed)
        self.side.toggled.connect(self._update_enabled)
        self.rate.currentIndexChanged.connect(self._update_enabled)
        self.export_btn.clicked.connect(self.start)
        self.cancel_btn.clicked.connect(self._cancel_or_close)
        self.task: Task | None = None
        self.result_path: Path | None = None
        self._has_sound = self._video_has_sound()
        self._format_changed()

    def _video_has_sound(self) -> bool:
        video = self.doc.project.driving_video
        if video is None or not Path(video).is_file():
            return False
        from studio.media.audio import audio_codec

        try:
            return audio_codec(video) is not None
        except StudioError:
            return False

    def _update_enabled(self) -> None:
        name, _ext = FORMATS[self.format.currentText()]
        self.panels.setEnabled(self.side.isChecked())
        self.rate_mode.setEnabled(self.rate.currentData() is not None)
        self.sound.setEnabled(name in SOUND_FORMATS and self._has_sound)
        if not self._has_sound:
            self.sound.setToolTip("The driving video has no sound track (or there is no driving video).")

    def panel_order(self) -> tuple[str, ...]:
        """The ticked side-by-side panels, left to right."""
        items = (self.panels.item(k) for k in range(self.panels.count()))
        return tuple(it.data(Qt.ItemDataRole.UserRole) for it in items if it.checkState() == Qt.CheckState.Checked)

    def _default_path(self) -> Path:
        p = self.doc.project
        base = p.path.parent if p.path else Path.home()
        stem = p.path.name.split(".")[0] if p.path else "animation"
        return base / stem

    def _format_changed(self) -> None:
        self._update_enabled()
        _name, ext = FORMATS[self.format.currentText()]
        cur = self.path.text().strip()
        base = Path(cur) if cur else self._default_path()
        stem = base.with_suffix("") if base.suffix else base
        if ext:
            self.path.setText(str(stem.with_suffix(ext)))
        else:
            self.path.setText(str(stem) + "_frames" + os.sep if not str(stem).endswith("_frames") else str(stem) + os.sep)

    def _browse(self) -> None:
        _name, ext = FORMATS[self.format.currentText()]
        if ext:
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), f"*{ext}")
        else:
            path = QFileDialog.getExistingDirectory(self, "Export PNG frames into")
            path = path + os.sep if path else path
        if path:
            self.path.setText(path)

    def spec(self) -> ExportSpec:
        """The export described by the controls; raises :class:`StudioError` when it cannot run."""
        tl = self.doc.timeline
        frames = tuple(tl.range_frames()) if self.in_out.isChecked() else tuple(range(tl.frame_count))
        if not frames:
            raise StudioError("Nothing to export", "Open a driving video and render it first.")
        text = self.path.text().strip()
        if not text:
            raise StudioError("No file chosen", "Choose where to save the export.")
        side = self.side.isChecked()
        panels = self.panel_order()
        if side and not panels:
            raise StudioError("No panels chosen", "Tick at least one of driving, pose and result for the side by side.")
        name, _ext = FORMATS[self.format.currentText()]
        return ExportSpec(Path(text) if not text.endswith(os.sep) else Path(text.rstrip(os.sep)),
                          frames, tl.fps, float(self.scale.currentData()), side, panels or PANEL_NAMES,
                          self.rate.currentData(), self.rate_mode.currentData(),
                          self.sound.isEnabled() and self.sound.isChecked() and name in SOUND_FORMATS)

    def start(self) -> Task | None:
        """Check the frames are rendered, then export on a worker."""
        try:
            spec = self.spec()
            keys = self.doc.frame_keys()
            if keys is None:
                raise StudioError("Nothing to export", "Open a photo and a driving video and render them first.")
            missing = missing_frames(self.doc.cache, keys, spec.frames)
            if missing:
                raise StudioError(
                    "Render first",
                    f"{len(missing)} of the {len(spec.frames)} frames to export are not rendered with the "
                    f"current settings (frames {describe_ranges(missing)}). Press Render, then export.",
                )
        except StudioError as err:
            hub().report(err)
            return None
        from studio.media.export_path import write_export

        name, ext = FORMATS[self.format.currentText()]
        target = spec.path if ext else Path(str(spec.path) + os.sep)
        cache, video = self.doc.cache, self.doc.project.driving_video
        pose = self.doc.pose.copy() if self.doc.pose is not None else None  # the worker's snapshot
        view = self.doc.model_view()
        n = spec.output_count()

        def work(progress, cancel):
            return write_export(export_frames(spec, cache, keys, pose, video, view), len(spec.frames), spec.fps,
                                target, out_fps=spec.output_fps, fps_mode=spec.fps_mode, scale=spec.scale,
                                audio=spec.sound(video), progress=lambda d, t=None: progress(d, n, "Exporting"),
                                cancel=cancel)

        self.progress.setRange(0, n)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.status.setText(f"Exporting {n} frames…")
        self.export_btn.setEnabled(False)
        self.cancel_btn.setText("Cancel")
        task = Task(work, "export", self)
        task.progress.connect(lambda d, t, m: self.progress.setValue(d))
        task.succeeded.connect(self._done)
        task.failed.connect(self._failed)
        task.cancelled.connect(lambda: self.status.setText("Export cancelled; nothing was written."))
        task.finished.connect(self._ended)
        self.task = task
        task.start()
        return task

    def _done(self, path: Path) -> None:
        self.result_path = Path(path)
        self.status.setText(f"Saved {self.result_path}")
        self.exported.emit(self.result_path)
        folder = self.result_path if self.result_path.is_dir() else self.result_path.parent
        if may_open_folders():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _failed(self, err: StudioError) -> None:
        self.status.setText(f"Export failed: {err.title}")
        hub().report(err)

    def _ended(self) -> None:
        self.export_btn.setEnabled(True)
        self.cancel_btn.setText("Close")
        self.progress.setVisible(False)

    def _cancel_or_close(self) -> None:
        if self.task is not None and self.task.is_running():
            self.task.cancel()
        else:
            self.reject()

    def done(self, r: int) -> None:  # noqa: D102 - closing cancels a running export
        if self.task is not None and self.task.is_running():
            self.task.cancel()
            self.task.wait()
        super().done(r)
