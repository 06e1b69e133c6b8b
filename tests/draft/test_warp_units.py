"""Units of the per-frame warp: rasterisation, inverse maps, skin blending, pose filling."""

import numpy as np

from studio.backends.draft.rig import Rig
from studio.backends.draft.skeleton import BONES, bone_transforms, fill_driving
from studio.backends.draft.warp import _INVALID, LOWRES, _inverse_affines, pose_vertices, rasterise_map
from draft_synth import REST, posed


def _identity_maps(T):
    M = np.zeros((T, 3, 2))
    M[:, 0, 0] = M[:, 1, 1] = 1.0
    return M


def test_rasterise_covers_exactly_the_pixel_centres_inside():
    tri = np.array([[[1.0, 1.0], [9.5, 1.0], [1.0, 7.5]]])
    out = rasterise_map(tri, _identity_maps(1), np.array([True]), np.array([0]), (1, 12, 12))
    covered = out[0, ..., 0] != _INVALID
    yy, xx = np.mgrid[0:12, 0:12]
    # Inside test for the right triangle with legs along x = 1 and y = 1.
    expected = (xx >= 1) & (yy >= 1) & ((xx - 1) / 8.5 + (yy - 1) / 6.5 <= 1 + 1e-9)
    assert np.array_equal(covered, expected)
    # The identity map sends low-res pixel (i, j) to its full-res centre.
    half = (LOWRES - 1) / 2
    assert np.allclose(out[0, 3, 2], [2 * LOWRES + half, 3 * LOWRES + half])


def test_rasterise_later_triangles_win_and_layers_are_separate():
    square = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    tris = np.stack([square, square, square])
    M = _identity_maps(3)
    M[1, 2] = [100.0, 0.0]  # second triangle maps elsewhere
    M[2, 2] = [0.0, 200.0]
    out = rasterise_map(tris, M, np.array([True] * 3), np.array([0, 0, 1]), (2, 8, 8))
    half = (LOWRES - 1) / 2
    assert np.allclose(out[0, 1, 1], [LOWRES + half + 100, LOWRES + half])  # triangle 1 over 0
    assert np.allclose(out[1, 1, 1], [LOWRES + half, LOWRES + half + 200])  # its own layer


def test_rasterise_handles_stretched_and_degenerate_triangles():
    big = np.array([[[0.0, 0.0], [40.0, 0.0], [0.0, 30.0]]])
    flat = np.array([[[0.0, 0.0], [5.0, 0.0], [10.0, 0.0]]])
    tris = np.concatenate([big, flat])
    out = rasterise_map(tris, _identity_maps(2), np.array([True, False]), np.array([0, 0]), (1, 32, 48))
    covered = out[0, ..., 0] != _INVALID
    assert covered[0, 0] and covered[29, 0] and covered[0, 39] and not covered[20, 30]


def test_inverse_affines_map_destination_corners_back_to_source():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, (20, 3, 2))
    dst = rng.uniform(0, 100, (20, 3, 2))
    M, ok = _inverse_affines(src, dst)
    assert ok.all()
    back = np.einsum("tkj,tji->tki", np.concatenate([dst, np.ones((20, 3, 1))], axis=2), M)
    assert np.allclose(back, src)


def _tiny_rig(vertices, weights, pivots):
    return Rig(ref_pose=REST, vertices=np.asarray(vertices, float), weights=np.asarray(weights, float),
               pivots=np.asarray(pivots, float), parts=(), background=np.zeros((8, 8, 3), np.uint8), cell=8)


def test_single_bone_vertices_move_exactly_with_their_bone():
    drv = posed(r_arm=(80, 40))
    k = [b.name for b in BONES].index("r_forearm")
    v = np.array([[70.0, 190.0], [66.0, 210.0]])
    w = np.zeros((2, len(BONES)))
    w[:, k] = 1.0
    out = pose_vertices(_tiny_rig(v, w, [REST[3], REST[3]]), drv)
    T = bone_transforms(REST, drv)[k]
    assert np.allclose(out, v @ T[:, :2].T + T[:, 2])


def test_blended_vertex_turns_about_the_joint_without_collapsing():
    drv = posed(r_arm=(150, 0))  # arm raised far: plain linear blending would shrink this vertex
    up = [b.name for b in BONES].index("r_upper_arm")
    v = REST[2] + 0.3 * (REST[3] - REST[2])  # on the upper arm near the shoulder
    w = np.zeros((1, len(BONES)))
    w[0, 0] = w[0, up] = 0.5  # half torso, half upper arm
    out = pose_vertices(_tiny_rig([v], w, [REST[2]]), drv)[0]
    assert abs(np.linalg.norm(out - drv[2]) - np.linalg.norm(v - REST[2])) < 1.0
    T = bone_transforms(REST, drv)
    lbs = 0.5 * (T[0, :, :2] @ v + T[0, :, 2]) + 0.5 * (T[up, :, :2] @ v + T[up, :, 2])
    assert np.linalg.norm(lbs - drv[2]) < 0.5 * np.linalg.norm(v - REST[2])  # what LBS would do


def test_fill_driving_keeps_offsets_from_parents():
    prev = posed(r_arm=(30, 20))
    cur = prev + [5.0, -3.0]
    cur[[3, 4]] = np.nan  # elbow and wrist lost
    filled = fill_driving(cur, prev, REST)
    assert np.allclose(filled[4] - filled[2], prev[4] - prev[2])
    none_yet = fill_driving(cur, None, REST)
    assert np.allclose(none_yet[4] - none_yet[2], REST[4] - REST[2])
    neckless = prev.copy()
    neckless[1] = np.nan
    assert np.allclose(fill_driving(neckless, prev, REST)[1], prev[1])


def test_banded_compositing_matches_whole_frame_compositing(monkeypatch):
    """The per-band shortcut (only where samples land near the part) changes no pixel."""
    import cv2

    from studio.backends.draft import warp
    from studio.backends.draft.prepare import prepare_rig
    from draft_synth import draw

    rig = prepare_rig(draw(REST), _ref_track(), 256, 448)

    def whole(canvas, tex, near, lowmap, f, band=8):
        lh, lw = lowmap.shape[:2]
        full = cv2.resize(lowmap, (lw * f, lh * f), interpolation=cv2.INTER_LINEAR)
        fg = cv2.remap(tex, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        inv = cv2.cvtColor(255 - fg[..., 3], cv2.COLOR_GRAY2RGB)
        cv2.add(cv2.multiply(canvas, inv, scale=1.0 / 255.0), cv2.cvtColor(fg, cv2.COLOR_RGBA2RGB), dst=canvas)

    poses = [posed(r_arm=(110, 70), l_arm=(-45, 30), r_leg=(35, -80), head=15), posed(l_arm=(-150, 20))]
    banded = [warp.render_pose(rig, p) for p in poses]
    monkeypatch.setattr(warp, "_composite", whole)
    for p, b in zip(poses, banded):
        assert np.array_equal(warp.render_pose(rig, p), b)


def _ref_track():
    from draft_synth import track

    return track([REST])
