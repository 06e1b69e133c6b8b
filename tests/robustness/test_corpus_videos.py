"""Bad-input corpus, driving videos: a clear StudioError, or a correct read of odd-but-valid files;
extraction of clips with no person, two people, a person who leaves: flagged frames, never a crash."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from robust_helpers import assert_clear, encode, ffmpeg, gradient, pattern_video, person_frames
from studio.core.errors import StudioError
from studio.core.tracks import FLAG_MULTIPLE, FLAG_NO_PERSON
from studio.media.video import VideoReader


def _zero_bytes(d: Path) -> Path:
    p = d / "empty.mp4"
    p.write_bytes(b"")
    return p


def _truncated(d: Path) -> Path:
    whole = pattern_video(d / "whole.mp4", n=20)
    p = d / "cut.mp4"
    p.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # the index (moov) is at the end
    return p


def _audio_only(d: Path) -> Path:
    p = d / "voice.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=duration=0.5", p)
    return p


def _ten_hours(d: Path) -> Path:
    # 10 frames one hour apart: ten hours of metadata in a few kilobytes
    p = d / "long.mkv"
    ffmpeg("-f", "lavfi", "-i", "color=size=64x64:rate=25:duration=0.4", "-vf", "setpts=N*3600/TB",
           "-fps_mode", "passthrough", "-c:v", "libx264", p)
    return p


def _text(d: Path) -> Path:
    p = d / "notes.mp4"
    p.write_text("not a video\n" * 200)
    return p


def _random_bytes(d: Path) -> Path:
    p = d / "noise.mp4"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return p


def _pdf(d: Path) -> Path:
    p = d / "invoice.mov"
    p.write_bytes(b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 50)
    return p


def _still_image(d: Path) -> Path:
    p = d / "photo.mp4"
    Image.fromarray(gradient()).save(p, "PNG")
    return p


def _absurd_rate(d: Path) -> Path:
    p = d / "fast.mkv"
    ffmpeg("-f", "lavfi", "-i", "color=size=64x64:rate=1000:duration=0.02", "-c:v", "libx264", p)
    return p


def _missing(d: Path) -> Path:
    return d / "dance_moved.mp4"


def _folder(d: Path) -> Path:
    p = d / "clip.mp4"
    p.mkdir()
    return p


ERROR_CASES: dict[str, Callable[[Path], Path]] = {
    "zero-bytes": _zero_bytes,
    "truncated-mp4": _truncated,
    "audio-only": _audio_only,
    "10-hour-metadata": _ten_hours,
    "text-with-mp4-extension": _text,
    "random-bytes-with-mp4-extension": _random_bytes,
    "pdf-with-mov-extension": _pdf,
    "still-image-with-mp4-extension": _still_image,
    "1000-fps": _absurd_rate,
    "missing": _missing,
    "folder": _folder,
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_video_is_a_clear_error(tmp_path: Path, case: str) -> None:
    path = ERROR_CASES[case](tmp_path)
    with pytest.raises(StudioError) as info:
        with VideoReader(path) as reader:
            reader.read(0)
    assert_clear(info.value, path.name)


#: What the error must say (and must not) about the files that are not videos at all.
NOT_A_VIDEO = {
    "text-with-mp4-extension": "it is a text file, not a video",
    "random-bytes-with-mp4-extension": "it is not a video file",
    "pdf-with-mov-extension": "it is a PDF document, not a video",
}


@pytest.mark.parametrize("case", list(NOT_A_VIDEO))
def test_a_file_that_is_no_video_is_not_called_truncated(tmp_path: Path, case: str) -> None:
    path = ERROR_CASES[case](tmp_path)
    with pytest.raises(StudioError) as info:
        VideoReader(path)
    text = info.value.description
    assert NOT_A_VIDEO[case] in text and "truncated" not in text and "damaged" not in text
    assert "demuxer" in text and "Invalid data found when processing input" in text  # who said so


def test_a_truncated_mp4_is_still_called_truncated(tmp_path: Path) -> None:
    path = _truncated(tmp_path)
    with pytest.raises(StudioError) as info:
        VideoReader(path)
    assert "it is truncated" in info.value.description and "moov atom not found" in info.value.description


# -- odd but valid files: they must read correctly ----------------------------------------------------
def _frames(n: int) -> list[np.ndarray]:
    """Frames whose mean brightness encodes their index (robust to lossy coding)."""
    return [np.full((48, 64, 3), 20 + 20 * i, np.uint8) for i in range(n)]


def _index(frame: np.ndarray) -> int:
    return int(round((frame.mean() - 20) / 20))


def test_one_frame_video_reads_its_frame(tmp_path: Path) -> None:
    path = encode(_frames(1), tmp_path / "single.mp4")
    with VideoReader(path) as reader:
        assert reader.frame_count == 1
        frame = reader.read(0)
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3) and _index(frame) == 0
        with pytest.raises(StudioError, match="frames 0 to 0"):
            reader.read(1)


def test_variable_frame_rate_video_reads_every_frame_in_order(tmp_path: Path) -> None:
    path = encode(_frames(10), tmp_path / "vfr.mkv", extra=(
        "-vf", "setpts='N/25/TB+if(gte(N,4),0.4/TB,0)'", "-fps_mode", "passthrough", "-c:v", "libx264", "-g", "3"))
    with VideoReader(path, cache_bytes=0) as reader:
        assert reader.frame_count == 10
        assert [_index(reader.read(i)) for i in (9, 4, 3, 0, 6)] == [9, 4, 3, 0, 6]
        assert [_index(f) for f in reader] == list(range(10))


def test_rotated_video_comes_out_upright(tmp_path: Path) -> None:
    plain = tmp_path / "plain.mp4"
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:8] = 255  # a bright band along the top edge
    encode([frame] * 3, plain)
    rotated = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "90", "-i", plain, "-c", "copy", rotated)
    with VideoReader(rotated) as reader:
        assert reader.size == (48, 64)
        out = reader.read(1)
    assert out.shape == (64, 48, 3)
    assert np.abs(out.astype(int) - np.rot90(frame)).mean() < 4


# -- extraction: people missing, doubled, leaving ------------------------------------------------------
@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Real MediaPipe extraction of tiny clips (each frame a photographed person or not)."""
    from studio.extract.extractor import ExtractOptions, extract_video

    d = tmp_path_factory.mktemp("people")
    out = {}
    opts = ExtractOptions(hands=False, smoothing=False)
    for kind in ("none", "two", "leaves"):
        path = encode(person_frames(kind, n=8, size=192), d / f"{kind}.mp4")
        out[kind] = extract_video(path, options=opts, use_cache=False)
    return out


def test_video_without_a_person_is_flagged_on_every_frame(extracted) -> None:
    res = extracted["none"]
    assert len(res.raw_pose) == 8
    assert (res.raw_pose.flags & FLAG_NO_PERSON).all() and not res.pose.has_person().any()


def test_two_people_are_flagged_and_one_is_kept(extracted) -> None:
    res = extracted["two"]
    assert res.pose.has_person().all()
    assert (res.raw_pose.flags & FLAG_MULTIPLE).any()


def test_person_leaving_mid_clip_is_flagged_after_leaving(extracted) -> None:
    res = extracted["leaves"]
    has = res.raw_pose.has_person()
    assert has[:4].all() and not has[4:].any()
    assert (res.raw_pose.flags[4:] & FLAG_NO_PERSON).all()


@pytest.mark.parametrize("backend_name", ["draft"])
def test_rendering_a_clip_without_a_person_is_a_clear_error(extracted, backend_name: str) -> None:
    from robust_helpers import astronaut
    from studio.core.registry import create_backend as get_backend
    from studio.core.events import Failed
    from studio.core.jobs import RenderJob
    from studio.core.render import run_job
    from studio.core.settings import RenderSettings

    pose = extracted["none"].pose
    job = RenderJob(reference=astronaut(), pose=pose, frames=tuple(range(len(pose))),
                    settings=RenderSettings(backend=backend_name, width=64, height=64))
    events = list(run_job(job, get_backend(backend_name)))
    assert isinstance(events[-1], Failed), events[-1]
    assert_clear(events[-1].error)
    assert "person" in events[-1].error.description
    # a clip where the person is there for a while renders those frames fine
    has = extracted["leaves"].pose
    ok = dataclasses.replace(job, pose=has, frames=(0, 1, 2))
    assert type(list(run_job(ok, get_backend(backend_name)))[-1]).__name__ == "Finished"
