"""Separate the person from the background and fill the hole the person leaves (once per clip).

The mask starts from MediaPipe SelfieSegmentation (bundled in the wheel, offline) and is refined
by GrabCut seeded with the reference skeleton: pixels on the bones are surely the person, pixels
far from every bone that the segmenter calls background are surely background. Where the
segmenter does not see a person at all along the skeleton (a drawn figure, a statue), the
skeleton seeds alone decide.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.backends.draft.rig import body_scale
from studio.backends.draft.skeleton import BONES, bone_segments
from studio.core.errors import StudioError

_WORK_SIZE = 320  # long side of the image GrabCut works on


def selfie_probability(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` float32 person probability from MediaPipe SelfieSegmentation."""
    try:
        from studio.extract.mp_runtime import import_mediapipe

        mp = import_mediapipe()  # its native log lines kept off the terminal
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
            result = seg.process(np.ascontiguousarray(rgb))
    except Exception as exc:  # noqa: BLE001 - mediapipe raises many kinds
        raise StudioError(
            "Person segmentation failed",
            "MediaPipe SelfieSegmentation could not run on the reference photo. Check that "
            "mediapipe 0.10.21 is installed (run `studio doctor`).",
            repr(exc),
        ) from exc
    if result.segmentation_mask is None:
        return np.zeros(rgb.shape[:2], np.float32)
    return np.asarray(result.segmentation_mask, np.float32)


def _skeleton_image(ref: np.ndarray, shape: tuple[int, int], scale: float, thickness: int) -> np.ndarray:
    img = np.zeros(shape, np.uint8)
    for i, (a, b) in enumerate(bone_segments(ref * scale)):
        if BONES[i].kind == "head":
            r = max(int(round(np.linalg.norm(b - a) * 0.35)), 1)
            cv2.circle(img, tuple(np.round((a + b) / 2).astype(int)), r if thickness > 3 else r // 2, 255, -1)
        cv2.line(img, tuple(np.round(a).astype(int)), tuple(np.round(b).astype(int)), 255, thickness)
    return img


def person_mask(rgb: np.ndarray, ref: np.ndarray, prob: np.ndarray | None = None) -> np.ndarray:
    """``(H, W)`` float32 soft mask in [0, 1] of the person whose complete pose is ``ref``.

    ``prob`` is the segmenter's probability map (computed here when ``None``)."""
    h, w = rgb.shape[:2]
    if prob is None:
        prob = selfie_probability(rgb)
    s = min(1.0, _WORK_SIZE / max(h, w))
    sw, sh = max(int(round(w * s)), 8), max(int(round(h * s)), 8)
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    p = cv2.resize(prob, (sw, sh), interpolation=cv2.INTER_LINEAR)
    unit = body_scale(ref) * s
    thin = _skeleton_image(ref, (sh, sw), s, max(int(unit * 0.04), 1)) > 0
    near = _skeleton_image(ref, (sh, sw), s, max(int(unit * 0.4), 3)) > 0
    far = cv2.dilate(near.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(int(unit * 0.15), 1)) == 0

    reliable = float((p[thin] > 0.5).mean()) > 0.5 if thin.any() else False
    gc = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
    if reliable:  # GrabCut only settles the segmenter's uncertain edges
        gc[p > 0.5] = cv2.GC_PR_FGD
        # Far from the skeleton only what the segmenter doubts is surely background: where the
        # photo's pose is wrong (an arm or a leg found on the other limb) the limb it missed is
        # still the person, and left out of the mask it would stay in the background plate as a
        # static copy beside the moving one. Other people apart from this one are still dropped
        # below (only pieces touching the skeleton are kept).
        gc[(p < 0.05) | (far & (p < 0.5))] = cv2.GC_BGD
        gc[thin & (p > 0.3)] = cv2.GC_FGD
    else:  # no segmenter opinion: colours decide around the bones, seeded on the bones
        core = _skeleton_image(ref, (sh, sw), s, max(int(unit * 0.12), 2)) > 0
        gc[core] = cv2.GC_PR_FGD
        gc[far] = cv2.GC_BGD
        gc[thin] = cv2.GC_FGD
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    # GrabCut's k-means draws from OpenCV's process-wide RNG: seed it so the same photo gives
    # the same mask in every process and every rig (renders resume byte-identically).
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(small, gc, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too few samples of one class: keep the seeds as they are
        pass
    fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep only the pieces that touch the skeleton.
    n, lab = cv2.connectedComponents(fg)
    keep = np.unique(lab[thin & (fg > 0)])
    fg = np.isin(lab, keep[keep > 0]).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    # Upsample, then blur by about one work pixel so the staircase becomes a smooth contour,
    # and sharpen back to an edge about two pixels wide.
    soft = cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    soft = cv2.GaussianBlur(soft, (0, 0), max(0.8 / s, 1.0))
    soft = np.clip((soft - 0.5) * max(1.0 / s, 1.5) + 0.5, 0.0, 1.0).astype(np.float32)
    return refine_edges(rgb, soft, band=max(int(round(2.0 / s)), 2))


def refine_edges(rgb: np.ndarray, soft: np.ndarray, band: int) -> np.ndarray:
    """Sharpen a coarse mask to the photo's own edges, at full resolution.

    Within ``band`` pixels of the coarse edge each pixel is compared with the mean colours of
    the sure person and the sure background around it (normalised Gaussian blurs): its alpha
    is how much closer it is to the person's colour. Where those two colours are alike the
    coarse mask is kept. This removes slivers of background (an armpit gap, a fringe of sky
    around the shoulders) that the low-resolution segmentation glued to the person.
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    fg = cv2.erode((soft > 0.5).astype(np.uint8), kernel)
    bg = cv2.erode((soft <= 0.5).astype(np.uint8), kernel)
    unsure = (fg == 0) & (bg == 0)
    if not unsure.any() or not fg.any() or not bg.any():
        return soft
    img = rgb.astype(np.float32)
    sigma = 1.5 * band

    def local_mean(m: np.ndarray) -> np.ndarray:
        mf = m.astype(np.float32)
        num = cv2.GaussianBlur(img * mf[..., None], (0, 0), sigma)
        den = cv2.GaussianBlur(mf, (0, 0), sigma)[..., None]
        return num / np.maximum(den, 1e-4)

    F, B = local_mean(fg), local_mean(bg)
    c, f, b = img[unsure], F[unsure], B[unsure]
    d_f = ((c - f) ** 2).sum(1)
    d_b = ((c - b) ** 2).sum(1)
    colour_alpha = d_b / np.maximum(d_f + d_b, 1e-4)
    contrast = ((f - b) ** 2).sum(1)
    trust = contrast / (contrast + 30.0**2)
    out = soft.copy()
    out[unsure] = trust * colour_alpha + (1 - trust) * soft[unsure]
    out[fg > 0] = 1.0
    out[bg > 0] = 0.0
    return np.clip(out, 0.0, 1.0)


def fill_background(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The photo with the person removed: the masked area is inpainted (OpenCV Telea) at a
    reduced size, then pasted back with a soft edge. Runs once per clip."""
    h, w = alpha.shape
    hole = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(int(round(max(h, w) / 200)), 2))
    s = min(1.0, 256 / max(h, w))
    sw, sh = max(int(round(w * s)), 8), max(int(round(h * s)), 8)
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    small_hole = (cv2.resize(hole.astype(np.float32), (sw, sh), interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    filled = cv2.inpaint(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), cv2.dilate(small_hole, np.ones((3, 3), np.uint8)),
                         5, cv2.INPAINT_TELEA)
    filled = cv2.cvtColor(cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC), cv2.COLOR_BGR2RGB)
    edge = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), max(h, w) / 300)[..., None]
    edge = np.maximum(edge, hole[..., None].astype(np.float32))
    return np.round(rgb * (1 - edge) + filled * edge).astype(np.uint8)


def check_mask(alpha: np.ndarray, source: str) -> None:
    """Raise :class:`StudioError` when the mask holds (almost) nobody."""
    if float((alpha > 0.5).mean()) < 0.002:
        raise StudioError(
            "No person found in the reference photo",
            f"The draft renderer could not separate a person from the background in {source}. "
            "Use a photo where one person is clearly visible, whole body, against a distinct "
            "background.",
        )
