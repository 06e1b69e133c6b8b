"""Frames a queued render finished, shown on the timeline like a render from the panel.

A queued job renders in another process (``studio queue run``, here or on a farm) into its own
render folder, whose manifest lists every finished frame under its cache key (see
:mod:`studio.core.render_store`). At every refresh of the Queue dock, :class:`QueueFrames` reads
the manifests of the running and finished jobs of the open project (and of the jobs queued from
this window) and puts the frames whose key is the key the timeline expects for that frame into
the document's :class:`~studio.core.frame_cache.FrameCache`, as a render from the panel does: the
cache bar turns green and the viewer shows them. Frames rendered under other settings or another
pose are left out (their key is not the timeline's), so nothing stale is passed off as final.
Reading PNGs happens on the GUI thread, so each refresh reads at most :data:`FRAMES_PER_REFRESH`.
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject

from studio.core.files import read_png
from studio.core.frame_cache import FrameState
from studio.core.render_store import MANIFEST, frame_filename
from studio.farm.queue import QueueEntry

#: PNGs read per refresh of the Queue dock (one refresh a second).
FRAMES_PER_REFRESH = 16


def manifest_frames(render_dir: Path) -> dict[int, str]:
    """``{driving index: cache key}`` of the finished frames in ``render_dir`` (empty when it
    has no readable manifest)."""
    try:
        d = json.loads((Path(render_dir) / MANIFEST).read_text(encoding="utf-8"))
        return {int(i): str(k) for i, k in d.get("frames", {}).items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


class QueueFrames(QObject):
    """Feeds a document's frame cache from the render folders of its queued jobs."""

    def __init__(self, document, queue_panel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document
        self._watched: set[int] = set()
        queue_panel.refreshed.connect(self.update)

    def watch(self, job_id: int) -> None:
        """Also feed from job ``job_id`` (queued from this window, maybe of an unsaved project)."""
        self._watched.add(int(job_id))

    def _ours(self, entry: QueueEntry) -> bool:
        if entry.id in self._watched:
            return True
        path = self.doc.project.path
        if path is None or not entry.project:
            return False
        try:
            return Path(entry.project).resolve() == Path(path).resolve()
        except OSError:
            return False

    def update(self, entries: list[QueueEntry]) -> int:
        """Put the new finished frames of ``entries`` that belong to the open project into the
        cache; returns how many were put."""
        keys = self.doc.frame_keys()
        if keys is None:
            return 0
        cache = self.doc.cache
        budget = FRAMES_PER_REFRESH
        put = 0
        for entry in entries:
            if entry.state not in ("running", "done", "cancelled", "failed") or entry.done_frames == 0 \
                    or not self._ours(entry):
                continue
            folder = Path(entry.render_dir)
            for i, key in sorted(manifest_frames(folder).items()):
                if budget == 0:
                    return put
                if not 0 <= i < len(keys) or keys[i] != key or cache.state(key, i) == FrameState.FINAL:
                    continue
                budget -= 1
                img = read_png(folder / frame_filename(i))
                if img is None:
                    continue  # overwritten or removed meanwhile: the next refresh sees it again
                cache.put(key, i, img, final=True)
                self.doc.note_rendered({i: key})
                put += 1
        return put

