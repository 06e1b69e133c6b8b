"""Video -> PoseTrack + FaceTrack: detection loop, cut handling, gap filling, smoothing, caching."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError
from studio.core.tracks import FLAG_CUT, FaceTrack, PoseTrack
from studio.extract.assemble import tracks_from_detections
from studio.extract.detector import FrameDetection, PoseDetector, TwoStageDetector
from studio.extract.postprocess import (
    fill_face_gaps, fill_pose_gaps, frame_thumbnail, is_cut, smooth_face, smooth_pose,
)

#: Bump when detection or post-processing changes results, so cached tracks are recomputed.
EXTRACTOR_VERSION = "5"
RESULT_FORMAT = "studio-extraction"

ProgressFn = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class ExtractOptions:
    """Settings of one extraction (all part of the cache key).

    hands, face: run the hand / face models. smoothing: One-Euro filter the tracks (the raw
    tracks are kept too). min_cutoff, beta: One-Euro parameters. max_gap: longest run of missing
    frames filled by interpolation. cut_threshold: grey-level difference that marks a shot cut.
    pose_max_side: frames are downscaled to this longer side for the body model.
    """

    hands: bool = True
    face: bool = True
    smoothing: bool = True
    min_cutoff: float = 2.0
    beta: float = 40.0
    max_gap: int = 8
    cut_threshold: float = 40.0
    pose_max_side: int = 512

    def key(self) -> str:
        """A short stable hash of the options."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class ExtractionResult:
    """Tracks of one clip: cleaned (``pose``, ``face``) and as detected (``raw_pose``, ``raw_face``).

    ``failed_frames`` lists frames where the detector raised (treated as empty);
    ``swapped_frames`` the frames whose left/right labels were repaired (:mod:`studio.extract.sides`);
    ``seconds`` is the time detection took (0 for a cache hit); ``source`` the video path if any.
    """

    pose: PoseTrack
    face: FaceTrack
    raw_pose: PoseTrack
    raw_face: FaceTrack
    options: ExtractOptions = field(default_factory=ExtractOptions)
    failed_frames: list[int] = field(default_factory=list)
    seconds: float = 0.0
    source: str = ""
    from_cache: bool = False
    swapped_frames: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {
            "format": RESULT_FORMAT,
            "extractor_version": EXTRACTOR_VERSION,
            "source": self.source,
            "options": asdict(self.options),
            "failed_frames": list(self.failed_frames),
            "swapped_frames": list(self.swapped_frames),
            "seconds": self.seconds,
            "pose": self.pose.to_dict(),
            "face": self.face.to_dict(),
            "raw_pose": self.raw_pose.to_dict(),
            "raw_face": self.raw_face.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Any) -> "ExtractionResult":
        """Inverse of :meth:`to_dict`; raises :class:`StudioError` on anything else."""
        if not isinstance(d, dict) or d.get("format") != RESULT_FORMAT:
            raise StudioError(
                "Not a track file",
                "The file is not a studio extraction result; create one with 'studio extract VIDEO -o FILE'.",
            )
        try:
            opts = ExtractOptions(**d.get("options", {}))
        except TypeError as exc:
            raise StudioError("Invalid track file", "The extraction options in the file are not recognised.",
                              repr(exc)) from exc
        try:
            failed = [int(i) for i in d.get("failed_frames", [])]
            swapped = [int(i) for i in d.get("swapped_frames", [])]
            seconds = float(d.get("seconds", 0.0))
        except (TypeError, ValueError) as exc:
            raise StudioError("Invalid track file", "The file's failed_frames or seconds are not numbers.",
                              repr(exc)) from exc
        return cls(
            pose=PoseTrack.from_dict(d.get("pose")), face=FaceTrack.from_dict(d.get("face")),
            raw_pose=PoseTrack.from_dict(d.get("raw_pose")), raw_face=FaceTrack.from_dict(d.get("raw_face")),
            options=opts, failed_frames=failed, seconds=seconds, source=str(d.get("source", "")),
            swapped_frames=swapped,
        )

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON."""
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        except OSError as exc:
            raise StudioError(
                f"Cannot write {p.name}",
                f"Could not write the tracks to {p}. Choose a folder you can write to, or free some disk space.",
                repr(exc),
            ) from exc
        return p

    @classmethod
    def load(cls, path: str | Path) -> "ExtractionResult":
        """Read a result written by :meth:`save`."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise StudioError(
                f"Cannot read {p.name}", f"{p} could not be opened. Check the path and try again.", repr(exc)
            ) from exc
        except ValueError as exc:
            raise StudioError(f"Cannot read {p.name}", f"{p} is not valid JSON. {_REDO}", repr(exc)) from exc
        try:
            return cls.from_dict(data)
        except StudioError as err:  # name the file
            raise StudioError(err.title, f"{p}: {err.description} {_REDO}", err.details) from err


#: What to do about a damaged track file.
_REDO = "Create it again with 'studio extract VIDEO -o FILE'."


def postprocess(raw_pose: PoseTrack, raw_face: FaceTrack, options: ExtractOptions,
                swapped: list[int] | None = None) -> tuple[PoseTrack, FaceTrack]:
    """Left/right repair, gap filling, then (optionally) smoothing; the raw tracks are not modified.

    Frames whose left/right labels were repaired are appended to ``swapped`` when given.
    """
    from studio.extract.sides import match_hands_to_wrists, repair_swaps

    pose, repaired = repair_swaps(raw_pose)
    pose, moved = match_hands_to_wrists(pose)
    if swapped is not None:
        swapped.extend(sorted(set(repaired) | set(moved)))
    pose = fill_pose_gaps(pose, options.max_gap)
    face = fill_face_gaps(raw_face, options.max_gap)
    if options.smoothing:
        pose = smooth_pose(pose, min_cutoff=options.min_cutoff, beta=options.beta)
        face = smooth_face(face, min_cutoff=options.min_cutoff, beta=options.beta)
    return pose, face


def _default_detector(options: ExtractOptions) -> PoseDetector:
    """The video-mode MediaPipe detector of ``options``: built ahead by a spare helper
    (:mod:`studio.extract.warm`), else now."""
    from studio.extract.warm import take

    return take(options)


def extract_frames(
    frames: Iterable[np.ndarray],
    fps: float,
    size: tuple[int, int],
    *,
    total: int | None = None,
    detector: PoseDetector | None = None,
    options: ExtractOptions | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    pipeline: bool = True,
) -> ExtractionResult:
    """Detect one person on every frame of a clip.

    Parameters
    ----------
    frames: RGB ``(H, W, 3)`` uint8 frames in order; ``size`` is ``(W, H)``.
    fps: the clip's frame rate (timestamps, smoothing).
    total: the frame count if known (for progress).
    detector: a :class:`PoseDetector`; by default a video-mode MediaPipe detector (closed after).
    progress: called as ``progress(done, total)`` after every frame.
    cancel: checked before every frame; raises :class:`RenderCancelled` when set.
    pipeline: with a :class:`TwoStageDetector`, overlap the body stage of each frame with the
    hand/face stage of the previous one on a second thread (same results, faster on 2+ cores).

    Frames without a person, with several people, or after a cut never raise: they are flagged
    in the tracks (a detector exception on one frame is recorded in ``failed_frames``).
    """
    options = options or ExtractOptions()
    w, h = int(size[0]), int(size[1])
    if w <= 0 or h <= 0 or not fps or fps <= 0:
        raise StudioError("Invalid clip", f"Size {w}x{h} and fps {fps} must be positive.")
    own = detector is None
    det = _default_detector(options) if own else detector
    loop = _DetectionLoop(det, fps, (w, h), options, total, progress, cancel)
    t0 = time.perf_counter()
    try:
        if pipeline and isinstance(det, TwoStageDetector):
            loop.run_pipelined(frames)
        else:
            loop.run(frames)
    finally:
        if own:
            det.close()
    dets, cuts, failed = loop.dets, loop.cuts, loop.failed
    seconds = time.perf_counter() - t0
    raw_pose, raw_face = tracks_from_detections(dets, w, h, fps)
    for i in cuts:
        raw_pose.flags[i] |= FLAG_CUT
        raw_face.flags[i] |= FLAG_CUT
    swapped: list[int] = []
    pose, face = postprocess(raw_pose, raw_face, options, swapped)
    return ExtractionResult(pose, face, raw_pose, raw_face, options, failed, seconds, swapped_frames=swapped)


class _DetectionLoop:
    """The per-frame loop of :func:`extract_frames`: checks, cut resets, failures, progress."""

    def __init__(self, det: PoseDetector, fps: float, size: tuple[int, int], options: ExtractOptions,
                 total: int | None, progress: ProgressFn | None, cancel: CancelToken | None) -> None:
        self.det, self.fps, self.size, self.options = det, fps, size, options
        self.total, self.progress, self.cancel = total, progress, cancel
        self.dets: list[FrameDetection] = []
        self.cuts: list[int] = []
        self.failed: list[int] = []
        self._prev_thumb: np.ndarray | None = None

    def _check(self, i: int, frame: np.ndarray) -> tuple[np.ndarray, bool]:
        """Cancel check, size check and cut detection of frame ``i``."""
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        a = np.asarray(frame)
        w, h = self.size
        if a.shape != (h, w, 3):
            raise StudioError(
                "Frame size changed",
                f"Frame {i} is {a.shape[1]}x{a.shape[0]} but the clip is {w}x{h}. "
                "Re-encode the video with a constant frame size.",
            )
        thumb = frame_thumbnail(a)
        cut = is_cut(self._prev_thumb, thumb, self.options.cut_threshold)
        self._prev_thumb = thumb
        if cut:
            self.cuts.append(i)
        return a, cut

    def _fail(self, i: int) -> None:
        self.failed.append(i)
        self.dets[i] = FrameDetection()
        self.det.reset()

    def _done(self, i: int) -> None:
        if self.progress is not None:
            self.progress(i + 1, self.total)

    def run(self, frames: Iterable[np.ndarray]) -> None:
        """One frame after the other."""
        for i, frame in enumerate(frames):
            a, cut = self._check(i, frame)
            if cut:
                self.det.reset()
            self.dets.append(FrameDetection())
            try:
                self.dets[i] = self.det.detect(a, i / self.fps)
            except (StudioError, RenderCancelled):
                raise
            except Exception:  # noqa: BLE001 - one bad frame must not end the extraction
                self._fail(i)
            self._done(i)

    def run_pipelined(self, frames: Iterable[np.ndarray]) -> None:
        """Body stage of frame i on this thread while frame i-1's details run on a worker."""
        from concurrent.futures import Future, ThreadPoolExecutor

        det: Any = self.det
        pending: tuple[int, Future] | None = None

        def collect() -> None:
            nonlocal pending
            if pending is None:
                return
            idx, fut = pending
            pending = None
            try:
                self.dets[idx] = fut.result()
            except (StudioError, RenderCancelled):
                raise
            except Exception:  # noqa: BLE001 - one bad frame must not end the extraction
                self._fail(idx)
            self._done(idx)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-details") as pool:
            for i, frame in enumerate(frames):
                a, cut = self._check(i, frame)
                if cut:
                    collect()  # nothing may run while the models are reset
                    det.reset()
                self.dets.append(FrameDetection())
                try:
                    stage = det.detect_body(a, i / self.fps)
                except (StudioError, RenderCancelled):
                    collect()
                    raise
                except Exception:  # noqa: BLE001
                    collect()
                    self._fail(i)
                    self._done(i)
                    continue
                collect()  # frame i-1's details ran while the body model saw frame i
                pending = (i, pool.submit(det.detect_details, stage))
            collect()


def cache_key(video: str | Path, options: ExtractOptions) -> str:
    """The cache key of a video file's extraction: content fingerprint + version + options."""
    from studio.extract.cache import file_fingerprint

    return f"{file_fingerprint(video)}-v{EXTRACTOR_VERSION}-{options.key()}"


def extract_video(
    path: str | Path,
    *,
    options: ExtractOptions | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    use_cache: bool = True,
    cache: Any = None,
    detector: PoseDetector | None = None,
) -> ExtractionResult:
    """Extract a video file's tracks, or load them from the disk cache when already done; when
    part of the clip was extracted before (:func:`studio.extract.partial.extract_range`), only
    the frames not done yet are extracted."""
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
            except StudioError:
                res = None
            if res is not None:
                res.from_cache = True
                res.source = str(path)
                return res
        from studio.extract.partial import extract_range, partial_key

        if store.path_for(partial_key(key)).is_file():  # part of the clip is done: do the rest
            return extract_range(path, options=options, progress=progress, cancel=cancel, cache=store,
                                 detector=detector)
    with VideoReader(path) as reader:
        res = extract_frames(iter(reader), reader.fps, reader.size, total=reader.frame_count,
                             detector=detector, options=options, progress=progress, cancel=cancel)
    res.source = str(path)
    if use_cache:
        store.store(key, res.to_dict())
    return res
