"""The open project as the editor sees it, without Qt: the core :class:`Project`, its
:class:`Timeline`, the :class:`FrameCache` and the undo stack, plus signals saying what changed.

Widgets observe a :class:`DocumentModel` (in the window, its Qt adapter
:class:`studio.gui.document.Document`) and call its methods; they never keep copies of project
state. Every edit is one command on the :class:`~studio.document.undo.UndoStack`
(:mod:`studio.document.commands`). What a render of the document would be -- jobs, the cache
keys of every timeline frame, their states -- is :class:`~.rendering.DocumentRendering`.

The signals are psygnal's (napari's ``EventedModel`` is the example): the model runs and is
tested without a window; the Qt adapter declares the same names as Qt signals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from psygnal import Signal

from studio.core.errors import StudioError
from studio.core.frame_cache import FrameCache
from studio.core.project import Project
from studio.core.settings import RenderSettings
from studio.core.timeline import Timeline
from studio.core.tracks import FaceTrack, PoseTrack
from studio.document.commands import RangeCommand, SettingsCommand, StateCommand
from studio.document.rendering import DocumentRendering
from studio.document.states import DrivingState, ReferenceState, describe_range_change
from studio.document.undo import UndoStack
from studio.document.weights import DocumentWeights

#: In-memory budget of the frame cache (older final frames spill to disk when a folder is set).
CACHE_BUDGET = 768 << 20


class DocumentModel(DocumentWeights, DocumentRendering):
    """The project being edited.

    Signals
    -------
    project_replaced(): a new or opened project replaced the previous one.
    reference_changed(): the reference photo or its detected pose changed.
    driving_changed(): the driving video or its tracks were replaced.
    pose_edited(int, int): driving pose frames ``[start, stop)`` were edited.
    settings_changed(): the render settings changed.
    keys_changed(): the cache keys of the timeline frames changed (the cache bar must redraw).
    cache_changed(int, int): frames ``[start, stop)`` of the current cache changed (on the thread
    :meth:`_cache_written` runs on: the writer's here, the GUI thread in the Qt adapter).
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

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.weights_preferences: dict[str, Path] = {}
        self.project = Project()
        self.timeline = Timeline()
        self._cache_dir = cache_dir
        self.cache = self._fresh_cache()
        self.undo_stack = UndoStack()
        self.reference_rgb: np.ndarray | None = None
        self.inflight: set[int] = set()
        self._rendered_key: dict[int, str] = {}
        self._keys: list[str] | None = None
        self._dirty = False
        self._loading = False
        #: Retargeting was switched off because the photo's pose looks wrong (fixing it switches it on).
        self.retarget_auto_off = False
        self.timeline.range_changed.connect(self._on_range)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _fresh_cache(self) -> FrameCache:
        cache = FrameCache(CACHE_BUDGET, spill_dir=self._cache_dir)
        cache.changed.connect(lambda start, stop: self._cache_written(cache, start, stop))
        return cache

    def _cache_written(self, cache: FrameCache, start: int, stop: int) -> None:
        """``cache`` changed frames ``[start, stop)``, on the writer's thread (the Qt adapter
        moves this onto the GUI thread first)."""
        if cache is self.cache:  # a cancelled job may still write into a replaced cache
            self.cache_changed.emit(start, stop)

    def _replace_cache(self) -> None:
        """Start from an empty cache (a new clip or project); a render still finishing writes
        into the old one, which is dropped."""
        old, self.cache = self.cache, self._fresh_cache()
        old.clear()

    # -- state --------------------------------------------------------------------------------
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
        switches retargeting off in the same step (:mod:`studio.document.reference_pose`)."""
        from studio.document.reference_pose import with_retarget_choice

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

def _load_rgb(path: Path) -> np.ndarray:
    from studio.media.image import load_image

    return load_image(path).pixels
