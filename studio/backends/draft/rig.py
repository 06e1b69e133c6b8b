"""One-time setup per reference photo: split the person into body-part layers, cover each with a
triangle mesh, and bind the mesh vertices to the bones (linear blend skinning weights).

Each part (legs, torso, head, arms) gets its own mesh and its own RGBA texture, so limbs that
touch the torso in the photo separate cleanly when they move, while the vertices around the
joint that attaches a part to the torso (shoulder, hip, neck) blend the two bones' motion and
deform identically in both meshes: the body bends there without tearing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from studio.backends.draft.flutter import looseness
from studio.backends.draft.layers import part_layers
from studio.backends.draft.shared_limbs import dropped_limbs
from studio.backends.draft.skeleton import (
    ATTACHMENTS,
    BONE_INDEX,
    BONES,
    L_ELBOW,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    NECK,
    PARTS,
    R_ELBOW,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    bone_segments,
    segment_distance,
)
from studio.core.errors import StudioError


@dataclass(frozen=True)
class PartMesh:
    """The mesh of one body part.

    ``tex`` is the part's premultiplied RGBA texture (the reference pixels where the part is,
    transparent elsewhere); ``tris`` index into the rig's global vertex array; ``near`` marks
    the photo pixels within a few pixels of the part (its alpha, dilated), so the warp can
    skip the empty margin of the mesh.
    """

    name: str
    tex: np.ndarray  # (H, W, 4) uint8, premultiplied alpha
    tris: np.ndarray  # (T, 3) int32
    near: np.ndarray  # (H, W) uint8, 255 near the part


@dataclass(frozen=True, eq=False)
class Rig:
    """A reference photo bound to its skeleton, ready to be posed.

    Attributes
    ----------
    ref_pose: ``(18, 2)`` complete reference pose in render pixels.
    vertices: ``(V, 2)`` rest positions of all parts' mesh vertices (render pixels).
    weights: ``(V, n_bones)`` skinning weights, rows sum to 1.
    pivots: ``(V, 2)`` the joint each vertex's blended motion turns about (see
        :func:`studio.backends.draft.warp.pose_vertices`).
    parts: the part meshes, back to front.
    background: ``(H, W, 3)`` uint8 reference with the person removed and the hole filled.
    cell: the mesh grid spacing in pixels.
    lowres: the warp computes its backward map every ``lowres`` pixels (see
        :mod:`studio.backends.draft.warp`).
    loose: ``(V,)`` how far each vertex lies beyond the body's core (hair, loose clothes), 0..1,
        for a live photo's secondary motion (:mod:`studio.backends.draft.flutter`).
    """

    ref_pose: np.ndarray
    vertices: np.ndarray
    weights: np.ndarray
    pivots: np.ndarray
    parts: tuple[PartMesh, ...]
    background: np.ndarray
    cell: int
    lowres: int = 4
    loose: np.ndarray | None = None

    @cached_property
    def tris(self) -> np.ndarray:
        """``(T, 3)`` all parts' triangles, part by part in drawing order."""
        return np.concatenate([p.tris for p in self.parts])

    @cached_property
    def tri_part(self) -> np.ndarray:
        """``(T,)`` index into :attr:`parts` of each triangle."""
        return np.concatenate([np.full(len(p.tris), k, np.int32) for k, p in enumerate(self.parts)])

    @cached_property
    def src_tris(self) -> np.ndarray:
        """``(T, 3, 2)`` triangle corners at rest (photo pixels)."""
        return self.vertices[self.tris]

    @cached_property
    def part_ranges(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of each part's triangles in :attr:`tris`."""
        ends = np.cumsum([len(p.tris) for p in self.parts])
        return [(int(e - len(p.tris)), int(e)) for p, e in zip(self.parts, ends)]


#: Half the width of a typical limb, as a fraction of :func:`body_scale`.
LIMB_RADIUS = 0.09


def body_scale(ref: np.ndarray) -> float:
    """The neck-to-mid-hip distance in pixels: the unit for widths and blend radii."""
    return float(max(np.linalg.norm((ref[R_HIP] + ref[L_HIP]) / 2 - ref[NECK]), 8.0))


def _torso_polygon(ref: np.ndarray) -> np.ndarray:
    return np.array([ref[R_SHOULDER], ref[NECK], ref[L_SHOULDER], ref[L_HIP], ref[R_HIP]])


def distance_maps(ref: np.ndarray, w: int, h: int) -> dict[str, np.ndarray]:
    """Per part, a full-frame map of the distance (pixels) to the part's bones."""
    segs = bone_segments(ref)
    out: dict[str, np.ndarray] = {}
    for part in PARTS:
        canvas = np.full((h, w), 255, np.uint8)
        if part == "torso":
            cv2.fillPoly(canvas, [np.round(_torso_polygon(ref) * 16).astype(np.int32)], 0, cv2.LINE_8, 4)
        for i, bone in enumerate(BONES):
            if bone.part != part:
                continue
            a, b = segs[i]
            cv2.line(canvas, tuple(np.round(a * 16).astype(int)), tuple(np.round(b * 16).astype(int)),
                     0, 1, cv2.LINE_8, 4)
        out[part] = cv2.distanceTransform(canvas, cv2.DIST_L2, 5)
    return out


def part_labels(ref: np.ndarray, maps: dict[str, np.ndarray], dropped: frozenset[str] = frozenset()) -> np.ndarray:
    """``(H, W)`` index into :data:`PARTS` of the part each pixel belongs to.

    The nearest part wins, where a limb or the head counts as ``LIMB_RADIUS`` closer than its
    bone line (limbs have a width; the torso is measured to its filled polygon), so a sleeve
    overlapping the shoulder-to-hip outline still goes with the arm. On a limb's inner side
    (facing the torso) the allowance is small, so the torso's own flank near the armpit or the
    groin does not travel with the limb. ``maps`` are :func:`distance_maps`; the ``dropped``
    limbs get no pixels (see :mod:`studio.backends.draft.shared_limbs`)."""
    h, w = maps["torso"].shape
    allowance = LIMB_RADIUS * body_scale(ref)
    centre = _torso_polygon(ref).mean(axis=0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    layers = []
    for part in PARTS:
        d = maps[part]
        if part in dropped:
            layers.append(np.full_like(d, np.inf))
            continue
        first = next((b for b in BONES if b.part == part and b.kind == "limb"), None)
        if first is None:
            layers.append(d - (0.0 if part == "torso" else allowance))
            continue
        a, b = ref[first.a], ref[first.b]
        side = (b[0] - a[0]) * (yy - a[1]) - (b[1] - a[1]) * (xx - a[0])
        inner_sign = np.sign((b[0] - a[0]) * (centre[1] - a[1]) - (b[1] - a[1]) * (centre[0] - a[0]))
        inner = side * inner_sign > 0
        layers.append(d - np.where(inner, 0.25 * allowance, allowance))
    stack = np.stack(layers)
    # Ties go to the part drawn later, i.e. in front.
    return (len(PARTS) - 1 - np.argmin(stack[::-1], axis=0)).astype(np.uint8)


def _sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    x = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1)
    y = np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    return img[y, x]


#: Per child part, the distances from its attachment joint (as fractions of the body scale) up
#: to which the parent's bone counts fully / at all. The head and legs meet the torso along a
#: wide seam (the collar, the hip line) so they blend far out; an arm meets it at a point, and a
#: wide blend there would drag the armpit along with a raised arm.
BLEND_RADII: dict[str, tuple[float, float]] = {
    "head": (0.1, 0.5),
    "r_arm": (0.03, 0.13),
    "l_arm": (0.03, 0.13),
    "r_leg": (0.05, 0.3),
    "l_leg": (0.05, 0.3),
}


def skin_weights(part: str, pts: np.ndarray, ref: np.ndarray, torso_dist: np.ndarray) -> np.ndarray:
    """``(N, n_bones)`` weights of the vertices ``pts`` of ``part``.

    Each bone weighs ``exp(-(d/sigma)^2)`` by the vertex's distance ``d`` to it, but only the
    part's own bones count fully; a bone of a neighbouring part counts only near the joint the
    two parts share (so an arm resting against the torso does not drag the torso along).
    """
    scale = body_scale(ref)
    sigma = 0.09 * scale
    segs = bone_segments(ref)
    d = np.empty((len(pts), len(BONES)))
    for i, bone in enumerate(BONES):
        d[:, i] = _sample(torso_dist, pts) if bone.kind == "torso" else segment_distance(pts, *segs[i])
    w = np.exp(-((d / sigma) ** 2))
    gate = np.zeros_like(w)
    for i, bone in enumerate(BONES):
        if bone.part == part:
            gate[:, i] = 1.0
    # Neighbouring parts blend in only near their shared joint.
    for child, (parent, joint, parent_bone, child_bone) in ATTACHMENTS.items():
        if part not in (child, parent):
            continue
        other = BONE_INDEX[child_bone] if part == parent else BONE_INDEX[parent_bone]
        r_in, r_out = (r * scale for r in BLEND_RADII[child])
        dj = np.hypot(*(pts - ref[joint]).T)
        gate[:, other] = np.clip((r_out - dj) / (r_out - r_in), 0.0, 1.0)
    w *= gate
    total = w.sum(1, keepdims=True)
    # Vertices far from every bone of their part follow its nearest bone.
    own = np.where(gate >= 1.0, d, np.inf)
    nearest = np.argmin(own, axis=1)
    lonely = total[:, 0] < 1e-6
    w[lonely] = 0.0
    w[lonely, nearest[lonely]] = 1.0
    total[lonely] = 1.0
    return w / total


#: Per part, the joints where its bones blend with others' (the candidates for a vertex's pivot).
PIVOT_JOINTS: dict[str, tuple[int, ...]] = {
    "torso": (NECK, R_SHOULDER, L_SHOULDER, R_HIP, L_HIP),
    "head": (NECK,),
    "r_arm": (R_SHOULDER, R_ELBOW),
    "l_arm": (L_SHOULDER, L_ELBOW),
    "r_leg": (R_HIP, R_KNEE),
    "l_leg": (L_HIP, L_KNEE),
}


def nearest_pivot(part: str, pts: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``(N, 2)``: for each vertex, the nearest of its part's blending joints."""
    joints = ref[list(PIVOT_JOINTS[part])]
    d = np.linalg.norm(pts[:, None, :] - joints[None], axis=2)
    return joints[np.argmin(d, axis=1)].astype(np.float64)


def _grid_cells(region: np.ndarray, cell: int) -> np.ndarray:
    """``(rows, cols)`` bool: grid cells that contain any pixel of ``region``."""
    h, w = region.shape
    rows, cols = -(-h // cell), -(-w // cell)
    pad = np.zeros((rows * cell, cols * cell), bool)
    pad[:h, :w] = region
    return pad.reshape(rows, cell, cols, cell).any(axis=(1, 3))


def build_rig(rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray, ref: np.ndarray,
              cell: int | None = None) -> Rig:
    """Bind the person in ``rgb`` (soft mask ``alpha`` in [0, 1]) to the complete reference pose
    ``ref`` (render pixels)."""
    h, w = alpha.shape
    if cell is None:
        # About 15 cells per torso length, whatever the person's size in the frame.
        cell = int(np.clip(round(body_scale(ref) / 15), 6, 32))
    maps = distance_maps(ref, w, h)
    labels = part_labels(ref, maps, dropped_limbs(ref, w, h, LIMB_RADIUS * body_scale(ref)))
    torso_dist = maps["torso"]
    layers = part_layers(rgb, alpha, labels, ref, widen=LIMB_RADIUS * body_scale(ref))
    # The warp's backward map is sampled every `lowres` pixels (about two samples per cell;
    # render sizes are multiples of 8); meshes reach a little past their layer so that map is
    # valid all the way to the layer's soft edge.
    lowres = 8 if cell >= 16 else 4 if cell >= 8 else 2
    reach = max(2 * lowres, cell // 2)
    margin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    gy, gx = np.mgrid[0 : -(-h // cell) + 1, 0 : -(-w // cell) + 1]
    cols1 = gx.shape[1]

    vertices: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    pivots: list[np.ndarray] = []
    loose: list[np.ndarray] = []
    parts: list[PartMesh] = []
    n_vert = 0
    for part in PARTS:
        if part not in layers:
            continue
        colour, part_alpha = layers[part]
        region = (part_alpha > 0.004).astype(np.uint8)
        cells = _grid_cells(cv2.dilate(region, margin) > 0, cell)
        ci, cj = np.nonzero(cells)
        corners = np.stack([ci * cols1 + cj, ci * cols1 + cj + 1,
                            (ci + 1) * cols1 + cj, (ci + 1) * cols1 + cj + 1], axis=1)
        used, inverse = np.unique(corners, return_inverse=True)
        local = inverse.reshape(-1, 4).astype(np.int32) + n_vert
        tris = np.concatenate([local[:, [0, 1, 3]], local[:, [0, 3, 2]]])
        pts = np.stack([gx.ravel()[used], gy.ravel()[used]], axis=1).astype(np.float64) * cell
        vertices.append(pts)
        weights.append(skin_weights(part, pts, ref, torso_dist))
        pivots.append(nearest_pivot(part, pts, ref))
        loose.append(looseness(part, pts, ref, torso_dist, body_scale(ref)))
        n_vert += len(pts)
        premul = np.clip(np.round(colour * part_alpha[..., None]), 0, 255).astype(np.uint8)
        a8 = np.round(part_alpha * 255).astype(np.uint8)
        near = cv2.dilate((a8 > 0).astype(np.uint8) * 255, np.ones((4 * lowres + 1, 4 * lowres + 1), np.uint8))
        parts.append(PartMesh(part, np.dstack([premul, a8]), tris, near))
    if not parts:
        raise StudioError(
            "No person found in the reference photo",
            "The draft renderer found no body part to animate in the reference photo. Use a "
            "photo where one person is clearly visible.",
        )
    return Rig(
        ref_pose=np.asarray(ref, np.float64),
        vertices=np.concatenate(vertices),
        weights=np.concatenate(weights),
        pivots=np.concatenate(pivots),
        parts=tuple(parts),
        background=np.ascontiguousarray(background),
        cell=cell,
        lowres=lowres,
        loose=np.concatenate(loose),
    )
