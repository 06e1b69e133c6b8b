"""What a render of the document would be: jobs, models' view of the pose, and the cache keys
and states of every timeline frame (the cache bar tells final from stale frames with them).

:class:`DocumentRendering` is the part of :class:`~studio.document.model.DocumentModel` that
reads the project to answer those questions; it changes nothing but its memos (cleared by the
model's edits) and the in-flight set.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from studio.core.backend import Backend
from studio.core.errors import StudioError
from studio.core.frame_cache import FrameCache, FrameState
from studio.core.jobs import RenderJob
from studio.core.tracks import PoseTrack
from studio.extract.model_view import ModelView, model_pose
from studio.extract.quality import PoseQuality, pose_quality

if TYPE_CHECKING:
    from studio.core.project import Project
    from studio.core.settings import RenderSettings
    from studio.core.timeline import Timeline


@functools.lru_cache(maxsize=None)
def backend_named(name: str) -> Backend:
    """A backend called ``name`` (``draft`` or ``xdyna``) for its name and capabilities (cache
    keys); it loads no weights and is never used to render."""
    from studio.core.registry import create_backend as get_backend

    return get_backend(name)


class DocumentRendering:
    """Jobs, cache keys and frame states of a document (see the module docstring)."""

    project: Project
    timeline: Timeline
    cache: FrameCache
    reference_rgb: np.ndarray | None
    inflight: set[int]
    _keys: list[str] | None
    _rendered_key: dict[int, str]
    _model_pose: tuple[tuple, PoseTrack] | None = None
    _quality: tuple[tuple, PoseQuality] | None = None
    weights_preference: Path | None  # the chosen backend's remembered folder (DocumentWeights)

    @property
    def settings(self) -> RenderSettings:
        """The current render settings."""
        return self.project.settings

    def model_view(self) -> ModelView:
        """The output canvas, framing and retargeting through which the model sees the driving pose."""
        return ModelView.for_settings(self.settings, self.project.reference_pose)

    def model_pose(self) -> PoseTrack | None:
        """The driving pose as the model sees it (:func:`studio.extract.model_view.model_pose`),
        kept until the pose, the reference pose, the size or the retarget setting change."""
        pose = self.project.pose
        if pose is None or len(pose) == 0:
            return None
        view = self.model_view()
        ref = view.reference_pose
        key = (pose.fingerprint(), ref.fingerprint() if ref is not None else None, view.width,
               view.height, view.retarget, view.photo_offset, view.photo_scale, view.video_fit, view.video_offset,
               view.video_scale)
        if self._model_pose is None or self._model_pose[0] != key:
            self._model_pose = (key, model_pose(pose, view))
        return self._model_pose[1]

    def pose_quality(self) -> PoseQuality | None:
        """Per-frame pose quality of the driving tracks (:func:`studio.extract.quality.pose_quality`),
        kept until the tracks change; ``None`` without a driving pose."""
        pose, face = self.project.pose, self.project.face
        if pose is None or len(pose) == 0:
            return None
        key = (pose.fingerprint(), face.fingerprint() if face is not None else None)
        if self._quality is None or self._quality[0] != key:
            self._quality = (key, pose_quality(pose, face))
        return self._quality[1]

    def make_job(self, frames: tuple[int, ...] | None = None, output_dir: Path | None = None,
                 for_keys: bool = False) -> RenderJob:
        """A frozen snapshot for rendering ``frames`` (default: the in/out range); refuses frames
        whose pose is still being extracted, unless the job only names cache keys (``for_keys``)."""
        p = self.project
        if self.reference_rgb is None:
            raise StudioError("No reference photo", "Open a photo of the person to animate first (Reference panel).")
        if p.pose is None or len(p.pose) == 0:
            raise StudioError("No driving motion", "Open a driving video first (Driving panel).")
        if frames is None:
            frames = self.render_range()
        waiting = self.render_waiting(frames)
        if waiting and not for_keys:
            raise StudioError("The pose is still being extracted", waiting)
        from studio.core.job_factory import make_job

        return make_job(p, self.reference_rgb, frames, preference=self.weights_preference, output_dir=output_dir)

    def render_range(self) -> tuple[int, ...]:
        """The frames a Render renders: the in/out range; while the clip is still being extracted
        and no in/out range is set, the extracted frames around the playhead
        (:func:`~studio.extract.range_first.extracted_window`: a new clip's first seconds)."""
        from studio.extract.range_first import extracted_window

        if self.project.frame_range is None:
            window = extracted_window(self.project.pose, self.timeline.current)
            if window is not None:
                return tuple(range(*window))
        return tuple(self.timeline.range_frames())

    def render_waiting(self, frames: tuple[int, ...] | None = None) -> str:
        """Why ``frames`` (default: :meth:`render_range`) cannot render yet: some have no pose
        (still being extracted); ``""`` when they all have one."""
        from studio.extract.range_first import pending_frames

        pose = self.project.pose
        if pose is None:
            return ""
        frames = self.render_range() if frames is None else frames
        waiting = np.intersect1d(pending_frames(pose), np.asarray(frames, np.int64))
        if not waiting.size:
            return ""
        return (f"{waiting.size} of the frames to render (from frame {int(waiting[0])}) have no pose yet; "
                "the rest of the clip is being extracted in the background. Render the frames that have "
                "one (set the in/out range), or wait for the extraction to finish.")

    def frame_keys(self) -> list[str] | None:
        """The cache key of every timeline frame under the current state (``None`` when nothing
        can be rendered yet). Frames of the in/out range use the key of the job a Render would
        start; others the key of a whole-clip job."""
        if self._keys is not None and (self.project.frame_range is not None or self._keys_range is None
                                       or self._keys_range == self.render_range()):
            return self._keys
        n = self.timeline.frame_count
        if self.reference_rgb is None or self.project.pose is None or n == 0:
            return None
        from studio.core.render import cache_key

        backend = backend_named(self.settings.backend)
        whole = self.make_job(tuple(range(n)), for_keys=True)
        keys = [cache_key(whole, backend, k) for k in range(n)]
        ranged = self.make_job(for_keys=True)
        if not backend.capabilities.independent_frames and len(ranged.frames) != n:
            ranged = dataclasses.replace(ranged)
            for k, i in enumerate(ranged.frames):
                keys[i] = cache_key(ranged, backend, k)
        self._keys = keys
        self._keys_range = self.render_range() if self.project.frame_range is None else None
        return keys

    #: The extracted window the cached keys were made for (see :meth:`render_range`).
    _keys_range: tuple[int, ...] | None = None

    def frame_states(self) -> np.ndarray:
        """``(n,)`` :class:`FrameState` codes of the timeline frames."""
        n = self.timeline.frame_count
        keys = self.frame_keys()
        if keys is None:
            return np.zeros(n, np.uint8)
        return self.cache.states(keys, n)

    def frame_at(self, i: int) -> tuple[np.ndarray | None, FrameState]:
        """The cached frame to show at timeline frame ``i`` and its state."""
        keys = self.frame_keys()
        if keys is None or not 0 <= i < len(keys):
            return None, FrameState.EMPTY
        state = self.cache.state(keys[i], i)
        if state != FrameState.STALE:
            return self.cache.get(keys[i], i), state
        old = self._rendered_key.get(i)
        frame = self.cache.get(old, i) if old is not None else None
        return frame, FrameState.STALE

    def shown_key(self, i: int, state: FrameState) -> tuple | None:
        """A key naming the pixels :meth:`frame_at` returns for frame ``i`` in ``state`` (views
        use it to reuse converted images); ``None`` for previews, which are replaced in place."""
        if state == FrameState.FINAL:
            return ("final", self._keys[i] if self._keys else None, i)
        if state == FrameState.STALE and i in self._rendered_key:
            return ("stale", self._rendered_key[i], i)
        return None

    def note_rendered(self, keys: dict[int, str]) -> None:
        """Remember the key each frame was last rendered under, to show stale frames dimmed."""
        self._rendered_key.update(keys)

    def set_inflight(self, frames: set[int]) -> None:
        """Frames the worker is rendering now (drawn as 'rendering' on the cache bar)."""
        if frames != self.inflight:
            self.inflight = set(frames)
            self.inflight_changed.emit()
