"""The one-time setup per reference photo: fit it to the render size, find its pose (or use the
one given), cut the person out, fill the background, and build the rig."""

from __future__ import annotations

import numpy as np

from studio.backends.draft.framing import body_pixels, fit_reference
from studio.backends.draft.rig import LIMB_RADIUS, Rig, body_scale, build_rig
from studio.backends.draft.shared_limbs import repaired_reference
from studio.backends.draft.segment import check_mask, fill_background, person_mask
from studio.backends.draft.skeleton import REQUIRED_JOINTS, complete_reference
from studio.core.errors import StudioError
from studio.core.tracks import BODY_NAMES, PoseTrack
from studio.extract.fit import CanvasFit


def detect_reference_pose(rgb: np.ndarray) -> PoseTrack:
    """The reference photo's own pose via :func:`studio.extract.detect_image`."""
    try:
        from studio.extract import detect_image
    except ImportError as exc:
        raise StudioError(
            "Cannot find the pose of the reference photo",
            "The pose detector (studio.extract.detect_image) is not available in this build. "
            "Run the extraction on the reference photo first so the project stores its pose.",
            repr(exc),
        ) from exc
    pose, _face = detect_image(rgb)
    return pose


def reference_pixels(pose: PoseTrack, fit: CanvasFit, source: str = "the reference photo") -> np.ndarray:
    """The complete reference pose in render pixels; :class:`StudioError` if the body is not
    there (no person, or shoulders/hips/neck missing)."""
    if len(pose) < 1 or not bool(pose.has_person()[0]):
        raise StudioError(
            "No person found in the reference photo",
            f"No person was detected in {source}. Use a photo that shows one person, "
            "upper body and hips at least, facing the camera.",
        )
    pts = body_pixels(pose.slice(0, 1), fit)[0]
    missing = [BODY_NAMES[j] for j in REQUIRED_JOINTS if not np.all(np.isfinite(pts[j]))]
    if missing:
        raise StudioError(
            "The reference pose is incomplete",
            f"In {source} the draft renderer needs at least the neck and both shoulders; "
            f"missing: {', '.join(missing)}. Use a photo where the upper body is visible.",
        )
    return complete_reference(pts)


def prepare_rig(reference: np.ndarray, reference_pose: PoseTrack | None, width: int, height: int,
                source: str = "the reference photo", offset: tuple[float, float] = (0.0, 0.0),
                scale: float = 1.0) -> Rig:
    """Everything the per-frame warp needs, computed once for one photo, render size and framing
    (``offset``/``scale`` of the photo on the canvas)."""
    if reference.ndim != 3 or reference.shape[2] != 3 or reference.dtype != np.uint8:
        raise StudioError(
            "Unsupported reference image",
            f"{source} must be an RGB image with 8 bits per channel (got shape "
            f"{reference.shape}, {reference.dtype}).",
        )
    if reference_pose is None:
        reference_pose = detect_reference_pose(reference)
    rgb, fit = fit_reference(reference, width, height, offset, scale)
    ref = reference_pixels(reference_pose, fit, source)
    # A limb the detector put on another limb or across the body is placed where its partner's
    # mirror image says, so the mask, the layers and the bones find the limb in the photo.
    ref = repaired_reference(ref, width, height, LIMB_RADIUS * body_scale(ref))
    alpha = person_mask(rgb, ref)
    check_mask(alpha, source)
    background = fill_background(rgb, alpha)
    return build_rig(rgb, alpha, background, ref)
