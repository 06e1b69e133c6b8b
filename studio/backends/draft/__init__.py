"""The weight-free draft renderer: pose-driven warping of the reference photo (numpy + OpenCV +
MediaPipe, no torch). See :class:`~studio.backends.draft.backend.DraftBackend`.

Once per reference photo and render size (:mod:`.prepare`, about a second):

1. fit the photo to the render size like the official code (:mod:`.framing`), take its pose
   from the job or detect it (:func:`studio.extract.detect_image`), guess missing joints;
2. cut the person out: MediaPipe SelfieSegmentation refined by skeleton-seeded GrabCut and a
   full-resolution colour pass on the edge (:mod:`.segment`);
3. inpaint the background behind the person (:func:`.segment.fill_background`);
4. split the person into part layers (legs, torso, head, arms; the torso filled behind the
   limbs) and cover each with a triangle mesh bound to the bones (:mod:`.layers`, :mod:`.rig`).

Per frame (:mod:`.warp`, a few milliseconds): bone transforms from the (retargeted, gap-filled,
:mod:`.motion`) driving pose, rotation-preserving skin blending of the vertices, one vectorised
rasterisation of all triangles into low-resolution backward maps, then ``cv2.remap`` and
back-to-front compositing over the filled background.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DraftBackend"]


def __getattr__(name: str) -> Any:
    # lazy, so reading the spec (studio.backends.draft.spec) does not import OpenCV and MediaPipe
    if name == "DraftBackend":
        from studio.backends.draft.backend import DraftBackend

        return DraftBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
