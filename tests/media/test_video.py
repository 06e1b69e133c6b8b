"""VideoReader: metadata, frame-exact random access, iteration, rotation, bad files."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.media.ffmpeg import ffmpeg_exe
from studio.media.video import VideoReader

from .conftest import decode_index, encode_with_ffmpeg, index_frame


def test_metadata(index_video: Path) -> None:
    with VideoReader(index_video) as reader:
        assert reader.fps == 25
        assert reader.frame_count == 120 == len(reader)
        assert reader.size == (192, 96)
        frame = reader.read(0)
        assert frame.shape == (96, 192, 3) and frame.dtype == np.uint8


def test_random_access_is_frame_exact_and_seeks(index_video: Path) -> None:
    rng = random.Random(3)
    order = [119, 0, 60, 61, 62, 90, 5, 118, 1, 33] + rng.sample(range(120), 40)
    with VideoReader(index_video, cache_bytes=0) as reader:
        for i in order:
            assert decode_index(reader.read(i)) == i
        # far jumps start a seeking decoder; near-forward reads reuse the running one
        assert 1 < reader.seeks < len(order)


def test_forward_scrubbing_reuses_one_decoder(index_video: Path) -> None:
    with VideoReader(index_video, cache_bytes=0) as reader:
        for i in range(40, 100, 3):
            assert decode_index(reader.read(i)) == i
        assert reader.seeks == 1


def test_cache_serves_repeated_reads(index_video: Path) -> None:
    with VideoReader(index_video) as reader:
        first = reader.read(70)
        seeks = reader.seeks
        assert reader.read(70) is first
        assert reader.seeks == seeks
        assert not first.flags.writeable


def test_iteration_and_ranges(index_video: Path) -> None:
    with VideoReader(index_video) as reader:
        assert [decode_index(f) for f in reader] == list(range(120))
        assert [decode_index(f) for f in reader.iter_frames(50, 55)] == [50, 51, 52, 53, 54]
        assert decode_index(reader[-1]) == 119


def test_ntsc_rate_and_webm(make_video) -> None:
    path = make_video("ntsc.webm", 40, fps=30000 / 1001, args=("-c:v", "libvpx-vp9", "-g", "10", "-crf", "30", "-b:v", "0"))
    with VideoReader(path) as reader:
        assert abs(reader.fps - 30000 / 1001) < 1e-9
        assert reader.frame_count == 40
        for i in (39, 3, 20, 21, 7):
            assert decode_index(reader.read(i)) == i


def test_out_of_range_index_names_the_range(index_video: Path) -> None:
    with VideoReader(index_video) as reader:
        with pytest.raises(StudioError, match="frames 0 to 119"):
            reader.read(120)


@pytest.mark.parametrize("rotation", [90, 270, 180])
def test_rotation_metadata_is_applied(index_video: Path, tmp_path: Path, rotation: int) -> None:
    rotated = tmp_path / f"rot{rotation}.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-display_rotation", str(rotation), "-i", str(index_video),
                    "-c", "copy", str(rotated)], check=True)
    with VideoReader(index_video) as plain, VideoReader(rotated) as reader:
        assert reader.rotation == rotation
        expected = np.rot90(plain.read(17), k=rotation // 90)  # display matrix: counter-clockwise
        assert reader.size == (expected.shape[1], expected.shape[0])
        assert np.abs(reader.read(17).astype(int) - expected).mean() < 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="no file at"):
        VideoReader(tmp_path / "nope.mp4")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(StudioError, match="0 bytes"):
        VideoReader(tmp_path / "empty.mp4")


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(StudioError, match="is a folder"):
        VideoReader(tmp_path)


def test_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("these are not frames\n" * 100)
    with pytest.raises(StudioError) as info:
        VideoReader(path)
    assert "notes.mp4" in info.value.description and "cannot be opened" in info.value.description


def test_truncated_file(index_video: Path, tmp_path: Path) -> None:
    data = index_video.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])  # the mp4 index (moov) is at the end: now missing
    with pytest.raises(StudioError, match="truncated"):
        VideoReader(path)


def test_truncated_streamable_file_reads_what_is_there(tmp_path: Path) -> None:
    whole = encode_with_ffmpeg([index_frame(i) for i in range(60)], tmp_path / "ts.ts",
                               args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-f", "mpegts"))
    data = whole.read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(data[: len(data) // 2])
    with VideoReader(cut) as reader:
        assert 0 < reader.frame_count < 60
        last = reader.frame_count - 1
        assert decode_index(reader.read(last)) == last


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", str(path)], check=True)
    with pytest.raises(StudioError, match="no video stream"):
        VideoReader(path)


def test_still_image_is_not_a_video(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(index_frame(0)).save(path)
    with pytest.raises(StudioError, match="still image"):
        VideoReader(path)


def test_ten_hour_clip_is_refused(tmp_path: Path) -> None:
    # 10 frames at one frame per hour: a ten-hour clip in a few kilobytes
    path = tmp_path / "long.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=size=64x64:rate=25:duration=0.4",
                    "-vf", "setpts=N*3600/TB", "-fps_mode", "passthrough", "-c:v", "libx264", str(path)], check=True)
    with pytest.raises(StudioError, match="minutes long; the limit is 30 minutes"):
        VideoReader(path)


def test_duration_limit_is_configurable(index_video: Path) -> None:
    with pytest.raises(StudioError, match="Trim"):
        VideoReader(index_video, max_seconds=2.0)


def test_imprecise_container_seeking_is_still_frame_exact(tmp_path: Path) -> None:
    # MPEG-TS has no index: ffmpeg's seeks land late; the reader backs off and checks timestamps
    path = encode_with_ffmpeg([index_frame(i) for i in range(80)], tmp_path / "clip.ts",
                              args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-f", "mpegts"))
    with VideoReader(path, cache_bytes=0) as reader:
        assert reader.frame_count == 80
        for i in (79, 5, 40, 41, 12, 66, 0, 30):
            assert decode_index(reader.read(i)) == i


def test_variable_frame_rate_indices_follow_decoded_frames(tmp_path: Path) -> None:
    # frames at irregular times: index i is still the i-th decoded frame
    path = tmp_path / "vfr.mkv"
    frames = [index_frame(i) for i in range(30)]
    encode_with_ffmpeg(frames, path, args=("-vf", "setpts='N/25/TB+if(gte(N,10),0.3/TB,0)'",
                                           "-fps_mode", "passthrough", "-c:v", "libx264", "-g", "5"))
    with VideoReader(path, cache_bytes=0) as reader:
        assert reader.frame_count == 30
        for i in (29, 11, 10, 9, 3, 20):
            assert decode_index(reader.read(i)) == i


def test_raw_stream_without_timestamps_falls_back_to_decoding(tmp_path: Path) -> None:
    from studio.media.ffmpeg import packet_timestamps

    path = encode_with_ffmpeg([index_frame(i) for i in range(40)], tmp_path / "clip.h264",
                              args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-f", "h264"))
    assert packet_timestamps(path) is None  # an elementary stream's packets carry no pts
    with VideoReader(path, cache_bytes=0) as reader:
        assert reader.frame_count == 40
        for i in (39, 2, 25, 26, 0):
            assert decode_index(reader.read(i)) == i


def test_absurd_frame_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fast.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=size=64x64:rate=1000:duration=0.05",
                    "-c:v", "libx264", str(path)], check=True)
    with pytest.raises(StudioError, match="1000 frames per second, outside the supported 1-240"):
        VideoReader(path)


def test_absurd_frame_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.mkv"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "color=size=9000x16:rate=25:duration=0.04",
                    "-c:v", "ffv1", str(path)], check=True)
    with pytest.raises(StudioError, match="9000x16 pixels; the supported range is 1 to 8192"):
        VideoReader(path)


def test_length_limit_applies_without_a_header_duration(tmp_path: Path) -> None:
    path = encode_with_ffmpeg([index_frame(i) for i in range(40)], tmp_path / "clip.h264",
                              args=("-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "h264"))
    with pytest.raises(StudioError, match="the limit is"):
        VideoReader(path, max_seconds=1.0)  # 40 frames at 25 fps = 1.6 s


def test_cover_art_is_not_the_video(index_video: Path, tmp_path: Path) -> None:
    from PIL import Image

    cover = tmp_path / "cover.png"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(cover)
    song = tmp_path / "song.m4a"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-i", str(cover),
                    "-map", "0", "-map", "1", "-c:a", "aac", "-c:v", "png", "-disposition:v", "attached_pic",
                    str(song)], check=True)
    with pytest.raises(StudioError, match="no video stream"):
        VideoReader(song)
    # a video carrying cover art still reads its real video stream
    covered = tmp_path / "covered.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(cover), "-i", str(index_video),
                    "-map", "0", "-map", "1:v", "-c:v:0", "png", "-c:v:1", "copy", "-disposition:v:0", "attached_pic",
                    str(covered)], check=True)
    with VideoReader(covered) as reader:
        assert reader.size == (192, 96) and reader.frame_count == 120
        assert decode_index(reader.read(77)) == 77


def test_one_reader_shared_by_threads(index_video: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with VideoReader(index_video, cache_bytes=0) as reader:
        picks = random.Random(7).choices(range(120), k=40)
        with ThreadPoolExecutor(max_workers=3) as pool:
            got = list(pool.map(lambda i: decode_index(reader.read(i)), picks))
        assert got == picks


def test_cut_off_faststart_file_counts_only_decodable_frames(index_video: Path, tmp_path: Path) -> None:
    # moov at the front: the index lists all 120 frames, but the data of the later ones is gone
    whole = tmp_path / "fast.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(index_video), "-c", "copy", "-movflags", "+faststart",
                    str(whole)], check=True)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with VideoReader(cut) as reader:
        frames = [decode_index(f) for f in reader]
        assert 0 < reader.frame_count < 120
        assert frames == list(range(reader.frame_count))
        assert decode_index(reader.read(reader.frame_count - 1)) == reader.frame_count - 1


def test_edit_list_discarded_frames_are_not_counted(index_video: Path, tmp_path: Path) -> None:
    # a stream copy cut mid-GOP keeps the keyframe before the cut but marks it discarded (edit list)
    from studio.media.ffmpeg import frame_timestamps, packet_timestamps

    cut = tmp_path / "edit.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-ss", "0.5", "-i", str(index_video), "-c", "copy", str(cut)],
                   check=True)
    packets = packet_timestamps(cut)
    assert packets is not None and packets == pytest.approx(frame_timestamps(cut))
    with VideoReader(cut, cache_bytes=0) as reader:
        decoded = [decode_index(f) for f in reader]
        assert len(decoded) == reader.frame_count
        first = decoded[0]
        assert decoded == list(range(first, first + reader.frame_count))
        for i in (reader.frame_count - 1, 0, 40, 7):
            assert decode_index(reader.read(i)) == first + i
