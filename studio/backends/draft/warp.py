"""Per-frame work: pose the rig's meshes and draw them over the filled background.

The deformed triangles of all parts are rasterised together at 1/``rig.lowres`` resolution,
one layer per part: every covered low-resolution pixel gets its source position from its
triangle's inverse affine map. Each layer's map is upsampled (exact inside a triangle, which is
affine) and ``cv2.remap`` pulls the part's premultiplied RGBA texture through it; parts are
composited back to front.
Only the bands of rows and columns a part covers are touched, so a frame costs about the
person's area in remapping, not the frame's.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.backends.draft.rig import Rig
from studio.backends.draft.skeleton import bone_transforms

LOWRES = 4
_INVALID = -1.0e6


def pose_vertices(rig: Rig, drv: np.ndarray) -> np.ndarray:
    """``(V, 2)`` vertex positions for the complete driving pose ``drv`` (render pixels).

    Plain linear blend skinning averages the bones' matrices, which shrinks a vertex blended
    between two bones that turned far apart (an arm raised overhead collapses at the shoulder).
    Here each bone's 2x2 part is split into a rotation and a stretch; a vertex turns by the
    weighted circular mean of its bones' angles, stretches by the mean stretch, about its pivot
    joint, which lands where its bones carry it on average. With one bone this is exactly that
    bone's transform; blended, lengths are kept and the limb bends around the joint.
    """
    mats = bone_transforms(rig.ref_pose, drv)  # (B, 2, 3)
    A = mats[:, :, :2]
    theta = np.arctan2(A[:, 1, 0] - A[:, 0, 1], A[:, 0, 0] + A[:, 1, 1])
    c, s = np.cos(theta), np.sin(theta)
    # Stretch S = R^T A, per bone.
    S = np.empty_like(A)
    S[:, 0, 0] = c * A[:, 0, 0] + s * A[:, 1, 0]
    S[:, 0, 1] = c * A[:, 0, 1] + s * A[:, 1, 1]
    S[:, 1, 0] = -s * A[:, 0, 0] + c * A[:, 1, 0]
    S[:, 1, 1] = -s * A[:, 0, 1] + c * A[:, 1, 1]
    w = rig.weights
    vt = np.arctan2(w @ s, w @ c)
    vc, vs = np.cos(vt), np.sin(vt)
    Sv = w @ S.reshape(len(S), 4)  # (V, 4): blended stretch
    Av = w @ A.reshape(len(A), 4)  # (V, 4): blended matrix, applied to the pivot only
    P = rig.pivots
    # Where the bones take the vertex's pivot, averaged by weight.
    anchor = np.empty_like(P)
    anchor[:, 0] = Av[:, 0] * P[:, 0] + Av[:, 1] * P[:, 1]
    anchor[:, 1] = Av[:, 2] * P[:, 0] + Av[:, 3] * P[:, 1]
    anchor += w @ mats[:, :, 2]
    d = rig.vertices - P
    sx = Sv[:, 0] * d[:, 0] + Sv[:, 1] * d[:, 1]
    sy = Sv[:, 2] * d[:, 0] + Sv[:, 3] * d[:, 1]
    out = np.empty_like(d)
    out[:, 0] = anchor[:, 0] + vc * sx - vs * sy
    out[:, 1] = anchor[:, 1] + vs * sx + vc * sy
    return out


def _inverse_affines(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle, the 3x2 matrix ``M`` with ``[x, y, 1] @ M`` = source position of the output
    point ``(x, y)``; and which triangles are not degenerate. Closed form, vectorised."""
    e1 = dst[:, 1] - dst[:, 0]
    e2 = dst[:, 2] - dst[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-3
    inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    # E^-1 for E = [e1 e2] (columns); A = F E^-1 maps output offsets to source offsets.
    i00, i01 = e2[:, 1] * inv_det, -e2[:, 0] * inv_det
    i10, i11 = -e1[:, 1] * inv_det, e1[:, 0] * inv_det
    f1 = src[:, 1] - src[:, 0]
    f2 = src[:, 2] - src[:, 0]
    a00 = f1[:, 0] * i00 + f2[:, 0] * i10
    a01 = f1[:, 0] * i01 + f2[:, 0] * i11
    a10 = f1[:, 1] * i00 + f2[:, 1] * i10
    a11 = f1[:, 1] * i01 + f2[:, 1] * i11
    M = np.empty((len(dst), 3, 2))
    M[:, 0, 0], M[:, 1, 0] = a00, a01
    M[:, 0, 1], M[:, 1, 1] = a10, a11
    p0 = dst[:, 0]
    M[:, 2, 0] = src[:, 0, 0] - a00 * p0[:, 0] - a01 * p0[:, 1]
    M[:, 2, 1] = src[:, 0, 1] - a10 * p0[:, 0] - a11 * p0[:, 1]
    return M, ok


def _covered(tris: np.ndarray, lo: np.ndarray, span: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For triangles ``tris`` ``(n, 3, 2)`` whose covered pixel centres lie within ``span``
    pixels right/down of ``lo`` ``(n, 2)``: ``(triangle, x, y)`` of every covered centre."""
    t = tris.astype(np.float32)
    a, b, c = t[:, 0], t[:, 1], t[:, 2]
    orient = np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))
    off = np.arange(span, dtype=np.float32)
    x0 = lo[:, 0].astype(np.float32)
    y0 = lo[:, 1].astype(np.float32)
    inside = None
    for p, q in ((a, b), (b, c), (c, a)):
        # Edge function e(x, y) = A x + B y + C, >= 0 on the inner side of edge p -> q.
        A = -(q[:, 1] - p[:, 1]) * orient
        B = (q[:, 0] - p[:, 0]) * orient
        C = -(A * p[:, 0] + B * p[:, 1])
        e = ((A * x0 + B * y0 + C)[:, None, None] + (A[:, None] * off)[:, None, :]
             + (B[:, None] * off)[:, :, None])
        inside = e >= -1e-4 if inside is None else inside & (e >= -1e-4)
    k, oy, ox = np.nonzero(inside)
    return k, lo[k, 0] + ox, lo[k, 1] + oy


def rasterise_map(tris: np.ndarray, M: np.ndarray, ok: np.ndarray, layer: np.ndarray,
                  shape: tuple[int, int, int], span: int = 6, max_span: int = 96,
                  lowres: int = LOWRES) -> np.ndarray:
    """The low-resolution backward map: ``(layers, H, W, 2)`` source positions of the pixel
    centres covered by the triangles ``tris`` ``(T, 3, 2)`` (low-res pixel units, either
    winding; triangle ``t`` draws into layer ``layer[t]`` with inverse map ``M[t]``), and
    :data:`_INVALID` where no triangle is. Triangles are tested in vectorised passes over their
    bounding boxes, grouped by size (up to ``span``, twice that, ...; clipped at ``max_span``),
    so the few stretched ones do not enlarge the test for all. Where triangles of a layer
    overlap (a fold), the later one in its pass wins, and larger ones are drawn last."""
    n_layers, h, w = shape
    f = lowres
    half = (f - 1) / 2.0
    out = np.full((n_layers * h * w, 2), _INVALID, np.float32)
    lo = np.ceil(tris.min(axis=1) - 1e-6).astype(np.int64)
    hi = np.floor(tris.max(axis=1) + 1e-6).astype(np.int64)
    size = (hi - lo + 1).max(axis=1)
    size = np.where(ok, size, 0)
    passes = []
    lower, upper = 0, span
    while lower < max_span and (size > lower).any():  # size classes: span, 2 span, 4 span, ...
        sel = np.flatnonzero((size > lower) & (size <= upper))
        if len(sel):
            passes.append((sel, min(upper, max_span)))
        lower, upper = upper, 2 * upper
    for sel, sp in passes:
        k, px, py = _covered(tris[sel], lo[sel], sp)
        keep = (px >= 0) & (px < w) & (py >= 0) & (py < h)
        tk, px, py = sel[k[keep]], px[keep], py[keep]
        m = M[tk]
        X = (px * f + half)[:, None]
        Y = (py * f + half)[:, None]
        out[(layer[tk] * h + py) * w + px] = m[:, 0] * X + m[:, 1] * Y + m[:, 2]
    return out.reshape(n_layers, h, w, 2)


def _composite(canvas: np.ndarray, tex: np.ndarray, near: np.ndarray, lowmap: np.ndarray, f: int,
               band: int = 8) -> None:
    """Pull ``tex`` through ``lowmap`` (one layer's ``(H/f, W/f, 2)`` map, sampled every ``f``
    pixels) and lay it over ``canvas`` in place.

    Work is done in horizontal bands of ``band`` samples, each cut to the columns where the
    samples land near the part (``near``, looked up at low resolution), so a thin limb costs
    about its own area rather than its mesh's bounding box. Each band is upsampled with one
    sample of context around it, so the result is the same as upsampling the whole map."""
    lh, lw = lowmap.shape[:2]
    hit = cv2.remap(near, lowmap, None, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    valid = cv2.dilate(hit, np.ones((3, 3), np.uint8)) > 0
    rows = np.flatnonzero(valid.any(axis=1))
    if not len(rows):
        return
    for r0 in range(int(rows[0]), int(rows[-1]) + 1, band):
        r1 = min(r0 + band, lh)
        cols = np.flatnonzero(valid[max(r0 - 1, 0) : r1 + 1].any(axis=0))
        if not len(cols):
            continue
        c0, c1 = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, lw)
        # One sample of context on each side, cropped away after upsampling.
        a0, a1, b0, b1 = max(r0 - 1, 0), min(r1 + 1, lh), max(c0 - 1, 0), min(c1 + 1, lw)
        full = cv2.resize(lowmap[a0:a1, b0:b1], ((b1 - b0) * f, (a1 - a0) * f), interpolation=cv2.INTER_LINEAR)
        full = full[(r0 - a0) * f : (r1 - a0) * f, (c0 - b0) * f : (c1 - b0) * f]
        fg = cv2.remap(tex, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        roi = canvas[r0 * f : r1 * f, c0 * f : c1 * f]
        inv = cv2.cvtColor(255 - fg[..., 3], cv2.COLOR_GRAY2RGB)
        cv2.add(cv2.multiply(roi, inv, scale=1.0 / 255.0), cv2.cvtColor(fg, cv2.COLOR_RGBA2RGB), dst=roi)


def render_pose(rig: Rig, drv: np.ndarray, out: np.ndarray | None = None,
                offsets: np.ndarray | None = None) -> np.ndarray:
    """The reference person posed as ``drv`` (complete, render pixels): ``(H, W, 3)`` uint8,
    written into ``out`` when given (e.g. a slot of a chunk array). ``offsets`` ``(V, 2)`` move
    the posed vertices further (a live photo's hair and clothes, :mod:`studio.backends.draft.flutter`)."""
    if out is None:
        out = rig.background.copy()
    else:
        np.copyto(out, rig.background)
    h, w = out.shape[:2]
    f = rig.lowres
    lh, lw = h // f, w // f
    posed = pose_vertices(rig, drv)
    if offsets is not None:
        posed = posed + offsets
    dst = posed[rig.tris]  # (T, 3, 2)
    M, ok = _inverse_affines(rig.src_tris, dst)
    # Low-res pixel (i, j) stands for the full-res point (f*j + (f-1)/2, f*i + (f-1)/2).
    span = int(np.ceil(rig.cell / f)) + 1  # an upright cell's bounding box, in samples
    lowmap = rasterise_map((dst - (f - 1) / 2.0) / f, M, ok, rig.tri_part, (len(rig.parts), lh, lw),
                           span=span, lowres=f)
    for k, part in enumerate(rig.parts):
        _composite(out, part.tex, part.near, lowmap[k], f)
    return out
