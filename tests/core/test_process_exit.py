"""studio.core.process_exit: the command line and the helper processes freeze what is alive at
exit, after the other exit handlers, so the interpreter's shutdown collections skip it; the
command line called as a function (tests, scripts) registers nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_CHILD = textwrap.dedent("""
    import atexit, gc, sys
    sys.path.insert(0, {repo!r})
    seen = []
    atexit.register(lambda: print(gc.get_freeze_count() > 0, seen, flush=True))
    try:
        {register}
    except SystemExit:
        pass
    atexit.register(lambda: seen.append(gc.get_freeze_count() > 0))
    kept = [[i] for i in range(1000)]
""")


def _at_exit(register: str) -> str:
    """``(frozen at the end, [frozen when a handler registered after REGISTER ran])``."""
    done = subprocess.run([sys.executable, "-c", _CHILD.format(repo=str(REPO), register=register)],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_freeze_runs_at_exit_after_the_handlers_registered_later() -> None:
    assert _at_exit("from studio.core.process_exit import freeze_at_exit; freeze_at_exit(); freeze_at_exit()") \
        == "True [False]"
    assert _at_exit("pass") == "False [False]"


def test_the_command_line_freezes_only_as_the_process_command() -> None:
    assert _at_exit("from studio.cli import main; main(['--version'])") == "False [False]"  # called as a function
    assert _at_exit("from studio.cli import main; sys.argv = ['studio', '--version']; main()") == "True [False]"


def _registered_here(progress, cancel) -> tuple[bool, int]:  # runs in the helper
    import os

    from studio.core import process_exit

    return process_exit._registered, os.getpid()  # noqa: SLF001 - what the helper's start registered


def test_gui_helpers_register_it() -> None:
    import os

    from studio.core.cancel import CancelToken
    from studio.gui.helper_task import Spare, run_in_helper

    for spare in (None, Spare(None)):
        registered, pid = run_in_helper(_registered_here, (), lambda *a: None, CancelToken(), spare=spare)
        assert registered and pid != os.getpid()
