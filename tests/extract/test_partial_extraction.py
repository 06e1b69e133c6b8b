"""Partial extraction: a range of a clip is detected alone, cached as partial (never taken for the
whole clip), and later calls detect only the frames still missing."""

from __future__ import annotations

import numpy as np
import pytest

from studio.core.tracks import FLAG_CUT, FLAG_PENDING
from studio.extract.cache import ExtractionCache
from studio.extract.detector import FrameDetection
from studio.extract.extractor import ExtractOptions, cache_key, extract_video
from studio.extract.partial import extract_range, has_partial, runs
from studio.extract.range_first import extract_first, pending_frames

N = 40
OPTIONS = ExtractOptions(hands=False, face=False)


class IndexDetector:
    """A fake detector that reads the frame index from the frame's brightness (see ``clip``) and
    records which frames it was asked about."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def detect(self, frame_rgb: np.ndarray, timestamp: float) -> FrameDetection:
        i = int(round((float(frame_rgb.mean()) - 20.0) / 5.0))
        self.seen.append(i)
        d = FrameDetection()
        d.n_people = 1
        d.body[:] = 0.2 + 0.01 * i
        d.body_conf[:] = 0.9
        return d

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def clip(tmp_path):
    """A 40-frame clip whose frame i is a flat grey of 20 + 5 i (no cuts: flat frames)."""
    from studio.media.exporters import export_frames

    frames = [np.full((64, 48, 3), 20 + 5 * i, np.uint8) for i in range(N)]
    return export_frames(frames, 8.0, tmp_path / "clip.mp4")


def test_runs() -> None:
    assert runs(np.array([1, 1, 0, 0, 1, 0, 1], bool)) == [(0, 2), (4, 5), (6, 7)]
    assert runs(np.zeros(3, bool)) == []


def test_a_range_is_cached_as_partial_and_extended_later(clip) -> None:
    det = IndexDetector()
    first = extract_range(clip, 8, 16, options=OPTIONS, detector=det)
    assert det.seen == list(range(8, 16))  # only the range was detected
    assert pending_frames(first.pose).tolist() == [*range(8), *range(16, N)]
    assert np.isnan(first.pose.body[0]).all() and np.isfinite(first.pose.body[8:16]).all()
    # the partial result is never taken for the whole clip's extraction
    key = cache_key(clip, OPTIONS)
    assert ExtractionCache().load(key) is None and has_partial(clip, OPTIONS)

    det.seen.clear()
    again = extract_range(clip, 4, 20, options=OPTIONS, detector=det)
    assert det.seen == [*range(4, 8), *range(16, 20)]  # what was done is not done again
    assert pending_frames(again.pose).tolist() == [*range(4), *range(20, N)]
    assert np.array_equal(again.raw_pose.body[8:16], first.raw_pose.body[8:16])

    det.seen.clear()
    whole = extract_video(clip, options=OPTIONS, detector=det)  # finishes the partial one
    assert det.seen == [*range(4), *range(20, N)]
    assert pending_frames(whole.pose).size == 0 and len(whole.pose) == N
    assert not has_partial(clip, OPTIONS) and ExtractionCache().load(key) is not None
    assert not (whole.raw_pose.flags & FLAG_CUT).any()  # piece boundaries are not cuts
    det.seen.clear()
    assert extract_video(clip, options=OPTIONS, detector=det).from_cache and det.seen == []


def test_pieces_give_the_one_pass_result_when_detections_are_per_frame(clip, tmp_path) -> None:
    """With a detector that keeps no state, the clip extracted piece by piece cleans up to
    exactly the one-pass result (smoothing, gap filling and side repair see the whole clip)."""
    pieces = ExtractionCache(tmp_path / "pieces")
    for a, b in ((10, 20), (0, 5), (30, 40)):
        extract_range(clip, a, b, options=ExtractOptions(), detector=IndexDetector(), cache=pieces)
    pieced = extract_video(clip, options=ExtractOptions(), detector=IndexDetector(), cache=pieces)
    one = extract_video(clip, options=ExtractOptions(), detector=IndexDetector(), use_cache=False)
    assert np.array_equal(pieced.pose.body, one.pose.body, equal_nan=True)
    assert np.array_equal(pieced.pose.flags, one.pose.flags)


def test_a_damaged_or_foreign_partial_entry_is_ignored(clip) -> None:
    from studio.extract.partial import Partial, partial_key, pending_tracks

    key = cache_key(clip, OPTIONS)
    store = ExtractionCache()
    short = Partial(*pending_tracks(N - 1, 48, 64, 8.0))  # another clip length
    short.raw_pose.flags[:] = 0
    short.raw_face.flags[:] = 0
    for entry in (short.to_dict(OPTIONS, "x"), {"format": "something else"}, {"format": "studio-partial-extraction"}):
        store.store(partial_key(key), entry)
        det = IndexDetector()
        extract_range(clip, 0, 8, options=OPTIONS, detector=det)
        assert det.seen == list(range(8))  # nothing taken from the unusable entry
        store.path_for(partial_key(key)).unlink()


def test_range_first_reuses_the_partial_extraction(clip) -> None:
    extract_range(clip, 0, N // 2, options=ExtractOptions())
    first = extract_first(clip, (0, N // 2))
    assert not first.complete and pending_frames(first.pose).tolist() == list(range(N // 2, N))
    assert (first.pose.flags[N // 2:] == FLAG_PENDING).all()


def test_the_first_window_of_real_footage_is_the_whole_clip_extractions(tmp_path) -> None:
    """The frames extracted first (range-first: the real MediaPipe detector, a fresh tracker at
    the window's start) are, raw and cleaned, exactly those of the whole clip extracted in one
    pass, so showing or rendering them early changes nothing there."""
    from pathlib import Path

    clip = Path(__file__).resolve().parents[1] / "fixtures" / "real_dance" / "driving_2_24f.mp4"
    part = extract_range(clip, 0, 12, cache=ExtractionCache(tmp_path / "part"))
    whole = extract_video(clip, use_cache=False)
    assert pending_frames(part.pose).tolist() == list(range(12, 24))
    assert np.isfinite(part.pose.body[:12]).any()  # a person was found in the window
    for a, b in ((part.raw_pose, whole.raw_pose), (part.raw_face, whole.raw_face), (part.pose, whole.pose),
                 (part.face, whole.face)):
        for k in a._arrays:  # noqa: SLF001 - every per-frame array of the track
            assert np.array_equal(getattr(a, k)[:12], getattr(b, k)[:12], equal_nan=True), k
