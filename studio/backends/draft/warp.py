"""Per-frame work: pose the rig's meshes and draw them over the filled background.

For each part, the deformed triangles are rasterised at 1/``LOWRES`` resolution into a map of
triangle ids; every low-resolution pixel gets its source position from its triangle's inverse
affine map, the map is upsampled (exact inside triangles, which are affine) and ``cv2.remap``
pulls the part's premultiplied RGBA texture through it. Parts are composited back to front.
Only each part's bounding box is touched, so a frame costs roughly one full-frame remap.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.backends.draft.rig import Rig
from studio.backends.draft.skeleton import bone_transforms

LOWRES = 4
_INVALID = -1.0e6


def pose_vertices(rig: Rig, drv: np.ndarray) -> np.ndarray:
    """``(V, 2)`` vertex positions for the complete driving pose ``drv`` (render pixels)."""
    mats = bone_transforms(rig.ref_pose, drv).reshape(len(rig.weights[0]), 6)
    per_vertex = (rig.weights @ mats).reshape(-1, 2, 3)
    v = rig.vertices
    return per_vertex[:, :, 0] * v[:, :1] + per_vertex[:, :, 1] * v[:, 1:] + per_vertex[:, :, 2]


def _inverse_affines(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle, the 3x2 matrix ``M`` with ``[x, y, 1] @ M`` = source position of the output
    point ``(x, y)``; and which triangles are not degenerate."""
    D = np.concatenate([dst, np.ones(dst.shape[:2] + (1,))], axis=2)  # (T, 3, 3)
    det = np.linalg.det(D)
    ok = np.abs(det) > 1e-3
    D[~ok] = np.eye(3)
    M = np.linalg.solve(D, src)  # (T, 3, 2)
    return M, ok


def _draw_part(canvas: np.ndarray, tex: np.ndarray, src: np.ndarray, dst: np.ndarray) -> None:
    """Warp one part (triangles ``src`` -> ``dst``, ``(T, 3, 2)``) onto ``canvas`` in place."""
    h, w = canvas.shape[:2]
    f = LOWRES
    lo = np.floor(dst.reshape(-1, 2).min(0) / f).astype(int) - 1
    hi = np.ceil(dst.reshape(-1, 2).max(0) / f).astype(int) + 2
    j0, i0 = max(lo[0], 0), max(lo[1], 0)
    j1, i1 = min(hi[0], w // f), min(hi[1], h // f)
    if j1 <= j0 or i1 <= i0:
        return
    M, ok = _inverse_affines(src, dst)
    # Low-res pixel (i, j) stands for the full-res point (f*j + (f-1)/2, f*i + (f-1)/2).
    half = (f - 1) / 2.0
    lo_pts = (dst - half) / f - np.array([j0, i0])
    fixed = np.round(lo_pts * 16).astype(np.int32)
    ids = np.zeros((i1 - i0, j1 - j0), np.int32)
    for t in np.flatnonzero(ok):
        cv2.fillConvexPoly(ids, fixed[t], int(t) + 1, cv2.LINE_8, 4)
    valid = ids > 0
    if not valid.any():
        return
    yy, xx = np.nonzero(valid)
    m = M[ids[valid] - 1]  # (n, 3, 2)
    X = (xx + j0) * f + half
    Y = (yy + i0) * f + half
    lowmap = np.full(ids.shape + (2,), _INVALID, np.float32)
    lowmap[yy, xx] = m[:, 0] * X[:, None] + m[:, 1] * Y[:, None] + m[:, 2]
    fullmap = cv2.resize(lowmap, ((j1 - j0) * f, (i1 - i0) * f), interpolation=cv2.INTER_LINEAR)
    fg = cv2.remap(tex, fullmap, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    roi = canvas[i0 * f : i1 * f, j0 * f : j1 * f]
    inv = cv2.cvtColor(255 - fg[..., 3], cv2.COLOR_GRAY2RGB)
    roi[...] = cv2.add(cv2.multiply(roi, inv, scale=1.0 / 255.0), fg[..., :3])


def render_pose(rig: Rig, drv: np.ndarray) -> np.ndarray:
    """The reference person posed as ``drv`` (complete, render pixels): ``(H, W, 3)`` uint8."""
    canvas = rig.background.copy()
    posed = pose_vertices(rig, drv)
    for part in rig.parts:
        _draw_part(canvas, part.tex, rig.vertices[part.tris], posed[part.tris])
    return canvas
