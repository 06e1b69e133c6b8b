"""Which limbs of a reference pose get no pixels of their own, and how they are put back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.backends.draft.rig import LIMB_RADIUS, body_scale
from studio.backends.draft.shared_limbs import dropped_limbs, repaired_reference
from studio.backends.draft.skeleton import complete_reference
from studio.core.project import Project
from studio.extract.pose_check import L_ANKLE, L_HIP, L_KNEE, NECK, R_ANKLE, R_HIP, R_KNEE

ROOT = Path(__file__).resolve().parents[2]


def _poses():
    """Real and drawn bodies in pixels: the real sample's photo and every frame of the drawn
    sample's dance."""
    real = Project.load(ROOT / "resources" / "sample_real" / "real.studio.json").reference_pose
    drawn = Project.load(ROOT / "resources" / "sample" / "sample.studio.json").pose
    for track in (real, drawn):
        for i in range(len(track)):
            yield complete_reference(track.body[i].astype(np.float64) * [track.width, track.height]), track


def _width(ref):
    return LIMB_RADIUS * body_scale(ref)


def test_normal_poses_keep_every_limb() -> None:
    for ref, track in _poses():
        assert dropped_limbs(ref, track.width, track.height, _width(ref)) == frozenset()
        assert np.array_equal(repaired_reference(ref, track.width, track.height, _width(ref)), ref)


def test_legs_on_one_line_drop_the_far_leg_and_mirror_the_other() -> None:
    ref, track = next(_poses())
    broken = ref.copy()
    broken[L_KNEE], broken[L_ANKLE] = ref[R_KNEE] + 0.5, ref[R_ANKLE] + 0.5
    assert dropped_limbs(broken, track.width, track.height, _width(broken)) == {"l_leg"}
    fixed = repaired_reference(broken, track.width, track.height, _width(broken))
    mid = (fixed[R_HIP] + fixed[L_HIP]) / 2
    assert fixed[L_KNEE][0] - mid[0] > 0.5 * (mid[0] - fixed[R_KNEE][0]) > 0  # on the left side again
    assert dropped_limbs(fixed, track.width, track.height, _width(fixed)) == frozenset()


def test_a_profile_keeps_one_leg_layer() -> None:
    """Seen from the side the legs overlap: mirroring cannot part them, so one leg is dropped
    (one layer for both rather than two strips)."""
    ref, track = next(_poses())
    side = ref.copy()
    side[:, 0] = ref[NECK, 0] + 0.05 * (ref[:, 0] - ref[NECK, 0])
    fixed = repaired_reference(side, track.width, track.height, _width(side))
    assert len(dropped_limbs(fixed, track.width, track.height, _width(fixed)) & {"r_leg", "l_leg"}) == 1
