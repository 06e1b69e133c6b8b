"""Render docs/queue_dock.png: the studio's Queue dock with jobs in every state.

Runs under a real X server (``xvfb-run -a .venv/bin/python tools/screenshot_queue_dock.py``). The
jobs are really queued (the sample project at several ranges) and the first two really rendered
by a :class:`~studio.farm.runner.QueueRunner` on the local executor; the running job's progress
and the failed job are written to the queue file as a runner would, so the picture shows every
state at once.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    import shutil

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from studio.farm.local_executor import LocalExecutor
    from studio.farm.runner import QueueRunner
    from studio.gui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="queue-shot-"))
    shutil.copytree(REPO / "resources" / "sample", tmp / "sample")
    app = QApplication.instance() or QApplication(sys.argv)
    w = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), data_dir=tmp / "data",
                   ask_save=lambda p: "discard", ask_recover=lambda p, path: False)
    w.resize(1500, 900)
    w.show()
    assert w.open_project(tmp / "sample" / "sample.studio.json")
    q = w.queue_panel.queue
    tl = w.doc.timeline
    ids = []
    for lo, hi in ((0, 15), (16, 31), (0, 47), (8, 39), (24, 47)):
        tl.set_in(lo)
        tl.set_out(hi)
        ids.append(w.add_to_queue())
        app.processEvents()
    # the first two really render (local helper process)
    ex = LocalExecutor()
    runner = QueueRunner(q, ex)
    for _ in range(2):
        runner._start_next()  # noqa: SLF001 - one job at a time, then stop
        for t in list(runner._threads.values()):  # noqa: SLF001
            t.join()
        runner._reap()  # noqa: SLF001
    ex.close()
    running = q.claim(ids[2])
    q.progress(running.id, 20, "20/48 frames")
    q.claim(ids[4])
    q.finish(ids[4], "failed", "Farm worker lost: Ray actor gpu1 stopped while rendering (3 times; giving up)")
    w.queue_panel.refresh()
    panel = w.queue_panel
    panel.table.selectRow(0)
    w.removeDockWidget(w.docks["queue"])  # shown on its own, at a size where every column reads
    panel.setParent(None)
    panel.resize(1100, 300)
    panel.show()
    for _ in range(20):
        app.processEvents()
    out = REPO / "docs" / "queue_dock.png"
    panel.grab().save(str(out))
    print(out)
    w.doc.undo_stack.setClean()
    w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
