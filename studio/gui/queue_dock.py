"""The Queue dock: the render queue's jobs with their progress, and what an artist does with them.

The dock watches the queue file (:class:`studio.farm.queue.RenderQueue`), re-reading it every
:data:`REFRESH_MS` (a few small sqlite reads): jobs may be added by ``studio queue add`` in a
terminal and run by ``studio queue run`` on another machine's cluster, and their progress shows
here all the same. Buttons: cancel, move up/down (queued jobs), open the result of a finished
job, clear finished jobs, and "Run queue", which starts ``studio queue run`` as a separate process
so rendering never competes with the window for its thread or its GIL.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QTableWidget,
    QTableWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from studio.core.errors import StudioError
from studio.farm.queue import QueueEntry, RenderQueue
from studio.gui.errors import hub

#: How often the dock re-reads the queue file.
REFRESH_MS = 1000
COLUMNS = ("Job", "State", "Progress", "Output", "Message")
STATE_COLORS = {"queued": "#9aa0aa", "running": "#5fb0ff", "done": "#6cc070", "failed": "#e0625a",
                "cancelled": "#b0a060"}


def result_path(entry: QueueEntry) -> Path:
    """What "Open result" opens: the exported file, else the frames folder."""
    return Path(entry.output)


def runner_command(queue_file: Path) -> tuple[str, list[str]]:
    """The program and arguments of ``studio queue run`` for ``queue_file``: this Python with
    ``-m studio``, or in a packaged app the ``studio-cli`` executable beside the window's."""
    args = ["queue", "--queue-file", str(queue_file), "run"]
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable).with_name("studio-cli" + (".exe" if sys.platform == "win32" else ""))
        return str(exe), args
    return sys.executable, ["-m", "studio", *args]


class QueuePanel(QWidget):
    """The jobs of one queue file (see the module docstring)."""

    #: Emitted after every refresh with the entries shown.
    refreshed = Signal(list)

    def __init__(self, queue: RenderQueue | None = None, parent: QWidget | None = None,
                 refresh_ms: int = REFRESH_MS) -> None:
        super().__init__(parent)
        self.setObjectName("QueuePanel")
        self._queue = queue
        self.entries: list[QueueEntry] = []
        self.runner: QProcess | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(2, 150)
        self.cancel_btn = QPushButton("Cancel")
        self.up_btn = QToolButton(text="▲")
        self.up_btn.setToolTip("Render this queued job earlier")
        self.down_btn = QToolButton(text="▼")
        self.down_btn.setToolTip("Render this queued job later")
        self.open_btn = QPushButton("Open result")
        self.clear_btn = QPushButton("Clear finished")
        self.run_btn = QPushButton("Run queue")
        self.run_btn.setToolTip("Start `studio queue run` in its own process (Ray workers when the farm "
                                "extra is installed, else one local helper)")
        self.status = QLabel()
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        for w in (self.cancel_btn, self.up_btn, self.down_btn, self.open_btn, self.clear_btn):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.run_btn)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.status)

        self.cancel_btn.clicked.connect(lambda: self._act(lambda q, e: q.cancel(e.id)))
        self.up_btn.clicked.connect(lambda: self._act(lambda q, e: q.move(e.id, -1)))
        self.down_btn.clicked.connect(lambda: self._act(lambda q, e: q.move(e.id, 1)))
        self.open_btn.clicked.connect(self.open_result)
        self.clear_btn.clicked.connect(lambda: self._act(lambda q, e: q.remove_finished(), need_row=False))
        self.run_btn.clicked.connect(self.start_runner)
        self.table.itemSelectionChanged.connect(self._enable)
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    # -- the queue ----------------------------------------------------------------------------------
    @property
    def queue(self) -> RenderQueue:
        """The queue file (opened on first use)."""
        if self._queue is None:
            self._queue = RenderQueue()
        return self._queue

    def selected(self) -> QueueEntry | None:
        """The selected job."""
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def refresh(self) -> None:
        """Re-read the queue file and redraw the table (keeps the selected job selected)."""
        try:
            entries = self.queue.entries()
        except StudioError as err:
            self.timer.stop()  # one report, not one a second
            self.status.setText(f"{err.title}: {err.description}")
            return
        keep = self.selected()
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, e in enumerate(entries):
            kind = e.backend + (", split" if e.split else "")
            values = (f"{e.id} ({kind})", e.state, None, e.output, e.message)
            for col, value in enumerate(values):
                if value is None:
                    continue
                item = self.table.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(row, col, item)
                item.setText(str(value))
                item.setToolTip(str(value))
                if col == 1:
                    item.setForeground(Qt.GlobalColor.white)
                    item.setBackground(_color(e.state))
            bar = self.table.cellWidget(row, 2)
            if not isinstance(bar, QProgressBar):
                bar = QProgressBar()
                bar.setTextVisible(True)
                self.table.setCellWidget(row, 2, bar)
            bar.setRange(0, max(1, e.n_frames))
            bar.setValue(min(e.done_frames, e.n_frames))
            bar.setFormat(f"{e.done_frames}/{e.n_frames} frames")
        if keep is not None:
            for row, e in enumerate(entries):
                if e.id == keep.id:
                    self.table.selectRow(row)
        running = self.runner is not None and self.runner.state() != QProcess.ProcessState.NotRunning
        counts = {s: sum(e.state == s for e in entries) for s in ("queued", "running", "done", "failed")}
        self.status.setText(
            f"{counts['queued']} queued, {counts['running']} running, {counts['done']} done, "
            f"{counts['failed']} failed" + (" — runner started here" if running else "") + f"\n{self.queue.path}")
        self._enable()
        self.refreshed.emit(entries)

    def _enable(self) -> None:
        e = self.selected()
        self.cancel_btn.setEnabled(e is not None and not e.finished)
        self.up_btn.setEnabled(e is not None and e.state == "queued")
        self.down_btn.setEnabled(e is not None and e.state == "queued")
        self.open_btn.setEnabled(e is not None and e.state == "done")
        running = self.runner is not None and self.runner.state() != QProcess.ProcessState.NotRunning
        self.run_btn.setEnabled(not running)

    def _act(self, action, need_row: bool = True) -> None:
        e = self.selected()
        if need_row and e is None:
            return
        try:
            action(self.queue, e)
        except StudioError as err:
            hub().report(err)
        self.refresh()

    # -- the result and the runner ------------------------------------------------------------------
    def open_result(self) -> bool:
        """Open the selected finished job's result with the desktop's default application."""
        e = self.selected()
        if e is None or e.state != "done":
            return False
        path = result_path(e)
        if not path.exists():
            hub().report(StudioError("Result not found", f"{path} no longer exists; it was moved or deleted."))
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def start_runner(self) -> None:
        """Start ``studio queue run`` for this queue file as a separate process."""
        if self.runner is not None and self.runner.state() != QProcess.ProcessState.NotRunning:
            return
        self.runner = QProcess(self)
        self.runner.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        self.runner.finished.connect(lambda *_: self.refresh())
        program, args = runner_command(self.queue.path)
        self.runner.start(program, args)
        self.refresh()

    def stop_runner(self) -> None:
        """Stop a runner started here (its running jobs go back to the queue)."""
        if self.runner is not None and self.runner.state() != QProcess.ProcessState.NotRunning:
            os.kill(self.runner.processId(), signal.SIGINT)  # as Ctrl-C: running jobs go back to the queue
            if not self.runner.waitForFinished(30000):
                self.runner.kill()
                self.runner.waitForFinished(5000)


def _color(state: str):
    from PySide6.QtGui import QColor

    return QColor(STATE_COLORS.get(state, "#808080"))
