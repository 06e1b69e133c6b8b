"""Whether the Render button can start a render now (no Qt widgets: the panel asks)."""

from __future__ import annotations

from typing import Any


def render_ready(doc: Any, busy: bool) -> tuple[bool, str]:
    """``(enabled, tooltip)`` of the Render button for document ``doc``: disabled while a render
    runs and while frames to render still wait for their pose (range-first extraction); other
    problems (no photo, no video) are reported when Render is pressed."""
    if busy:
        return False, "A render is running; cancel it or wait for it to finish."
    waiting = doc.render_waiting()
    if waiting:
        return False, waiting
    frames = doc.render_range()
    if frames and doc.project.frame_range is None and len(frames) < doc.timeline.frame_count:
        return True, (f"Render frames {frames[0]}–{frames[-1]}, the frames with a pose so far (the rest of the "
                      "clip is still being extracted; set an in/out range to choose others).")
    return True, "Render the in/out range, reusing its finished frames."
