"""The studio's main window: docks, menus, transport shortcuts; no logic of its own. Its menus
are built in :mod:`studio.gui.window_menus`, its File actions live in
:mod:`studio.gui.window_projects`.

Layout: the preview viewer in the centre with the transport bar and the timeline under it; the
Reference and Driving panels docked left, the Render panel right. Everything observes one
:class:`~studio.gui.document.Document`; renders run on the
:class:`~studio.gui.render_controller.RenderController`'s worker thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from studio import __version__
from studio.core import registry
from studio.core.errors import StudioError
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
from studio.gui.window_menus import build_menus, window_action
from studio.gui.window_projects import ProjectFiles, RecoverAsker, SaveAsker, ask_recover, ask_save
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

def _data_dir() -> Path:
    d = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(d or Path.home() / ".xdyna-studio")


class MainWindow(ProjectFiles, QMainWindow):
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
        return window_action(self, text, slot, shortcut, checkable, tip)

    def _make_actions(self) -> None:
        build_menus(self)

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
        self.driving_panel.close_spare()
        if hub().parent_widget is self:
            hub().parent_widget = None
        e.accept()
