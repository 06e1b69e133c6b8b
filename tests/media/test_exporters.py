"""Exporters: round trips for every format, registry, progress, cancel, atomicity, errors."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.media import exporters as ex
from studio.media.ffmpeg_writer import FFmpegPipe
from studio.media.sequence import PngSequence
from studio.media.video import VideoReader


def smooth_frames(n: int = 20, w: int = 96, h: int = 72) -> list[np.ndarray]:
    """Soft moving gradients with a drifting blob: easy on lossy codecs, different every frame."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        cx, cy = w * (0.3 + 0.02 * i), h * 0.5
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (w * 0.15) ** 2))
        r = 40 + 150 * xx / w
        g = 30 + 120 * yy / h + 60 * blob
        b = 40 + 80 * blob + 6 * i
        out.append(np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8))
    return out


def read_back(path: Path, fps: float) -> tuple[list[np.ndarray], float, tuple[int, int]]:
    reader = PngSequence(path, fps=fps) if path.is_dir() else VideoReader(path)
    with reader:
        return list(reader), reader.fps, reader.size


@pytest.mark.parametrize(
    ("name", "fps", "size", "max_mae"),
    [
        ("clip.mp4", 25, (96, 72), 2.0),
        ("odd.mp4", 24, (95, 71), 2.0),
        ("clip.webm", 30, (96, 72), 3.0),
        ("clip.gif", 25, (96, 72), 3.5),
        ("frames/", 12, (95, 71), 0.0),
    ],
)
def test_round_trip(tmp_path: Path, name: str, fps: float, size: tuple[int, int], max_mae: float) -> None:
    frames = smooth_frames(20, *size)
    target = tmp_path / name
    seen: list[tuple[int, int | None]] = []
    out = ex.export_frames(iter(frames), fps, str(target), progress=lambda d, t: seen.append((d, t)), frame_count=20)
    assert out == Path(target) and out.exists()
    assert seen == [(i, 20) for i in range(1, 21)]
    back, back_fps, back_size = read_back(out, fps)
    assert len(back) == 20
    assert abs(back_fps - fps) < 1e-6
    even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    assert back_size == (size if name.endswith(("gif", "/")) else even)
    errors = [np.abs(b[: size[1], : size[0]].astype(float) - f).mean() for b, f in zip(back, frames)]
    assert max(errors) <= max_mae, errors
    # the frames are in order: once the codec's constant colour bias is removed, each read-back
    # frame's mean colour is closest to its own source frame's (they differ by 6 levels of blue)
    means = np.array([f.reshape(-1, 3).mean(0) for f in frames])
    got = np.array([b[: size[1], : size[0]].reshape(-1, 3).mean(0) for b in back])
    got -= (got - means).mean(0)
    assert [int(np.argmin(np.abs(means - g).sum(1))) for g in got] == list(range(20))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(("palette", "max_mae"), [("per_frame", 3.5), ("global", 10.0)])
def test_gif_palette_beats_ffmpeg_default_palette(tmp_path: Path, palette: str, max_mae: float) -> None:
    frames = smooth_frames(20)
    ex.GIFExporter(palette=palette).write(frames, 25, tmp_path / "good.gif")
    naive = FFmpegPipe(tmp_path / "naive.gif", (96, 72), 25, ["-f", "gif"])  # fixed 3-3-2 palette
    for f in frames:
        naive.write(f)
    naive.finish()
    good_err = np.mean([np.abs(b.astype(float) - f).mean() for b, f in zip(read_back(tmp_path / "good.gif", 25)[0], frames)])
    naive_err = np.mean([np.abs(b.astype(float) - f).mean() for b, f in zip(read_back(tmp_path / "naive.gif", 25)[0], frames)])
    assert good_err < 0.5 * naive_err and good_err < max_mae


def test_png_sequence_names_and_lossless(tmp_path: Path) -> None:
    frames = smooth_frames(3)
    ex.PNGSequenceExporter().write(frames, 25, tmp_path / "seq")
    assert sorted(p.name for p in (tmp_path / "seq").iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "seq" / "frame_00002.png")), frames[2])


def test_registry_picks_by_extension() -> None:
    assert isinstance(ex.exporter_for("a.MP4"), ex.MP4Exporter)
    assert isinstance(ex.exporter_for("a.webm"), ex.WebMExporter)
    assert isinstance(ex.exporter_for("a.gif"), ex.GIFExporter)
    assert isinstance(ex.exporter_for("out/"), ex.PNGSequenceExporter)
    assert isinstance(ex.exporter_for("out"), ex.PNGSequenceExporter)
    with pytest.raises(StudioError, match="'.avi' is not supported"):
        ex.exporter_for("a.avi")


@pytest.mark.parametrize("name", ["c.mp4", "c.gif", "seq/"])
def test_cancel_leaves_nothing(tmp_path: Path, name: str) -> None:
    token = CancelToken()

    def frames():
        for i, f in enumerate(smooth_frames(30)):
            if i == 12:
                token.cancel()
            yield f

    with pytest.raises(RenderCancelled):
        ex.export_frames(frames(), 25, str(tmp_path / name), cancel=token)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["c.mp4", "seq/"])
def test_failed_export_keeps_the_existing_target(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    ex.export_frames(smooth_frames(5), 25, str(target))
    before = sorted(p.name for p in target.iterdir()) if target.is_dir() else target.read_bytes()

    def broken():
        yield from smooth_frames(3)
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        ex.export_frames(broken(), 25, str(target))
    after = sorted(p.name for p in target.iterdir()) if target.is_dir() else target.read_bytes()
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_replacing_a_sequence_swaps_it_whole(tmp_path: Path) -> None:
    ex.export_frames(smooth_frames(6), 25, str(tmp_path / "seq/"))
    ex.export_frames(smooth_frames(2), 25, str(tmp_path / "seq/"))
    assert len(list((tmp_path / "seq").iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq"]


def test_refuses_to_replace_a_folder_of_other_files(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    with pytest.raises(StudioError, match="not frames of a PNG sequence"):
        ex.export_frames(smooth_frames(2), 25, str(tmp_path / "mine"))
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


def test_bad_frames(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="no frames"):
        ex.export_frames([], 25, str(tmp_path / "a.mp4"))
    with pytest.raises(StudioError, match="same size"):
        ex.export_frames([np.zeros((64, 64, 3), np.uint8), np.zeros((32, 64, 3), np.uint8)], 25, str(tmp_path / "b.gif"))
    with pytest.raises(StudioError, match="shape"):
        ex.export_frames([np.zeros((64, 64, 5), np.uint8)], 25, str(tmp_path / "c.mp4"))
    with pytest.raises(StudioError, match="Frame rate"):
        ex.export_frames(smooth_frames(2), 0, str(tmp_path / "d.mp4"))
    assert list(tmp_path.iterdir()) == []


def test_float_and_gray_frames_are_accepted(tmp_path: Path) -> None:
    frames = [np.full((64, 64), 0.5, np.float32), np.full((64, 64, 4), 128, np.uint8)]
    ex.export_frames(frames, 10, str(tmp_path / "seq/"))
    back = list(PngSequence(tmp_path / "seq"))
    assert back[0].shape == (64, 64, 3) and back[0][0, 0, 0] == 128 and back[1][0, 0, 2] == 128


def test_full_disk_from_ffmpeg_is_a_clear_error(tmp_path: Path) -> None:
    # /dev/full fails every write with ENOSPC, as a full disk does
    pipe = FFmpegPipe(Path("/dev/full"), (64, 64), 25, ["-c:v", "rawvideo", "-f", "nut"], target=tmp_path / "x.mkv")
    with pytest.raises(StudioError, match="disk holding .* is full"):
        for _ in range(200):
            pipe.write(np.zeros((64, 64, 3), np.uint8))
        pipe.finish()


def test_full_disk_while_writing_pngs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    real_save = Image.Image.save

    def save(self, fp, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    with pytest.raises(StudioError, match="is full"):
        ex.export_frames(smooth_frames(5), 25, str(tmp_path / "seq/"))
    assert list(tmp_path.iterdir()) == []


def test_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "touch", refuse)
    with pytest.raises(StudioError, match="read-only drive"):
        ex.export_frames(smooth_frames(2), 25, str(tmp_path / "a.mp4"))


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root ignores folder permissions")
def test_folder_without_write_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(StudioError, match="permission"):
            ex.export_frames(smooth_frames(2), 25, str(locked / "a.mp4"))
    finally:
        locked.chmod(0o755)


def test_interrupt_leaves_nothing(tmp_path: Path) -> None:
    def frames():
        yield from smooth_frames(4)
        raise KeyboardInterrupt  # Ctrl-C in the terminal

    with pytest.raises(KeyboardInterrupt):
        ex.export_frames(frames(), 25, str(tmp_path / "c.webm"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_unwritable_system_folder_is_a_clear_error() -> None:
    # sysfs refuses new files even to root: a real permission error, no monkeypatching
    with pytest.raises(StudioError, match="permission to write in /sys"):
        ex.export_frames(smooth_frames(2), 25, "/sys/studio-export-test.mp4")


def test_file_names_that_look_like_ffmpeg_protocols(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = ex.export_frames(smooth_frames(4), np.float32(25), "concat:clip.mp4")
    assert (tmp_path / "concat:clip.mp4").is_file()
    with VideoReader(out) as reader:
        assert reader.frame_count == 4
