"""Retargeting: give the driving skeleton the reference person's proportions.

Each limb of the OpenPose-18 tree (rooted at the neck) is scaled by its own factor,
``reference length / driving length``, where the reference length is measured on the reference
photo and the driving length is the median over the clip (so per-frame foreshortening is kept).
Children are rebuilt from their parents outwards, so the driving joint angles are unchanged.
The result is anchored at the neck or at the hip midpoint: ``place="driving"`` keeps that
anchor where the dancer's is; ``place="reference"`` moves it to the reference person's anchor
on frame 0 and scales the dancer's later displacements by the overall body scale. A limb not
visible on the reference photo borrows its mirror limb's factor, else the median factor.

All geometry is done in one pixel space, the render canvas (see :class:`CanvasFit`), so that a
photo and a video of different sizes compare correctly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.core.errors import StudioError
from studio.core.tracks import N_BODY, PoseTrack
from studio.extract.fit import CanvasFit

#: (parent, child) OpenPose-18 limbs in root-to-leaf order (root: neck = 1).
TREE: tuple[tuple[int, int], ...] = (
    (1, 0), (0, 14), (0, 15), (14, 16), (15, 17),
    (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7),
    (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
)
#: Mirror limb of each limb (by child index), for limbs missing on the reference.
MIRROR: dict[int, int] = {14: 15, 15: 14, 16: 17, 17: 16, 2: 5, 5: 2, 3: 6, 6: 3, 4: 7, 7: 4,
                          8: 11, 11: 8, 9: 12, 12: 9, 10: 13, 13: 10}
ANCHORS: tuple[str, ...] = ("neck", "hips")
PLACES: tuple[str, ...] = ("driving", "reference")
_WRIST_OF_HAND = (7, 4)  # hand 0 = left hand follows the left wrist, hand 1 the right wrist


@dataclass(frozen=True)
class RetargetOptions:
    """``enabled`` switches retargeting on; ``anchor`` is ``"neck"`` or ``"hips"``, ``place``
    ``"driving"`` or ``"reference"`` (see the module docs); ``threshold`` is the confidence a
    point needs to be measured."""

    enabled: bool = True
    anchor: str = "hips"
    place: str = "driving"
    threshold: float = 0.3


def _valid(body: np.ndarray, conf: np.ndarray, threshold: float) -> np.ndarray:
    return np.isfinite(body).all(axis=-1) & (conf > threshold)


def limb_lengths(body_px: np.ndarray, conf: np.ndarray, threshold: float = 0.3) -> dict[int, float]:
    """Lengths in pixels of the limbs visible on one body, keyed by the limb's child index."""
    ok = _valid(body_px, conf, threshold)
    return {c: float(np.linalg.norm(body_px[c] - body_px[p])) for p, c in TREE if ok[p] and ok[c]}


def _anchor_point(body: np.ndarray, ok: np.ndarray, anchor: str) -> np.ndarray | None:
    if anchor == "neck":
        return body[1] if ok[1] else None
    if ok[8] and ok[11]:
        return 0.5 * (body[8] + body[11])
    return None


def limb_scales(drv_px: np.ndarray, drv_conf: np.ndarray, ref_px: np.ndarray, ref_conf: np.ndarray,
                threshold: float = 0.3) -> dict[int, float]:
    """Per-limb factors (keyed by child index): reference length / median driving length."""
    ref_len = limb_lengths(ref_px, ref_conf, threshold)
    ok = _valid(drv_px, drv_conf, threshold)
    raw: dict[int, float] = {}
    for p, c in TREE:
        both = ok[:, p] & ok[:, c]
        if not both.any() or c not in ref_len:
            continue
        d = float(np.median(np.linalg.norm(drv_px[both, c] - drv_px[both, p], axis=-1)))
        if d > 1e-6 and ref_len[c] > 1e-6:
            raw[c] = ref_len[c] / d
    overall = float(np.median(list(raw.values()))) if raw else 1.0
    scales = {}
    for _, c in TREE:
        if c in raw:
            scales[c] = raw[c]
        elif MIRROR.get(c) in raw:
            scales[c] = raw[MIRROR[c]]
        else:
            scales[c] = overall
    scales[-1] = overall  # the overall body scale
    return scales


def retarget_body(drv_px: np.ndarray, drv_conf: np.ndarray, ref_px: np.ndarray, ref_conf: np.ndarray,
                  options: RetargetOptions = RetargetOptions(),
                  drv_hands_px: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Retarget ``(N, 18, 2)`` driving points (pixels) to a reference body ``(18, 2)`` (pixels).

    Returns the new body points and, if given, the moved ``(N, 2, 21, 2)`` hands (each hand
    follows its wrist, or its elbow when the wrist is below the threshold, and is scaled by its
    forearm's factor; a hand with neither is dropped). Missing points stay NaN.
    """
    if options.anchor not in ANCHORS:
        raise StudioError("Invalid retarget anchor", f"Anchor {options.anchor!r} is not one of {ANCHORS}.")
    if options.place not in PLACES:
        raise StudioError("Invalid retarget placement", f"Placement {options.place!r} is not one of {PLACES}.")
    drv = np.asarray(drv_px, np.float64)
    conf = np.asarray(drv_conf, np.float64)
    ref = np.asarray(ref_px, np.float64)
    rconf = np.asarray(ref_conf, np.float64)
    if drv.ndim != 3 or drv.shape[1:] != (N_BODY, 2) or ref.shape != (N_BODY, 2):
        raise StudioError("Invalid pose", f"Bodies must be (N, 18, 2) and (18, 2), got {drv.shape} and {ref.shape}.")
    if not _valid(ref, rconf, options.threshold)[[1, 2, 5]].all():
        raise StudioError(
            "No body on the reference photo",
            "Retargeting needs at least the neck and both shoulders of the reference person. "
            "Use a photo where the upper body is visible, or switch retargeting off.",
        )
    th = options.threshold
    scales = limb_scales(drv, conf, ref, rconf, th)
    ok = _valid(drv, conf, th)
    out = np.full_like(drv, np.nan)
    for i in range(len(drv)):
        if not ok[i, 1]:
            continue
        out[i, 1] = drv[i, 1]
        for p, c in TREE:
            if not ok[i, c]:
                continue
            if ok[i, p] and np.isfinite(out[i, p]).all():
                out[i, c] = out[i, p] + (drv[i, c] - drv[i, p]) * scales[c]
            else:  # parent missing this frame: place from the neck at the overall scale
                out[i, c] = out[i, 1] + (drv[i, c] - drv[i, 1]) * scales[-1]
    # Anchor: where the driving anchor was (or the reference's), per frame.
    ref_ok = _valid(ref, rconf, th)
    first_anchor = None
    for i in range(len(drv)):
        a_drv = _anchor_point(drv[i], ok[i], options.anchor)
        a_new = _anchor_point(out[i], np.isfinite(out[i]).all(axis=1), options.anchor)
        if a_drv is None or a_new is None:
            a_drv, a_new = drv[i, 1], out[i, 1]  # fall back to the neck
            if not ok[i, 1]:
                continue
        target = a_drv
        if options.place == "reference":
            a_ref = _anchor_point(ref, ref_ok, options.anchor)
            if a_ref is None:
                a_ref = ref[1]
            if first_anchor is None:
                first_anchor = a_drv
            target = a_ref + (a_drv - first_anchor) * scales[-1]
        out[i] += target - a_new
    hands_out = None
    if drv_hands_px is not None:
        hands = np.asarray(drv_hands_px, np.float64)
        hands_out = np.full_like(hands, np.nan)
        for side, wrist in enumerate(_WRIST_OF_HAND):
            s = scales[wrist]
            elbow = wrist - 1
            for i in range(len(drv)):
                if np.isfinite(out[i, wrist]).all() and ok[i, wrist]:
                    hands_out[i, side] = out[i, wrist] + (hands[i, side] - drv[i, wrist]) * s
                elif np.isfinite(out[i, elbow]).all() and ok[i, elbow]:
                    # wrist too doubtful to be drawn: the hand hangs from the retargeted elbow
                    hands_out[i, side] = out[i, elbow] + (hands[i, side] - drv[i, elbow]) * s
                # else: no retargeted arm to carry the hand, it is dropped (NaN) rather than
                # left floating where the dancer's hand was
    return out, hands_out


def retarget_track(driving: PoseTrack, reference: PoseTrack, options: RetargetOptions = RetargetOptions(),
                   *, driving_fit: CanvasFit | None = None, reference_fit: CanvasFit | None = None,
                   reference_frame: int = 0) -> PoseTrack:
    """The driving track with the reference person's proportions (same coordinates as ``driving``).

    ``driving_fit`` / ``reference_fit`` map each track into the common render canvas; without
    them each track's own pixel space (``width`` x ``height``) is used. With
    ``options.enabled`` false a copy of ``driving`` is returned.
    """
    if not options.enabled:
        return driving.copy()
    if not (0 <= reference_frame < len(reference)):
        raise StudioError("No reference pose", "The reference pose track is empty; detect the reference photo first.")

    def to_px(xy: np.ndarray, track: PoseTrack, fit: CanvasFit | None) -> np.ndarray:
        if fit is None:
            return np.asarray(xy, np.float64) * np.array([track.width, track.height], np.float64)
        return fit.to_canvas_px(xy)

    drv_px = to_px(driving.body, driving, driving_fit)
    hands_px = to_px(driving.hands, driving, driving_fit)
    ref_px = to_px(reference.body[reference_frame], reference, reference_fit)
    body, hands = retarget_body(drv_px, driving.body_conf, ref_px, reference.body_conf[reference_frame],
                                options, hands_px)
    assert hands is not None

    def back(px: np.ndarray) -> np.ndarray:
        if driving_fit is None:
            return (px / np.array([driving.width, driving.height], np.float64)).astype(np.float32)
        return driving_fit.from_canvas_norm(px / np.array([driving_fit.dst_w, driving_fit.dst_h], np.float64))

    out = driving.copy()
    out.body = back(body)
    out.hands = back(hands)
    missing = ~np.isfinite(out.body).all(axis=-1)
    out.body_conf[missing] = 0.0
    out.hands_conf[~np.isfinite(out.hands).all(axis=-1)] = 0.0
    return out
