"""``studio render`` started with SIGINT ignored (``nohup studio render ... &`` from a script, where
the shell sets SIGINT to SIG_IGN for background jobs) - issue 14, item 4.

The CLI still cancels cleanly on a real SIGINT (``kill -INT PID``, or Ctrl-C reaching a shell's
background job that shares its process group): the render stops after the current chunk, keeps
its finished frames and exits 130, and ``--resume`` continues. A render is never worth losing to a
hard kill, and the frames kept are reused, so cancelling is the safe reading of the signal. The
handler found at the start (SIG_IGN here) is put back afterwards.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: A child that renders the sample with a slow fake backend (frames one by one, 0.2 s apart).
CHILD = textwrap.dedent('''
    import signal, sys
    import numpy as np
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN, "SIGINT was not ignored at start"
    from studio.core.backend import Capabilities
    from studio.core.events import FramesReady, Progress

    class Slow:
        name = "slow"
        capabilities = Capabilities(needs_weights=False, step_previews=False, independent_frames=True)
        def available(self):
            return True, ""
        def render(self, job, cancel):
            for k in range(job.n_frames):
                if cancel.wait(0.2):
                    return
                yield FramesReady((k,), np.full((1, 64, 64, 3), 9 * k % 256, np.uint8))
                yield Progress(k + 1, job.n_frames, "render")

    import studio.core.registry
    studio.core.registry.create_backend = lambda name, *a, **k: Slow()
    from studio.cli import main
    code = main(sys.argv[1:])
    print("handler after:", "SIG_IGN" if signal.getsignal(signal.SIGINT) is signal.SIG_IGN else "other")
    sys.exit(code)
''')


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_render_started_with_sigint_ignored_still_cancels_cleanly(tmp_path):
    out = tmp_path / "out.gif"
    frames = tmp_path / "out.gif.frames"
    argv = ["render", "--sample", "--size", "64x64", "--frames", "0:40", "--no-progress", "-o", str(out)]
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *argv], cwd=REPO, preexec_fn=_ignore_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (frames / "frame_000001.png").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no frames appeared"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "cancelling after the current step" in stderr and "--resume" in stderr
    kept = sorted(frames.glob("frame_*.png"))
    assert 2 <= len(kept) < 40 and not out.exists()
    assert "handler after: SIG_IGN" in stdout


def test_the_ctrl_c_test_passes_when_pytest_starts_with_sigint_ignored(tmp_path):
    """The in-process Ctrl-C test compares with the handler it found, not Python's default."""
    test = "tests/render/test_cli_render.py::test_ctrl_c_keeps_frames_and_resume_finishes"
    # `-n 0`: in this pytest process, the one started with SIGINT ignored (not an xdist worker)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", test],
                         cwd=REPO, preexec_fn=_ignore_sigint, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
