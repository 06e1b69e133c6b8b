"""Pose extraction in a helper process: result, progress, errors and cancel cross the pipe."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.gui.extraction import extract_in_helper
from studio.gui.helper_task import run_in_helper

pytestmark = pytest.mark.helper_process


@pytest.fixture
def video(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))  # inherited by the helper
    path = tmp_path / "empty.mp4"
    with imageio.get_writer(path, fps=10, codec="libx264", macro_block_size=16) as wr:
        for i in range(6):
            wr.append_data(np.full((64, 64, 3), 30 + 10 * i, np.uint8))
    return path


def test_extraction_result_and_progress_come_back(video):
    seen = []
    path, pose, face = run_in_helper(extract_in_helper, (video,), lambda d, n, m: seen.append((d, n, m)), CancelToken())
    assert path == video and len(pose) == 6 and len(face) == 6
    assert seen and seen[-1][0] == 6 and seen[-1][2] == "Finding the pose"


def test_errors_in_the_helper_are_raised_here(tmp_path):
    with pytest.raises(StudioError) as info:
        run_in_helper(extract_in_helper, (tmp_path / "missing.mp4",), lambda *a: None, CancelToken())
    assert "missing.mp4" in str(info.value)


def test_cancel_stops_the_helper(video):
    cancel = CancelToken()

    def progress(d, n, m):
        cancel.cancel()

    with pytest.raises(RenderCancelled):
        run_in_helper(extract_in_helper, (video,), progress, cancel)


def test_the_window_extracts_in_a_helper(make_window, video, qtbot, errors):
    w = make_window()
    task = w.driving_panel.open_path(video)
    with qtbot.waitSignal(task.finished, timeout=120_000):
        pass
    assert errors == []
    assert w.doc.timeline.frame_count == 6
