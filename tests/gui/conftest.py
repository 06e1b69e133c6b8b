"""GUI test fixtures: a window factory that cleans up and fails on leaked windows (like napari's
``make_napari_viewer``), a collecting error presenter, fake backends and the sample project."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["STUDIO_NO_OPEN"] = "1"

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from studio.core.backend import Capabilities  # noqa: E402
from studio.core.cancel import CancelToken  # noqa: E402
from studio.core.events import FramesReady, Progress  # noqa: E402
from studio.core.jobs import RenderJob  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "resources" / "sample"


class FakeBackend:
    """Yields solid-colour frames in chunks of ``chunk``, waiting ``delay`` s per chunk (cancel
    wakes it), so tests can watch frames stream in and cancel mid-render."""

    name = "fake"
    capabilities = Capabilities(needs_weights=False, step_previews=False, independent_frames=True)

    def __init__(self, delay: float = 0.05, chunk: int = 4, size: int = 32) -> None:
        self.delay, self.chunk, self.size = delay, chunk, size
        self.calls = 0

    def available(self) -> tuple[bool, str]:
        return True, "fake"

    def render(self, job: RenderJob, cancel: CancelToken):
        self.calls += 1
        n = job.n_frames
        for start in range(0, n, self.chunk):
            if cancel.wait(self.delay):
                return
            idx = tuple(range(start, min(n, start + self.chunk)))
            frames = np.stack([np.full((self.size, self.size, 3), (job.frames[k] * 5) % 256, np.uint8) for k in idx])
            yield Progress(idx[-1] + 1, n, "render")
            yield FramesReady(idx, frames)


@pytest.fixture(autouse=True)
def _draft_in_thread(request, monkeypatch) -> None:
    """Windows render on the worker thread unless a test asks for the helper process
    (``@pytest.mark.helper_process``): starting one per window would make every test slow."""
    if request.node.get_closest_marker("helper_process") is None:
        monkeypatch.setenv("STUDIO_RENDER_IN_THREAD", "1")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "helper_process: render the draft in its helper process")


@pytest.fixture
def errors(monkeypatch) -> list:
    """Errors that reached the error hub (instead of a modal dialog)."""
    from studio.gui.errors import hub

    got: list = []
    monkeypatch.setattr(hub(), "presenter", lambda err, parent: got.append(err))
    return got


@pytest.fixture
def sample_project(tmp_path) -> Path:
    """A copy of the sample project (renders go into the temporary folder)."""
    dst = tmp_path / "sample"
    shutil.copytree(SAMPLE, dst)
    return dst / "sample.studio.json"


@pytest.fixture
def settings_file(tmp_path) -> Path:
    """Where this test's QSettings live."""
    return tmp_path / "settings.ini"


@pytest.fixture
def make_window(qtbot, tmp_path, settings_file, errors) -> Iterator:
    """Factory for :class:`MainWindow`s with private settings and data folder; closes them at the
    end and fails the test if any other top-level window was left open."""
    from studio.gui.main_window import MainWindow

    before = {id(w) for w in QApplication.topLevelWidgets() if w.isVisible()}
    made: list[MainWindow] = []

    def factory(show: bool = True, **kw) -> MainWindow:
        kw.setdefault("settings", QSettings(str(settings_file), QSettings.Format.IniFormat))
        kw.setdefault("data_dir", tmp_path / "data")
        kw.setdefault("ask_save", lambda parent: "discard")
        kw.setdefault("ask_recover", lambda parent, path: False)
        w = MainWindow(**kw)
        made.append(w)
        if show:
            w.show()
            qtbot.waitExposed(w)
            w.activateWindow()
            qtbot.waitUntil(w.isActiveWindow, timeout=3000)
        return w

    yield factory
    stuck = []
    for w in made:
        w.controller.cancel()
        w.close()
        if w.isVisible():
            stuck.append(w.windowTitle())
            w.doc.undo_stack.setClean()
            w.doc._dirty = False  # noqa: SLF001 - force it shut so later tests start clean
            w.close()
        w.deleteLater()
    QApplication.processEvents()
    assert not stuck, f"windows refused to close: {stuck}"
    leaked = [w for w in QApplication.topLevelWidgets()
              if w.isVisible() and id(w) not in before and w not in made]
    for w in leaked:
        w.close()
    assert not leaked, f"test leaked windows: {[type(w).__name__ + ':' + w.windowTitle() for w in leaked]}"


def wait_idle(qtbot, window, timeout: int = 60_000) -> None:
    """Wait until the window's render controller is idle."""
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=timeout)


def spin(seconds: float) -> None:
    """Process events for a while."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.005)


@pytest.fixture
def fake_backend_cls() -> type[FakeBackend]:
    """The :class:`FakeBackend` class (subclass it in a test)."""
    return FakeBackend


@pytest.fixture
def idle(qtbot):
    """``idle(window)`` waits until the window's render controller is idle."""
    return lambda window, timeout=60_000: wait_idle(qtbot, window, timeout)
