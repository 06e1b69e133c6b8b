"""Video files end to end: extract_video, the disk cache, and the extract / maps commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.core.errors import StudioError
from studio.extract.cache import ExtractionCache, cache_root, file_fingerprint
from studio.extract.extractor import ExtractionResult, ExtractOptions, extract_video
from synth import make_clip

SIZE = (256, 448)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import imageio.v3 as iio
    from skimage import data

    frames, _ = make_clip(data.astronaut(), 12, SIZE)
    path = tmp_path_factory.mktemp("clip") / "dance.mp4"
    iio.imwrite(path, np.stack(frames), fps=25, codec="libx264", macro_block_size=16)
    return path


def test_second_extraction_comes_from_the_cache(video: Path, tmp_path: Path) -> None:
    assert cache_root() == tmp_path / "cache"  # STUDIO_CACHE_DIR is honoured
    first = extract_video(video)
    assert not first.from_cache and first.pose.has_person().all()
    assert len(list((tmp_path / "cache" / "extract").glob("*.json"))) == 1
    second = extract_video(video)
    assert second.from_cache
    np.testing.assert_array_equal(second.pose.body, first.pose.body)
    np.testing.assert_array_equal(second.raw_face.box, first.raw_face.box)
    assert second.pose.fingerprint() == first.pose.fingerprint()
    # other options are another cache entry
    third = extract_video(video, options=ExtractOptions(smoothing=False))
    assert not third.from_cache


def test_damaged_cache_entry_is_recomputed(video: Path) -> None:
    first = extract_video(video, options=ExtractOptions(hands=False))
    cache = ExtractionCache()
    files = list(cache.root.glob("*.json"))
    assert files
    for f in files:
        f.write_text("{not json")
    again = extract_video(video, options=ExtractOptions(hands=False))
    assert not again.from_cache
    np.testing.assert_allclose(again.raw_pose.body, first.raw_pose.body, atol=1e-6)


def test_fingerprint_follows_content(tmp_path: Path) -> None:
    a = tmp_path / "a.bin"
    a.write_bytes(b"x" * 10_000_000)
    fa = file_fingerprint(a)
    data = bytearray(a.read_bytes())
    data[-1] = ord("y")
    a.write_bytes(bytes(data))
    assert file_fingerprint(a) != fa
    with pytest.raises(StudioError):
        file_fingerprint(tmp_path / "missing.mp4")


def test_result_file_round_trip_and_errors(video: Path, tmp_path: Path) -> None:
    res = extract_video(video, options=ExtractOptions(hands=False, face=False))
    path = res.save(tmp_path / "t.json")
    back = ExtractionResult.load(path)
    np.testing.assert_array_equal(back.pose.body, res.pose.body)
    assert back.options == res.options and back.source == str(video)
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(StudioError):
        ExtractionResult.load(tmp_path / "bad.json")
    with pytest.raises(StudioError):
        ExtractionResult.load(tmp_path / "missing.json")


def test_cli_extract_then_maps(video: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    track = tmp_path / "track.json"
    assert main(["extract", str(video), "-o", str(track), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "12 frames, person on 12" in printed
    assert "S-Face: a usable face on " in printed and "/12 frames" in printed  # the face coverage
    out = tmp_path / "maps"
    assert main(["maps", str(track), "--size", "128x224", "-o", str(out), "--no-progress"]) == 0
    for kind in ("pose", "driving", "sface_local", "sface_global"):
        files = sorted((out / kind).glob("*.png"))
        assert len(files) == 12, kind
        img = np.asarray(Image.open(files[5]))
        assert img.shape == (224, 128, 3) and img.any(), kind
    pose_only = tmp_path / "pose_only"
    assert main(["maps", str(track), "--size", "64x112", "-o", str(pose_only), "--pose-only",
                 "--no-progress"]) == 0
    assert len(list((pose_only / "pose").glob("*.png"))) == 12 and not (pose_only / "sface_local").exists()
    # retargeted to a reference photo (the same person, larger): still a skeleton on every frame
    from skimage import data

    photo = tmp_path / "ref.png"
    Image.fromarray(data.astronaut()).save(photo)
    retargeted = tmp_path / "retargeted"
    assert main(["maps", str(track), "--size", "128x224", "-o", str(retargeted), "--pose-only",
                 "--reference", str(photo), "--no-progress"]) == 0
    plain = np.asarray(Image.open(out / "pose" / "005.png"))
    moved = np.asarray(Image.open(retargeted / "pose" / "005.png"))
    assert moved.any() and not np.array_equal(plain, moved)


def test_cli_errors_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["extract", str(tmp_path / "nope.mp4"), "-o", str(tmp_path / "t.json"), "--no-progress"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["maps", str(tmp_path / "t.json"), "--size", "big", "-o", str(tmp_path)]) == 2
    assert "--size" in capsys.readouterr().err
