"""Bad-target corpus, exports: read-only and system folders, a full disk, a cancel half way, odd
targets. Every case is a clear StudioError (or a clean cancel), nothing is left at the target, and an
existing file there is never replaced by a partial one."""

from __future__ import annotations

import errno
import resource
import signal
from pathlib import Path

import numpy as np
import pytest

from robust_helpers import assert_clear, assert_cli_clear, run_cli
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.media.exporters import export_frames

TARGETS = ["clip.mp4", "clip.webm", "clip.gif", "frames/"]


def frames(n: int = 12, size: int = 64) -> list[np.ndarray]:
    """Small frames with motion (so encoders have work)."""
    yy, xx = np.mgrid[0:size, 0:size]
    return [np.stack([(xx * 4 + 9 * i) % 256, (yy * 4) % 256, np.full_like(xx, 30 * i % 256)], -1).astype(np.uint8)
            for i in range(n)]


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("name", TARGETS)
def test_cancel_half_way_leaves_nothing_and_keeps_the_old_file(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    export_frames(frames(4), 25, str(target))  # an earlier export the artist wants to keep
    before = _listing(tmp_path)
    old = target.read_bytes() if target.is_file() else [p.read_bytes() for p in sorted(target.iterdir())]
    token = CancelToken()

    def slow():
        for i, f in enumerate(frames(12)):
            if i == 6:
                token.cancel()  # the artist clicks Cancel half way
            yield f

    with pytest.raises(RenderCancelled):
        export_frames(slow(), 25, str(target), cancel=token)
    assert _listing(tmp_path) == before  # no temp file, no half-written output
    now = target.read_bytes() if target.is_file() else [p.read_bytes() for p in sorted(target.iterdir())]
    assert now == old


@pytest.mark.parametrize("name", TARGETS)
def test_cancel_before_any_file_existed_leaves_no_file(tmp_path: Path, name: str) -> None:
    token = CancelToken()

    def slow():
        for i, f in enumerate(frames(10)):
            if i == 5:
                token.cancel()
            yield f

    with pytest.raises(RenderCancelled):
        export_frames(slow(), 25, str(tmp_path / name), cancel=token)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["out.mp4", "frames/"])
@pytest.mark.parametrize("code, words", [(errno.EROFS, "read-only"), (errno.ENOSPC, "full"),
                                         (errno.EACCES, "permission")])
def test_os_refusals_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str,
                                      name: str) -> None:
    # creating the output in the target folder fails as a read-only drive / full disk / locked folder would
    target = tmp_path / name

    def refuse(*args, **kwargs):
        raise OSError(code, errno.errorcode[code], str(target))

    monkeypatch.setattr(Path, "touch", refuse)
    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(StudioError) as info:
        export_frames(frames(3), 25, str(target))
    monkeypatch.undo()
    assert_clear(info.value, target.name.rstrip("/"))
    assert words in info.value.description
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_export_into_a_system_folder_is_a_clear_error() -> None:
    # sysfs refuses new files even to root: a real refusal by the OS, nothing simulated
    with pytest.raises(StudioError) as info:
        export_frames(frames(2), 25, "/sys/studio-corpus.gif")
    assert_clear(info.value, "studio-corpus.gif")


def test_unsupported_format(tmp_path: Path) -> None:
    with pytest.raises(StudioError) as info:
        export_frames(frames(2), 25, str(tmp_path / "clip.avi"))
    assert_clear(info.value, "clip.avi")
    assert list(tmp_path.iterdir()) == []


def test_folder_in_the_way_of_a_file_target(tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").mkdir()
    (tmp_path / "clip.mp4" / "notes.txt").write_text("mine")
    with pytest.raises(StudioError) as info:
        export_frames(frames(2), 25, str(tmp_path / "clip.mp4"))
    assert_clear(info.value, "clip.mp4")
    assert (tmp_path / "clip.mp4" / "notes.txt").read_text() == "mine"


def _limit_file_size() -> None:
    """In the child: files may grow to 64 KiB only, as on a nearly full disk (writes past the limit
    fail with EFBIG instead of killing the process)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))


@pytest.mark.parametrize("name", ["big.mp4", "big.gif", "big/"])
def test_cli_export_onto_a_full_disk(tmp_path: Path, name: str) -> None:
    src = tmp_path / "src"
    noise = np.random.default_rng(0).integers(0, 256, (24, 160, 160, 3), np.uint8)  # hardly compresses
    export_frames(list(noise), 25, str(src) + "/")  # a PNG folder as the source
    target = tmp_path / name
    proc = run_cli("export", src, "-o", str(target), "--no-progress", preexec_fn=_limit_file_size)
    assert_cli_clear(proc, target.name.rstrip("/"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # nothing left beside the source
