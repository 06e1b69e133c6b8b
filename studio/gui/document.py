"""The open project as the GUI sees it: the core :class:`Project`, its :class:`Timeline`, the
:class:`FrameCache` and the undo stack, plus Qt signals saying what changed.

Widgets observe a :class:`Document` and call its methods; they never keep copies of project state.
The cache keys of every timeline frame (what a frame *would* be rendered from under the current
settings and tracks) are computed here, so the cache bar can tell final from stale frames.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QUndoStack

from studio.core.backend import Backend
from studio.core.errors import StudioError
from studio.core.frame_cache import FrameCache, FrameState
from studio.core.jobs import RenderJob
from studio.core.project import Project
from studio.core.settings import RenderSettings
from studio.core.timeline import Timeline
from studio.core.tracks import FaceTrack, PoseTrack
from studio.core.weights_folder import WeightsFolder, resolve_weights_dir
from studio.extract.model_view import ModelView, model_pose
from studio.extract.quality import PoseQuality, pose_quality
from studio.gui.undo import RangeCommand, SettingsCommand, StateCommand

#: In-memory budget of the frame cache (older final frames spill to disk when a folder is set).
CACHE_BUDGET = 768 << 20


@functools.lru_cache(maxsize=None)
def backend_named(name: str) -> Backend:
    """A backend called ``name`` (``draft`` or ``xdyna``) for its name and capabilities (cache
    keys); it loads no weights and is never used to render."""
    from studio.core.registry import create_backend as get_backend

    return get_backend(name)


class Document(QObject):
    """The project being edited.

    Signals
    -------
    project_replaced(): a new or opened project replaced the previous one.
    reference_changed(): the reference photo or its detected pose changed.
    driving_changed(): the driving video or its tracks were replaced.
    pose_edited(int, int): driving pose frames ``[start, stop)`` were edited.
    settings_changed(): the render settings changed.
    keys_changed(): the cache keys of the timeline frames changed (the cache bar must redraw).
    cache_changed(int, int): frames ``[start, stop)`` of the cache changed (on the GUI thread).
    inflight_changed(): the set of frames being rendered now changed.
    path_changed(object): the project file path changed (``Path`` or ``None``).
    weights_preference_changed(str, object): a backend's remembered weights folder changed (its
    name, and a ``Path`` or ``None``; the window stores it in its preferences).
    """

    project_replaced = Signal()
    reference_changed = Signal()
    driving_changed = Signal()
    pose_edited = Signal(int, int)
    settings_changed = Signal()
    keys_changed = Signal()
    cache_changed = Signal(int, int)
    inflight_changed = Signal()
    path_changed = Signal(object)
    weights_preference_changed = Signal(str, object)
    _cache_from_any_thread = Signal(object, int, int)

    def __init__(self, parent: QObject | None = None, cache_dir: Path | None = None) -> None:
        super().__init__(parent)
        #: The window's remembered weights folder per backend name.
        self.weights_preferences: dict[str, Path] = {}
        self.project = Project()
        self.timeline = Timeline()
        self._cache_dir = cache_dir
        self.cache = self._fresh_cache()
        self.undo_stack = QUndoStack(self)
        self.reference_rgb: np.ndarray | None = None
        self.inflight: set[int] = set()
        self._rendered_key: dict[int, str] = {}
        self._keys: list[str] | None = None
        self._model_pose: tuple[tuple, PoseTrack] | None = None
        self._quality: tuple[tuple, PoseQuality] | None = None
        self._dirty = False
        self._loading = False
        #: Retargeting was switched off because the photo's pose looks wrong (see
        #: :mod:`studio.gui.reference_pose`); fixing the pose switches it back on.
        self.retarget_auto_off = False
        self._cache_from_any_thread.connect(self._relay_cache, Qt.ConnectionType.QueuedConnection)
        self.timeline.range_changed.connect(self._on_range)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _fresh_cache(self) -> FrameCache:
        cache = FrameCache(CACHE_BUDGET, spill_dir=self._cache_dir)
        cache.changed.connect(lambda start, stop: self._cache_from_any_thread.emit(id(cache), start, stop))
        return cache

    def _relay_cache(self, cache_id: int, start: int, stop: int) -> None:
        if cache_id == id(self.cache):  # a cancelled job may still write into a replaced cache
            self.cache_changed.emit(start, stop)

    def _replace_cache(self) -> None:
        """Start from an empty cache (a new clip or project); a render still finishing writes
        into the old one, which is dropped."""
        old, self.cache = self.cache, self._fresh_cache()
        old.clear()

    # -- state --------------------------------------------------------------------------------
    @property
    def settings(self) -> RenderSettings:
        """The current render settings."""
        return self.project.settings

    @property
    def pose(self) -> PoseTrack | None:
        """The driving pose track."""
        return self.project.pose

    @property
    def dirty(self) -> bool:
        """Whether there are unsaved changes."""
        return self._dirty or not self.undo_stack.isClean()

    def mark_dirty(self) -> None:
        """Note an unsaved change that is not on the undo stack."""
        self._dirty = True
        self.dirty_changed_hook()

    def _on_clean_changed(self, _clean: bool) -> None:
        self.dirty_changed_hook()

    def dirty_changed_hook(self) -> None:
        """Called whenever :attr:`dirty` may have changed (the window updates its title)."""
        self.path_changed.emit(self.project.path)

    def title(self) -> str:
        """The window title part: file name (or Untitled) with a star when unsaved."""
        name = self.project.path.name if self.project.path else "Untitled"
        return f"{name}{' *' if self.dirty else ''}"

    # -- replacing the project -------------------------------------------------------------------
    def set_project(self, project: Project, reference_rgb: np.ndarray | None = None) -> None:
        """Show ``project`` (already loaded); clears undo history, keys and the in-flight set."""
        self.project = project
        self.reference_rgb = reference_rgb
        if reference_rgb is None and project.reference_image is not None and Path(project.reference_image).exists():
            self.reference_rgb = _load_rgb(project.reference_image)
        self.undo_stack.clear()
        self._dirty = False
        self.retarget_auto_off = False
        self.inflight.clear()
        self._rendered_key.clear()
        self._replace_cache()
        self._keys = None
        n = len(project.pose) if project.pose is not None else 0
        fps = project.pose.fps if project.pose is not None else project.fps
        frame_range = project.frame_range
        self._loading = True
        try:
            self.timeline.set_frame_count(n, fps=project.fps or fps)
            if frame_range is not None and n:
                start, stop = frame_range
                self.timeline.set_in(min(start, n - 1))
                self.timeline.set_out(min(stop, n) - 1)
            self.timeline.set_current(0)
        finally:
            self._loading = False
        project.frame_range = frame_range
        self.project_replaced.emit()
        self.reference_changed.emit()
        self.driving_changed.emit()
        self.settings_changed.emit()
        self.keys_changed.emit()
        self.path_changed.emit(project.path)

    def new_project(self) -> None:
        """An empty project."""
        self.set_project(Project())

    def open(self, path: Path | str) -> list[tuple[str, Path]]:
        """Load the project at ``path``; returns the referenced files that are missing."""
        project = Project.load(path)
        self.set_project(project)
        return project.missing_files()

    def save(self, path: Path | str | None = None) -> Path:
        """Save (atomically) to ``path`` or the current file."""
        target = self.project.save(path)
        self._dirty = False
        self.undo_stack.setClean()
        self.path_changed.emit(target)
        return target

    # -- editing (every edit is one command on the undo stack) -----------------------------------
    def set_reference(self, path: Path, rgb: np.ndarray, pose: PoseTrack | None, face: FaceTrack | None) -> None:
        """Use the photo at ``path`` (pixels ``rgb``) with its detected pose as the reference
        (undoable: "Replace photo with NAME"). A pose that fails the reference-pose check
        switches retargeting off in the same step (:mod:`studio.gui.reference_pose`)."""
        from studio.gui.reference_pose import with_retarget_choice

        new = with_retarget_choice(self._reference_state(), ReferenceState(Path(path), rgb, pose, face))
        verb = "Open" if self.project.reference_image is None else "Replace"
        self.undo_stack.push(StateCommand(f"{verb} photo {Path(path).name}", self._apply_reference,
                                          self._reference_state(), new))

    def _reference_state(self) -> ReferenceState:
        p = self.project
        return ReferenceState(p.reference_image, self.reference_rgb, p.reference_pose, p.reference_face,
                              p.settings.retarget, self.retarget_auto_off)

    def _apply_reference(self, state: ReferenceState) -> None:
        self.project.reference_image = state.path
        self.project.reference_pose = state.pose
        self.project.reference_face = state.face
        self.reference_rgb = state.rgb
        self._keys = None
        self.retarget_auto_off = state.auto_off
        retarget_changed = state.retarget is not None and state.retarget != self.project.settings.retarget
        if retarget_changed:
            self.project.settings = self.project.settings.model_copy(update={"retarget": state.retarget})
            self.settings_changed.emit()
        if self.project.is_live_photo:
            self._hold_photo_pose()  # a live photo holds the new photo's pose
        self.reference_changed.emit()
        self.keys_changed.emit()

    def set_driving(self, path: Path | None, pose: PoseTrack, face: FaceTrack | None) -> None:
        """Use the driving video at ``path`` with its extracted tracks (undoable: "Replace driving
        video with NAME"; undo brings back the earlier video with its tracks, edits and range)."""
        new = DrivingState(Path(path) if path is not None else None, pose, face, float(pose.fps), None)
        name = Path(path).name if path is not None else "pose track"
        verb = "Open" if self.project.pose is None else "Replace"
        self.undo_stack.push(StateCommand(f"{verb} driving video {name}", self._apply_driving,
                                          self._driving_state(), new))

    def complete_driving(self, pose: PoseTrack, full_pose: PoseTrack, full_face: FaceTrack | None) -> bool:
        """Fill the pending frames of ``pose`` (a range-first track) from the whole clip's
        extraction, in place, keeping the artist's edits; not an undo step (the same track
        object stays in every undo snapshot). Ignored (False) when ``pose`` is no longer shown."""
        from studio.extract.range_first import merge_complete

        shown = self.project.pose is pose  # else another video, or the open was undone meanwhile
        if not merge_complete(pose, self.project.face if shown else None, full_pose, full_face):
            return False
        if shown:
            self.notify_pose_edited(0, len(pose))
        return shown

    def set_live_photo(self, seconds: float, fps: float | None = None) -> None:
        """Make the project a live photo ``seconds`` long at ``fps`` (default: the project's):
        the photo's own pose held on every frame, no driving video (undoable; undo brings the
        driving video back). Raises :class:`StudioError` without a photo or a person in it."""
        from studio.extract.live_photo import live_tracks

        if self.reference_rgb is None:
            raise StudioError("No reference photo", "Open the photo to bring to life first (Reference panel).")
        fps = float(fps or self.project.fps or 25.0)
        s = self.settings
        pose, face = live_tracks(self.project.reference_pose, self.project.reference_face, seconds, fps,
                                 s.width, s.height, s.photo_offset, s.photo_scale)
        new = DrivingState(None, pose, face, fps, None, float(seconds))
        self.undo_stack.push(StateCommand(f"Make a {seconds:g} s live photo", self._apply_driving,
                                          self._driving_state(), new))

    def _driving_state(self) -> DrivingState:
        p = self.project
        return DrivingState(p.driving_video, p.pose, p.face, float(p.fps), p.frame_range, p.live_seconds)

    def _apply_driving(self, state: DrivingState) -> None:
        p = self.project
        p.driving_video, p.pose, p.face, p.fps = state.video, state.pose, state.face, state.fps
        p.live_seconds = state.live_seconds
        self._rendered_key.clear()
        self._replace_cache()
        self._keys = None
        n = len(state.pose) if state.pose is not None else 0
        self._loading = True
        try:
            self.timeline.set_frame_count(n, fps=state.fps)
        finally:
            self._loading = False
        p.frame_range = None
        if state.frame_range is not None and n:
            self._apply_range((state.frame_range[0], min(state.frame_range[1], n) - 1))
        self.driving_changed.emit()
        self.keys_changed.emit()

    def update_settings(self, **changes: Any) -> None:
        """Change render settings (undoable: "Set steps to 30"); invalid values raise
        :class:`StudioError` naming the field."""
        current = self.project.settings
        backend = changes.get("backend", current.backend)
        options = None
        if backend != current.backend:  # keep the options of the backend left; restore the chosen one's
            self.project.backend_options = self.project.all_options()
            options = self.project.backend_options.get(backend, {})
        try:
            new = current.updated(options, **changes)
        except StudioError:
            raise
        except Exception as exc:  # pydantic.ValidationError
            errs = getattr(exc, "errors", lambda: [{"loc": "?", "msg": str(exc)}])()
            raise StudioError(
                "Invalid render setting",
                f"{errs[0]['loc'][0] if errs[0]['loc'] else 'value'}: {errs[0]['msg']}.",
                str(exc),
            ) from exc
        if new == self.project.settings:
            return
        self.undo_stack.push(SettingsCommand(self, self.project.settings, new))

    def apply_framing_preset(self, name: str) -> None:
        """Frame the photo and the video with preset ``name`` (``official``, ``center``, ``fit``;
        :mod:`studio.extract.framing`) as one undoable edit."""
        from studio.extract.framing import preset_changes

        s = self.settings
        photo = (self.reference_rgb.shape[1], self.reference_rgb.shape[0]) if self.reference_rgb is not None else None
        new = s.updated(**preset_changes(name, photo, (s.width, s.height)))
        if new == s:
            return
        cmd = SettingsCommand(self, s, new, merge=False)
        cmd.setText(f"Frame with the {name} preset")
        self.undo_stack.push(cmd)

    def _apply_settings(self, new: RenderSettings) -> None:
        old = self.project.settings
        self.project.settings = new
        if old.retarget != new.retarget:
            self.retarget_auto_off = False  # the user chose
        placement = ("width", "height", "photo_offset", "photo_scale")
        if self.project.is_live_photo and any(getattr(old, k) != getattr(new, k) for k in placement):
            self._hold_photo_pose()  # the held tracks live on the canvas, where the photo is
        self._keys = None
        self.settings_changed.emit()
        self.keys_changed.emit()

    def _hold_photo_pose(self) -> None:
        """Rebuild a live photo's held tracks for the current photo and render size."""
        from studio.extract.live_photo import live_tracks

        p, s = self.project, self.settings
        if p.reference_pose is None or p.live_seconds is None:
            return
        p.pose, p.face = live_tracks(p.reference_pose, p.reference_face, p.live_seconds, p.fps, s.width, s.height,
                                     s.photo_offset, s.photo_scale)
        self._keys = None
        self.driving_changed.emit()

    def set_weights_dir(self, path: Path | None) -> None:
        """The project's weights folder for the chosen backend (changes its cache keys; undoable);
        a folder chosen here is also remembered as that backend's preference for projects that
        name none."""
        new = Path(path) if path else None
        if new == self.project.weights_dir:
            return
        if path:
            self.set_weights_preference(path)
        name = self.project.settings.backend
        text = f"Use the weights in {new.name or new}" if new is not None else "Clear the weights folder"
        self.undo_stack.push(StateCommand(text, lambda p: self._apply_weights_dir(p, name), self.project.weights_dir,
                                          new))

    def _apply_weights_dir(self, path: Path | None, backend: str | None = None) -> None:
        name = backend or self.project.settings.backend
        if path is None:
            self.project.weights_dirs.pop(name, None)
        else:
            self.project.weights_dirs[name] = Path(path)
        self._keys = None
        self.settings_changed.emit()
        self.keys_changed.emit()

    @property
    def weights_preference(self) -> Path | None:
        """The window's remembered weights folder for the chosen backend (see
        :mod:`studio.core.weights_folder`); :attr:`weights_preferences` holds every backend's."""
        return self.weights_preferences.get(self.project.settings.backend)

    @weights_preference.setter
    def weights_preference(self, path: Path | None) -> None:
        name = self.project.settings.backend
        if path is None:
            self.weights_preferences.pop(name, None)
        else:
            self.weights_preferences[name] = Path(path)

    def set_weights_preference(self, path: Path | None, backend: str | None = None) -> None:
        """Remember ``path`` as ``backend``'s (default: the chosen one's) weights folder of projects
        that name none; emits ``weights_preference_changed(name, path)``."""
        new = Path(path) if path else None
        name = backend or self.project.settings.backend
        if new == self.weights_preferences.get(name):
            return
        if new is None:
            self.weights_preferences.pop(name, None)
        else:
            self.weights_preferences[name] = new
        self._keys = None
        self.weights_preference_changed.emit(name, new)
        self.settings_changed.emit()
        self.keys_changed.emit()

    def weights_folder(self) -> WeightsFolder:
        """The chosen backend's weights folder a render would use: the project's, else the
        remembered one, else the backend's environment variable, else its default folder."""
        return resolve_weights_dir(None, self.project.weights_dir, self.weights_preference,
                                   backend=self.project.settings.backend)

    def notify_pose_edited(self, start: int, stop: int) -> None:
        """Call after changing driving pose frames ``[start, stop)`` in place (undo commands do)."""
        self._keys = None
        self.pose_edited.emit(start, stop)
        self.keys_changed.emit()

    def _on_range(self, start: int, stop_incl: int) -> None:
        if self._loading:
            return
        n = self.timeline.frame_count
        new = None if (start == 0 and stop_incl >= n - 1) else (start, stop_incl + 1)
        if not n or new == self.project.frame_range:
            return
        old = self.project.frame_range or (0, n)
        self.project.frame_range = new
        self._keys = None
        self.keys_changed.emit()
        if not self._applying_range:  # an edit in the timeline: put it on the stack
            self.undo_stack.push(RangeCommand(self, (old[0], old[1] - 1), (start, stop_incl),
                                              describe_range_change(old, (start, stop_incl + 1), n)))

    _applying_range = False

    def _apply_range(self, rng: tuple[int, int]) -> None:
        """Show the inclusive in/out range ``rng`` on the timeline (undo and redo of range edits)."""
        lo, hi = rng
        tl = self.timeline
        if (tl.in_point, tl.out_point) == (lo, hi):
            return
        self._applying_range = True
        try:
            tl.set_in(0)
            tl.set_out(hi)
            tl.set_in(lo)
        finally:
            self._applying_range = False

    # -- rendering --------------------------------------------------------------------------------
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


@dataclasses.dataclass(frozen=True)
class ReferenceState:
    """The reference photo part of a project (a snapshot for undo)."""

    path: Path | None
    rgb: np.ndarray | None
    pose: PoseTrack | None
    face: FaceTrack | None
    retarget: bool | None = None  # the retarget setting that goes with it (None: leave it)
    auto_off: bool = False  # retargeting was switched off because this pose looks wrong


@dataclasses.dataclass(frozen=True)
class DrivingState:
    """The driving part of a project: video, tracks (the same objects, so pose edits made on
    them stay undoable), frame rate and range (a snapshot for undo)."""

    video: Path | None
    pose: PoseTrack | None
    face: FaceTrack | None
    fps: float
    frame_range: tuple[int, int] | None
    live_seconds: float | None = None


def describe_range_change(old: tuple[int, int], new: tuple[int, int], n: int) -> str:
    """Menu text for an in/out edit (half-open ``(start, stop)`` ranges of an ``n``-frame clip)."""
    if new == (0, n):
        return "Clear in/out range"
    if new[0] != old[0] and new[1] == old[1]:
        return f"Set in point to frame {new[0]}"
    if new[1] != old[1] and new[0] == old[0]:
        return f"Set out point to frame {new[1] - 1}"
    return f"Set in/out to frames {new[0]}-{new[1] - 1}"


def _load_rgb(path: Path) -> np.ndarray:
    from studio.media.image import load_image

    return load_image(path).pixels
