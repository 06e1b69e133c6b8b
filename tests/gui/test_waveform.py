"""The waveform strip under the timeline: the driving video's sound, frame-aligned."""

from __future__ import annotations

import subprocess

import numpy as np

from studio.media.ffmpeg import ffmpeg_exe


def test_strip_shows_the_sound_aligned_with_the_timeline(make_window, sample_project, qtbot, tmp_path):
    w = make_window()
    w.open_project(sample_project)
    assert not w.waveform.isVisible()  # the sample has no driving video
    video = tmp_path / "drive.mp4"
    tone = "aevalsrc='if(gte(t,1.5),0.5*sin(2*PI*440*t),0)':s=48000:d=3"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=64x112:rate=16:duration=3", "-f", "lavfi", "-i", tone,
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(video)], check=True)
    w.doc.set_driving(video, w.doc.pose, w.doc.project.face)
    qtbot.waitUntil(lambda: w.waveform.isVisible(), timeout=20_000)
    env = w.waveform.envelope
    assert env is not None and len(env) == 48
    assert env[:23].max() < 0.01 and env[25:].min() > 0.3  # silent until frame 24 (1.5 s at 16 fps)
    img = w.waveform.grab().toImage()
    x_quiet, x_loud = int(w.timeline.x_of(10)), int(w.timeline.x_of(40))
    column = lambda x: [img.pixelColor(x, y).blue() for y in range(img.height())]  # noqa: E731
    assert max(column(x_loud)) > 200 and max(column(x_quiet)) < 200  # drawn where the sound is

    silent = tmp_path / "silent.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                    "testsrc=size=64x112:rate=16:duration=3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(silent)], check=True)
    w.doc.set_driving(silent, w.doc.pose, w.doc.project.face)
    qtbot.waitUntil(lambda: not w.waveform.is_loading(), timeout=20_000)
    assert not w.waveform.isVisible() and w.waveform.envelope is None
    assert np.isfinite(env).all()
