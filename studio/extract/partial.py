"""Extraction of part of a clip, cached and extended later.

:func:`extract_range` detects only the frames of a range that no earlier call has detected,
adds them to the clip's *partial* cache entry, and returns whole-clip tracks whose frames not
detected yet are flagged :data:`~studio.core.tracks.FLAG_PENDING`. Once every frame is done the
complete result is stored under the whole clip's cache key and the partial entry is deleted.

The partial entry lives under its own key (the whole clip's key + ``-partial``) and format, so
nothing that reads the whole clip's entry can take a partial one for a complete one.

Pieces are detected one after the other with a fresh tracker, as after a shot cut; a real cut
at a piece boundary is found by comparing the frames on both sides. The clean-up
(:func:`~studio.extract.extractor.postprocess`: left/right repair, gap filling, smoothing) runs
on each run of detected frames by itself, so gaps are never bridged and smoothing never runs
across frames not detected yet; when a piece joins two runs, the joined run is cleaned up again
(the frames next to the join, and the clip-wide shoulder width the left/right repair uses, can
change by a little).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.errors import StudioError
from studio.core.phases import mark
from studio.core.tracks import FLAG_CUT, FLAG_NO_PERSON, FLAG_PENDING, FaceTrack, PoseTrack
from studio.extract.extractor import (
    EXTRACTOR_VERSION, ExtractionResult, ExtractOptions, ProgressFn, cache_key, extract_frames, postprocess,
)

PARTIAL_FORMAT = "studio-partial-extraction"


def partial_key(key: str) -> str:
    """The cache key of the partial extraction of the clip whose whole extraction is ``key``."""
    return f"{key}-partial"


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of every run of True values in a 1-D bool array, in order."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def pending_tracks(n: int, width: int, height: int, fps: float) -> tuple[PoseTrack, FaceTrack]:
    """Tracks of ``n`` frames, all :data:`FLAG_PENDING` (not looked at yet, not "no person")."""
    pose, face = PoseTrack.empty(n, width, height, fps), FaceTrack.empty(n, width, height, fps)
    pose.flags[:] = FLAG_PENDING
    face.flags[:] = FLAG_PENDING
    return pose, face


def copy_frames(dst: Any, src: Any, where: slice | np.ndarray) -> None:
    """Copy every per-frame array of track ``src`` into track ``dst`` at ``where`` (in place);
    ``src`` holds just those frames for a slice, the whole clip for an index array."""
    for k in dst._arrays:  # noqa: SLF001 - the track's own field list
        getattr(dst, k)[where] = getattr(src, k) if isinstance(where, slice) else getattr(src, k)[where]


class Partial:
    """The raw detections of the frames done so far (others :data:`FLAG_PENDING`)."""

    def __init__(self, raw_pose: PoseTrack, raw_face: FaceTrack, failed: list[int] | None = None,
                 seconds: float = 0.0) -> None:
        self.raw_pose, self.raw_face = raw_pose, raw_face
        self.failed = sorted(set(failed or []))
        self.seconds = float(seconds)

    @property
    def done(self) -> np.ndarray:
        """``(N,)`` bool: frames detected."""
        return (self.raw_pose.flags & FLAG_PENDING) == 0

    def to_dict(self, options: ExtractOptions, source: str) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        from dataclasses import asdict

        return {"format": PARTIAL_FORMAT, "extractor_version": EXTRACTOR_VERSION, "source": source,
                "options": asdict(options), "failed_frames": self.failed, "seconds": self.seconds,
                "raw_pose": self.raw_pose.to_dict(), "raw_face": self.raw_face.to_dict()}

    @classmethod
    def from_dict(cls, d: Any, n: int, size: tuple[int, int]) -> "Partial | None":
        """The entry in ``d`` if it is a partial extraction of an ``n``-frame clip of ``size``."""
        if not isinstance(d, dict) or d.get("format") != PARTIAL_FORMAT:
            return None
        try:
            pose, face = PoseTrack.from_dict(d.get("raw_pose")), FaceTrack.from_dict(d.get("raw_face"))
            failed = [int(i) for i in d.get("failed_frames", [])]
            seconds = float(d.get("seconds", 0.0))
        except (StudioError, TypeError, ValueError):
            return None
        if len(pose) != n or len(face) != n or (pose.width, pose.height) != tuple(size):
            return None
        return cls(pose, face, failed, seconds)


def clean_runs(part: Partial, options: ExtractOptions) -> tuple[PoseTrack, FaceTrack, list[int]]:
    """The cleaned-up tracks of a partial extraction: each run of detected frames cleaned up by
    itself, the frames not detected yet left :data:`FLAG_PENDING`; and the repaired frames."""
    raw = part.raw_pose
    pose, face = pending_tracks(len(raw), raw.width, raw.height, raw.fps)
    swapped: list[int] = []
    for a, b in runs(part.done):
        found: list[int] = []
        p, f = postprocess(raw.slice(a, b), part.raw_face.slice(a, b), options, found)
        copy_frames(pose, p, slice(a, b))
        copy_frames(face, f, slice(a, b))
        swapped.extend(a + i for i in found)
    return pose, face, swapped


def _frames(reader: Any, a: int, b: int, before: bool, after: bool, edge: dict[str, np.ndarray]
            ) -> Iterator[np.ndarray]:
    """Frames ``a..b-1``; frame ``a - 1`` (``before``) and ``b`` (``after``) are read too and put
    in ``edge`` (for cut checks at the piece's ends), not yielded."""
    i = a - 1 if before else a
    for frame in reader.iter_frames(i, b + 1 if after else b):
        if i == a - 1:
            edge["before"] = frame
        elif i == b:
            edge["after"] = frame
        else:
            if i == a:
                edge["first"] = frame
            edge["last"] = frame
            yield frame
        i += 1


def _mark_edge_cuts(part: Partial, a: int, b: int, edge: dict[str, np.ndarray], threshold: float) -> None:
    """Flag a shot cut at the piece ``a..b-1``'s ends where the neighbouring frames differ."""
    from studio.extract.postprocess import frame_thumbnail, is_cut

    for prev, cur, at in (("before", "first", a), ("last", "after", b)):
        if prev in edge and cur in edge and is_cut(frame_thumbnail(edge[prev]), frame_thumbnail(edge[cur]), threshold):
            part.raw_pose.flags[at] |= FLAG_CUT
            part.raw_face.flags[at] |= FLAG_CUT


def _detect_piece(reader: Any, part: Partial, a: int, b: int, options: ExtractOptions, detector: Any,
                  progress: ProgressFn | None, cancel: CancelToken | None) -> None:
    """Detect frames ``a..b-1`` into ``part`` (a fresh tracker, as after a cut)."""
    done = part.done
    n = len(done)
    edge: dict[str, np.ndarray] = {}
    if detector is not None:
        detector.reset()
    frames = _frames(reader, a, b, a > 0 and bool(done[a - 1]), b < n and bool(done[b]), edge)
    res = extract_frames(frames, reader.fps, reader.size, total=b - a, detector=detector, options=options,
                         progress=progress, cancel=cancel)
    got = len(res.raw_pose)
    copy_frames(part.raw_pose, res.raw_pose, slice(a, a + got))
    copy_frames(part.raw_face, res.raw_face, slice(a, a + got))
    # frames the header promises but the decoder does not give: looked at, nobody found (failed)
    part.raw_pose.flags[a + got:b] = FLAG_NO_PERSON
    part.raw_face.flags[a + got:b] = FLAG_NO_PERSON
    _mark_edge_cuts(part, a, b, edge, options.cut_threshold)
    part.failed = sorted(set(part.failed) | {a + i for i in res.failed_frames} | set(range(a + got, b)))
    part.seconds += res.seconds


def extract_range(path: str | Path, start: int = 0, stop: int | None = None, *,
                  options: ExtractOptions | None = None, progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None, cache: Any = None, use_cache: bool = True,
                  detector: Any = None) -> ExtractionResult:
    """The whole-clip tracks of the video at ``path`` with at least frames ``start..stop-1``
    detected (``stop`` ``None``: to the end); frames not detected yet are :data:`FLAG_PENDING`.

    Only frames no earlier call detected are detected now (``progress(done, total)`` counts
    those). The result is cached: as the complete extraction once every frame is done, else as
    the clip's partial extraction, which later calls (and :func:`extract_video`) extend.
    """
    from studio.extract.cache import ExtractionCache
    from studio.media.video import VideoReader

    options = options or ExtractOptions()
    store = cache if cache is not None else ExtractionCache()
    key = cache_key(path, options)
    if use_cache:
        hit = store.load(key)
        if hit is not None:
            try:
                res = ExtractionResult.from_dict(hit)
                res.from_cache, res.source = True, str(path)
                return res
            except StudioError:
                pass
    with VideoReader(path) as reader:
        n, size, fps = reader.frame_count, reader.size, reader.fps
        part = Partial.from_dict(store.load(partial_key(key)), n, size) if use_cache else None
        if part is None:
            part = Partial(*pending_tracks(n, size[0], size[1], fps))
        lo, hi = max(0, int(start)), n if stop is None else min(n, int(stop))
        todo = [(a + lo, b + lo) for a, b in runs(~part.done[lo:hi])] if lo < hi else []
        total, before = sum(b - a for a, b in todo), 0
        for a, b in todo:
            step = (lambda d, _t=None, _k=before: progress(_k + d, total)) if progress is not None else None
            _detect_piece(reader, part, a, b, options, detector, step, cancel)
            before += b - a
    mark("range detected")
    return _finish(part, options, str(path), store, key, use_cache, fresh=bool(todo))


def _finish(part: Partial, options: ExtractOptions, source: str, store: Any, key: str, use_cache: bool,
            fresh: bool) -> ExtractionResult:
    """The result of ``part``, stored as the complete extraction (partial entry removed) once every
    frame is done, else as the partial one."""
    if part.done.all():
        swapped: list[int] = []
        pose, face = postprocess(part.raw_pose, part.raw_face, options, swapped)
        res = ExtractionResult(pose, face, part.raw_pose, part.raw_face, options, part.failed, part.seconds,
                               source=source, swapped_frames=swapped)
        if use_cache:
            store.store(key, res.to_dict())
            try:
                store.path_for(partial_key(key)).unlink(missing_ok=True)
            except OSError:
                pass
        return res
    pose, face, swapped = clean_runs(part, options)
    if use_cache and fresh:
        store.store(partial_key(key), part.to_dict(options, source))
    return ExtractionResult(pose, face, part.raw_pose, part.raw_face, options, part.failed, part.seconds,
                            source=source, from_cache=not fresh, swapped_frames=swapped)


def has_partial(path: str | Path, options: ExtractOptions | None = None, cache: Any = None) -> bool:
    """Whether the video at ``path`` has a partial extraction cached."""
    from studio.extract.cache import ExtractionCache

    store = cache if cache is not None else ExtractionCache()
    return store.path_for(partial_key(cache_key(path, options or ExtractOptions()))).is_file()
