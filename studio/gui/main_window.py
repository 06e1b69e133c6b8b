"""The studio's main window: docks, menus, transport shortcuts; no logic of its own.

Layout: the preview viewer in the centre with the transport bar and the timeline under it; the
Reference and Driving panels docked left, the Render panel right. Everything observes one
:class:`~studio.gui.document.Document`; renders run on the
:class:`~studio.gui.render_controller.RenderController`'s worker thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication, QDockWidget, QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget,
)

from studio import __version__
from studio.core import registry
from studio.core.errors import StudioError
from studio.core.project import PROJECT_SUFFIX, Project
from studio.gui.document import Document
from studio.gui.errors import hub
from studio.gui.fit import PanelScroller, ScreenFit, fit_rect, let_shrink
from studio.gui.frame_loader import DrivingFrames
from studio.gui.panels.driving import DrivingPanel
from studio.gui.panels.reference import ReferencePanel
from studio.gui.panels.render import RenderPanel
from studio.gui.playback import Playback
from studio.gui.queue_dock import QueuePanel
from studio.gui.render_controller import RenderController
from studio.gui.session import Autosaver, RecentFiles, app_settings
from studio.gui.undo import undo_actions
from studio.gui.widgets.timeline import TimelineWidget
from studio.gui.widgets.quality_strip import PoseQualityStrip
from studio.gui.framing import FramingTool
from studio.gui.widgets.waveform import WaveformStrip
from studio.gui.widgets.transport import TransportBar
from studio.gui.widgets.viewer import PreviewViewer

log = logging.getLogger("studio.gui")

#: Inputs must be unchanged this long before the renderer is prepared in the background.
PREPARE_DELAY_MS = 600

#: Preferences key of the remembered X-Dyna weights folder (see studio.core.weights_folder).
WEIGHTS_PREFERENCE = "render/weights_dir"


def weights_preference_key(backend: str) -> str:
    """The preferences key of ``backend``'s remembered weights folder (X-Dyna's is the older
    :data:`WEIGHTS_PREFERENCE`)."""
    return WEIGHTS_PREFERENCE if backend == registry.legacy_name() else f"{WEIGHTS_PREFERENCE}/{backend}"

#: Asks whether to save unsaved changes: returns "save", "discard" or "cancel".
SaveAsker = Callable[[QWidget], str]
#: Asks whether to recover an autosave: returns True to recover.
RecoverAsker = Callable[[QWidget, Path], bool]


def ask_save(parent: QWidget) -> str:
    """The default unsaved-changes question."""
    b = QMessageBox.question(
        parent, "Unsaved changes", "Save the changes to this project first?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
    )
    return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(b, "cancel")


def ask_recover(parent: QWidget, path: Path) -> bool:
    """The default crash-recovery question."""
    return QMessageBox.question(
        parent, "Recover unsaved work?",
        f"The studio did not close properly last time. Recover the autosaved project ({path.name})?",
    ) == QMessageBox.StandardButton.Yes


def _data_dir() -> Path:
    d = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(d or Path.home() / ".xdyna-studio")


class MainWindow(QMainWindow):
    """The studio window.

    Parameters
    ----------
    settings: QSettings for layout, preferences, recent files and autosave (tests pass a
        temporary one).
    ask_save, ask_recover: the questions asked at close and at start (tests replace them).
    backend_factory, runner: passed to the render controller (tests may inject fakes).
    extractor: the driving panel's pose extraction function.
    """

    def __init__(
        self,
        settings: QSettings | None = None,
        ask_save: SaveAsker = ask_save,
        ask_recover: RecoverAsker = ask_recover,
        backend_factory=None,
        runner=None,
        extractor=None,
        data_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.setObjectName("StudioMainWindow")
        self.settings = settings or app_settings()
        self.ask_save = ask_save
        self.ask_recover = ask_recover
        self.data_dir = Path(data_dir) if data_dir else _data_dir()
        self.doc = Document(self, cache_dir=self.data_dir / "frame_cache")
        for name in registry.names():  # the legacy backend (X-Dyna) keeps the key it always had
            remembered = str(self.settings.value(weights_preference_key(name), "") or "")
            if remembered:
                self.doc.weights_preferences[name] = Path(remembered)
        self.doc.weights_preference_changed.connect(
            lambda name, p: self.settings.setValue(weights_preference_key(name), str(p) if p else ""))
        self.frames = DrivingFrames(self)
        self.controller = RenderController(self.doc, backend_factory, runner, self)
        self.playback = Playback(self.doc.timeline, self)
        self.recent = RecentFiles(self.settings)
        self.autosaver = Autosaver(self.doc, self.settings, self.data_dir, parent=self)
        hub().parent_widget = self

        self.viewer = PreviewViewer(self.doc, self.frames)
        self.timeline = TimelineWidget(self.doc)
        self.waveform = WaveformStrip(self.doc, self.timeline)
        self.quality_strip = PoseQualityStrip(self.doc, self.timeline)
        self._make_actions()
        self.transport = TransportBar(self.doc.timeline, [
            self.a_start, self.a_back, self.a_play, self.a_fwd, self.a_end, self.a_loop,
            self.a_set_in, self.a_set_out,
        ])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.viewer, 1)
        lay.addWidget(self.transport)
        lay.addWidget(self.timeline)
        lay.addWidget(self.quality_strip)
        lay.addWidget(self.waveform)
        self.setCentralWidget(central)
        let_shrink(self.transport.readout)
        let_shrink(self.viewer.status)

        self.reference_panel = ReferencePanel(self.doc)
        kw = {"extractor": extractor} if extractor is not None else {}
        self.driving_panel = DrivingPanel(self.doc, self.frames, **kw)
        self.render_panel = RenderPanel(self.doc, self.controller)
        from studio.farm.queue import RenderQueue, default_queue_path

        self.queue_panel = QueuePanel(RenderQueue(self.data_dir / "queue.sqlite" if data_dir else default_queue_path()))
        self.render_panel.queue_btn.clicked.connect(lambda: self.add_to_queue())
        from studio.gui.queue_frames import QueueFrames

        self.queue_frames = QueueFrames(self.doc, self.queue_panel, self)  # queued renders on the timeline
        self.framing = FramingTool(self.doc, self.viewer, self)
        self.render_panel.frame_btn.toggled.connect(self.framing.set_active)
        self.framing.active_changed.connect(self.render_panel.frame_btn.setChecked)
        self.docks: dict[str, QDockWidget] = {}
        for name, title, widget, area in (
            ("reference", "Reference", self.reference_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("driving", "Driving", self.driving_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
            ("render", "Render", self.render_panel, Qt.DockWidgetArea.RightDockWidgetArea),
            ("queue", "Queue", self.queue_panel, Qt.DockWidgetArea.BottomDockWidgetArea),
        ):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            # panels scroll inside their docks, so the window fits a 1280x720 screen (see fit.py)
            dock.setWidget(widget if name == "queue" else PanelScroller(widget))
            self.addDockWidget(area, dock)
            self.docks[name] = dock
            self.m_view.addAction(dock.toggleViewAction())
        self.resizeDocks([self.docks["reference"], self.docks["render"]], [340, 300], Qt.Orientation.Horizontal)
        # the queue shares the Render dock's column (a tab): under the timeline it took the height a
        # 720-pixel screen needs for the Render buttons and the timeline
        self.tabifyDockWidget(self.docks["render"], self.docks["queue"])
        self.docks["render"].raise_()
        self.statusBar()

        self.doc.path_changed.connect(lambda *_: self._title())
        self.doc.timeline.loop_changed.connect(lambda on: self.a_loop.setChecked(on))
        self.playback.playing_changed.connect(lambda on: self.a_play.setText("Pause" if on else "Play"))
        self.controller.failed.connect(hub().report)
        self.controller.finished.connect(lambda n, s: self.statusBar().showMessage(f"Rendered {n} frames in {s:.1f} s", 8000))
        self.controller.frames_ready.connect(
            lambda idx, _f: self.statusBar().showMessage(f"Frames {min(idx)}–{max(idx)} ready", 3000))
        self.controller.preparing.connect(
            lambda name: self.statusBar().showMessage(f"Preparing the {name} renderer…"))
        self.controller.prepared.connect(
            lambda name, problem: self.statusBar().showMessage(
                f"The {name} renderer is ready" if not problem else f"{name}: {problem}", 6000))
        self.autosaver.saved.connect(lambda p: self.statusBar().showMessage(f"Autosaved to {p}", 4000))
        self.frames.failed.connect(hub().report)
        self._restore_layout()
        self._title()
        self.timeline.setFocus()
        self._preloaded: set[str] = set()
        self.doc.settings_changed.connect(self._preload_backend)
        self._preload_backend()
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.setInterval(PREPARE_DELAY_MS)
        self._prepare_timer.timeout.connect(self._prepare_renderer)
        for sig in (self.doc.reference_changed, self.doc.settings_changed, self.doc.driving_changed):
            sig.connect(self._prepare_timer.start)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.controller.shutdown)

    # -- actions and menus ---------------------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, checkable: bool = False, tip: str = "") -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            seqs = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(s) for s in seqs])
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _make_actions(self) -> None:
        tl, pb = self.doc.timeline, self.playback
        mb = self.menuBar()
        m_file = mb.addMenu("&File")
        m_file.addAction(self._action("&New", self.new_project, QKeySequence.StandardKey.New))
        m_file.addAction(self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open))
        self.m_recent = m_file.addMenu("Open &Recent")
        self.m_recent.aboutToShow.connect(self._fill_recent)
        m_file.addSeparator()
        m_file.addAction(self._action("&Save", self.save, QKeySequence.StandardKey.Save))
        m_file.addAction(self._action("Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs))
        m_file.addSeparator()
        m_file.addAction(self._action("Open &Photo…", lambda: self.reference_panel.choose()))
        m_file.addAction(self._action("Open &Driving Video…", lambda: self.driving_panel.choose()))
        self.a_live = self._action("Make a &Live Photo…", lambda: self.make_live_photo(),
                                   tip="Hold the photo's own pose (no driving video); X-Dyna adds scene and hair "
                                   "motion, the draft a gentle idle motion")
        m_file.addAction(self.a_live)
        m_file.addAction(self._action("&Export…", self.export_dialog, "Ctrl+E"))
        m_file.addSeparator()
        m_file.addAction(self._action("&Quit", self.close, QKeySequence.StandardKey.Quit))

        m_edit = mb.addMenu("&Edit")
        undo, redo = undo_actions(self.doc.undo_stack, self, "&Undo", "&Redo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.a_undo, self.a_redo = undo, redo
        m_edit.addAction(undo)
        m_edit.addAction(redo)

        m_play = mb.addMenu("&Playback")
        self.a_play = self._action("Play", pb.toggle, "Space", tip="Play / pause (Space)")
        self.a_back = self._action("◀", lambda: tl.step(-1), "Left", tip="One frame back (Left)")
        self.a_fwd = self._action("▶", lambda: tl.step(1), "Right", tip="One frame forward (Right)")
        self.a_back10 = self._action("Back 10 Frames", lambda: tl.step(-10), "Shift+Left")
        self.a_fwd10 = self._action("Forward 10 Frames", lambda: tl.step(10), "Shift+Right")
        self.a_j = self._action("Play Backwards (J)", lambda: pb.shuttle(-1), "J")
        self.a_k = self._action("Stop (K)", pb.stop, "K")
        self.a_l = self._action("Play Forwards (L)", lambda: pb.shuttle(1), "L")
        self.a_start = self._action("|◀", tl.go_start, "Home", tip="To the in point / first frame (Home)")
        self.a_end = self._action("▶|", tl.go_end, "End", tip="To the out point / last frame (End)")
        self.a_set_in = self._action("Set In", lambda: tl.set_in(), "I", tip="Set the in point at the playhead (I)")
        self.a_set_out = self._action("Set Out", lambda: tl.set_out(), "O", tip="Set the out point at the playhead (O)")
        self.a_clear_range = self._action("Clear In/Out", tl.clear_range, "Alt+X")
        self.a_loop = self._action("Loop", tl.set_loop, "Ctrl+L", checkable=True, tip="Loop playback (Ctrl+L)")
        self.a_loop.setChecked(tl.loop)
        self.a_next_problem = self._action("Next Problem Frame", lambda: self.goto_problem(1), "Alt+Right",
                                           tip="Jump to the next frame with a pose problem (Alt+Right)")
        self.a_prev_problem = self._action("Previous Problem Frame", lambda: self.goto_problem(-1), "Alt+Left",
                                           tip="Jump to the previous frame with a pose problem (Alt+Left)")
        for a in (self.a_play, self.a_j, self.a_k, self.a_l, None, self.a_back, self.a_fwd, self.a_back10,
                  self.a_fwd10, self.a_start, self.a_end, None, self.a_prev_problem, self.a_next_problem, None,
                  self.a_set_in, self.a_set_out, self.a_clear_range, self.a_loop):
            m_play.addSeparator() if a is None else m_play.addAction(a)

        m_render = mb.addMenu("&Render")
        self.a_render = self._action("&Render", self.render_panel_render, "Ctrl+R")
        self.a_cancel = self._action("&Cancel Render", self.controller.cancel, "Escape")
        self.a_render_scratch = self._action("Render from &Scratch",
                                             lambda: self.render_panel.render(from_scratch=True), "Ctrl+Shift+R")
        m_render.addAction(self.a_render)
        m_render.addAction(self.a_render_scratch)
        self.a_queue = self._action("Add to &Queue", lambda: self.add_to_queue(), "Ctrl+Shift+Q",
                                    tip="Queue a render of the in/out range (see the Queue dock)")
        m_render.addAction(self.a_queue)
        m_render.addAction(self.a_cancel)

        self.m_view = mb.addMenu("&View")
        self.a_side = self._action("Side by Side", lambda on: self.viewer.set_side_by_side(on), "Ctrl+B", checkable=True)
        self.a_onion = self._action("Onion Skin", lambda on: self.viewer.onion_box.setChecked(on), "Ctrl+K", checkable=True)
        self.m_view.addAction(self.a_side)
        self.m_view.addAction(self.a_onion)
        self.m_view.addSeparator()
        m_help = mb.addMenu("&Help")
        m_help.addAction(self._action("&About", self.about))

    def _preload_backend(self) -> None:
        name = self.doc.settings.backend
        if name not in self._preloaded:
            self._preloaded.add(name)
            self.controller.preload(name)

    def _prepare_renderer(self) -> None:
        """Once the inputs settle, let the worker prepare the renderer for this reference."""
        from studio.gui.render_ready import preparation_job

        job = None if self.controller.busy else preparation_job(self.doc)
        if job is not None:  # (also before a driving clip is open: the photo's rig is built meanwhile)
            self.controller.prepare(job)

    def goto_problem(self, direction: int) -> int | None:
        """Move the playhead to the next (``direction`` > 0) or previous pose-problem frame (missing
        person, hand or face, low-confidence body); returns it, or ``None`` (status bar says so)."""
        q = self.doc.pose_quality()
        tl = self.doc.timeline
        if q is None:
            return None
        i = q.next_problem(tl.current) if direction > 0 else q.previous_problem(tl.current)
        if i is None:
            self.statusBar().showMessage("No more problem frames that way", 3000)
            return None
        tl.set_current(i)
        self.statusBar().showMessage(f"Frame {i}: {q.describe(i)}", 5000)
        return i

    def render_panel_render(self) -> None:
        """Ctrl+R: start a render."""
        self.render_panel.render()

    # -- projects ---------------------------------------------------------------------------------------
    def add_to_queue(self) -> int | None:
        """Render > Add to Queue: queue the in/out range with the current settings. Its frames go
        to a folder of their own beside the project (``<project>.renders/queue-<time>``, or in the
        data folder for an unsaved project); returns the job id (``None`` when refused)."""
        import time
        import uuid

        p = self.doc.project
        base = p.default_render_dir() or self.data_dir / "queue_renders"
        folder = base / f"queue-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        try:
            job = self.doc.make_job(output_dir=folder)
            job_id = self.queue_panel.queue.add(job, folder, p.path, fps=float(p.fps or 25.0))
        except StudioError as err:
            hub().report(err)
            return None
        self.queue_frames.watch(job_id)
        self.queue_panel.refresh()
        self.docks["queue"].show()
        self.docks["queue"].raise_()
        self.statusBar().showMessage(f"Queued job {job_id}: {job.n_frames} frames -> {folder}", 6000)
        return job_id

    def _title(self) -> None:
        self.setWindowTitle(f"{self.doc.title()} — X-Dyna Studio")

    def _confirm_discard(self) -> bool:
        """True when unsaved changes may be dropped (after saving them if asked to)."""
        if not self.doc.dirty:
            return True
        answer = self.ask_save(self)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_project(self) -> None:
        """File > New."""
        if self._confirm_discard():
            self.controller.cancel()
            self.doc.new_project()
            self.frames.set_video(None)

    def open_dialog(self) -> None:
        """File > Open…"""
        path, _ = QFileDialog.getOpenFileName(self, "Open a project", "", f"Studio projects (*{PROJECT_SUFFIX} *.json)")
        if path:
            self.open_project(Path(path))

    def open_project(self, path: Path, confirm: bool = True) -> bool:
        """Open the project at ``path``; problems are shown, never raised."""
        if confirm and not self._confirm_discard():
            return False
        self.controller.cancel()
        try:
            missing = self.doc.open(path)
        except StudioError as err:
            hub().report(err)
            return False
        self._after_load()
        self.recent.add(Path(path))
        if missing:
            lines = "; ".join(f"{name.replace('_', ' ')}: {p}" for name, p in missing)
            hub().report(StudioError(
                "Some files are missing",
                f"The project refers to files that are not there any more ({lines}). Open them again "
                "from the Reference or Driving panel.",
            ))
        return True

    def _after_load(self) -> None:
        video = self.doc.project.driving_video
        self.frames.set_video(video if video is not None and Path(video).exists() else None)
        self.viewer.refresh()
        self.driving_panel.refresh()
        if self.doc.project.pose is None and video is not None and Path(video).exists():
            self.driving_panel.open_path(Path(video))  # tracks not in the file: extract (disk-cached)

    def save(self) -> bool:
        """File > Save (asks for a file the first time)."""
        if self.doc.project.path is None:
            return self.save_as()
        return self._save_to(self.doc.project.path)

    def save_as(self) -> bool:
        """File > Save As…"""
        path, _ = QFileDialog.getSaveFileName(self, "Save the project", f"untitled{PROJECT_SUFFIX}",
                                              f"Studio projects (*{PROJECT_SUFFIX})")
        if not path:
            return False
        if not path.endswith(".json"):
            path += PROJECT_SUFFIX
        return self._save_to(Path(path))

    def _save_to(self, path: Path) -> bool:
        try:
            self.doc.save(path)
        except StudioError as err:
            hub().report(err)
            return False
        self.autosaver.discard()
        self.recent.add(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _fill_recent(self) -> None:
        self.m_recent.clear()
        paths = self.recent.paths()
        for p in paths:
            self.m_recent.addAction(p.name, lambda p=p: self.open_project(p)).setToolTip(str(p))
        if not paths:
            self.m_recent.addAction("(none)").setEnabled(False)

    def offer_recovery(self) -> bool:
        """At start: offer the autosave a crashed session left behind; True when recovered."""
        pending = self.autosaver.pending_recovery()
        if pending is None:
            return False
        file, original = pending
        if not self.ask_recover(self, file):
            self.autosaver.discard()
            return False
        try:
            project = Project.load(file)
        except StudioError as err:
            hub().report(err)
            return False
        project.path = original
        self.doc.set_project(project)
        self.doc.mark_dirty()
        self._after_load()
        return True

    def make_live_photo(self, seconds: float | None = None, fps: float | None = None) -> bool:
        """File > Make a Live Photo…: asks for the length and frame rate (unless ``seconds`` is
        given) and holds the photo's pose for it (undoable)."""
        if seconds is None:
            from studio.gui.dialogs.live_photo_dialog import LivePhotoDialog

            dlg = LivePhotoDialog(self.doc.project.live_seconds or 4.0, fps or self.doc.project.fps or 25.0, self)
            if dlg.exec() != dlg.DialogCode.Accepted:
                return False
            seconds, fps = dlg.values()
        try:
            self.doc.set_live_photo(seconds, fps)
        except StudioError as err:
            hub().report(err)
            return False
        self.frames.set_video(None)
        return True

    def export_dialog(self):
        """File > Export…"""
        from studio.gui.dialogs.export_dialog import ExportDialog

        dlg = ExportDialog(self.doc, self)
        dlg.open()
        return dlg

    def about(self) -> None:
        """Help > About."""
        QMessageBox.about(self, "About X-Dyna Studio",
                          f"X-Dyna Studio {__version__}\nAnimate a photo of a person from a driving video.")

    # -- layout persistence and closing -------------------------------------------------------------
    def _restore_layout(self) -> None:
        geo = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 860)
        screen = self.screen()
        if screen is not None:  # a geometry saved on a larger screen, or the default on a small one
            self.setGeometry(fit_rect(self.geometry(), screen.availableGeometry()))
        self._screen_fit = ScreenFit(self)
        if isinstance(state, QByteArray):
            self.restoreState(state)
        self.a_side.setChecked(self.settings.value("view/side_by_side", False, type=bool))
        self.a_onion.setChecked(self.settings.value("view/onion", False, type=bool))
        self.viewer.set_side_by_side(self.a_side.isChecked())
        self.doc.timeline.set_loop(self.settings.value("playback/loop", True, type=bool))
        self.a_loop.setChecked(self.doc.timeline.loop)

    def _save_layout(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("view/side_by_side", self.viewer.side_by_side())
        s.setValue("view/onion", self.viewer.onion_box.isChecked())
        s.setValue("playback/loop", self.doc.timeline.loop)
        s.sync()

    def closeEvent(self, e: QCloseEvent) -> None:  # noqa: N802
        if not self._confirm_discard():
            e.ignore()
            return
        self.playback.stop()
        self._save_layout()
        self.autosaver.stop()
        self.autosaver.discard()
        self.controller.shutdown()
        self.queue_panel.timer.stop()
        self.queue_panel.stop_runner()
        self.frames.close()
        for panel in (self.reference_panel, self.driving_panel):
            if panel.task is not None and panel.task.is_running():
                panel.task.cancel()
                panel.task.wait()
        if hub().parent_widget is self:
            hub().parent_widget = None
        e.accept()
