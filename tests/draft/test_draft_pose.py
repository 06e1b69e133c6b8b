"""The draft renderer puts the photo's limbs where the driving pose says, bends them without
tearing, fills the background they uncover, and reproduces the photo for its own pose."""

import numpy as np
import pytest
from draft_synth import LIMB, MARKERS, REST, W, background, find_marker, job, posed

from studio.backends.draft.backend import DraftBackend
from studio.core import CancelToken, FramesReady
from studio.extract.fit import CanvasFit

# Arms raised and bent at the elbow, one knee bent, a kick, the head tilted.
DRIVING = posed(r_arm=(110, 70), l_arm=(-45, 30), r_leg=(35, -80), l_leg=(-30, 0), head=15)


def render(j) -> dict[int, np.ndarray]:
    frames: dict[int, np.ndarray] = {}
    for ev in DraftBackend().render(j, CancelToken()):
        if isinstance(ev, FramesReady):
            frames.update(zip(ev.indices, ev.frames))
    return frames


@pytest.fixture(scope="module", params=[W, 320], ids=["same-aspect", "wider-photo-cropped"])
def rendered(request):
    j = job([DRIVING, REST], ref_canvas_w=request.param)
    return j, render(j)


def test_limb_ends_and_head_land_on_the_driving_joints(rendered):
    _, frames = rendered
    for joint, colour in MARKERS.items():
        found = find_marker(frames[0], colour)
        assert found is not None, f"marker of joint {joint} not found"
        assert np.linalg.norm(found - DRIVING[joint]) < 3.0, (joint, found, DRIVING[joint])


def test_markers_moved_from_where_they_were(rendered):
    _, frames = rendered
    for joint in (4, 7, 10, 13):
        assert np.linalg.norm(DRIVING[joint] - REST[joint]) > 30  # the pose really moved them
        assert np.linalg.norm(find_marker(frames[0], MARKERS[joint]) - REST[joint]) > 30


def _along(a, b, n=24, trim=0.12):
    t = np.linspace(trim, 1 - trim, n)[:, None]
    return a + t * (b - a)


def test_bent_limbs_are_continuous_through_the_joint(rendered):
    _, frames = rendered
    f = frames[0].astype(np.float64)
    for chain in ((2, 3, 4), (5, 6, 7), (8, 9, 10)):
        pts = np.concatenate([_along(DRIVING[chain[0]], DRIVING[chain[1]], trim=0.25),
                              _along(DRIVING[chain[1]], DRIVING[chain[2]], trim=0.0)[:-3]])
        xy = np.round(pts).astype(int)
        colours = f[xy[:, 1], xy[:, 0]]
        dist = np.linalg.norm(colours - LIMB, axis=1)
        assert (dist < 45).all(), f"gap along limb {chain}: {dist.max():.0f} at {xy[np.argmax(dist)]}"


def test_uncovered_background_is_filled(rendered):
    j, frames = rendered
    # Where the left forearm hung in the photo there is nothing now: background, not skin.
    spot = np.round((REST[6] + REST[7]) / 2).astype(int)
    got = frames[0][spot[1], spot[0]].astype(np.float64)
    expected = background()[spot[1], spot[0]].astype(np.float64)
    assert np.linalg.norm(got - expected) < 25, (got, expected)
    assert np.linalg.norm(got - LIMB) > 40


def test_reference_pose_reproduces_the_fitted_photo(rendered):
    j, frames = rendered
    fitted = CanvasFit.create(j.reference.shape[1], j.reference.shape[0], W, j.settings.height).apply(j.reference)
    diff = np.abs(frames[1].astype(np.int16) - fitted.astype(np.int16))
    assert frames[1].shape == fitted.shape
    assert diff.mean() < 1.0
    assert np.percentile(diff, 99.5) < 40


def test_a_smaller_dancer_in_a_landscape_video_is_retargeted_to_the_photo():
    """The driving clip is a 640x360 video with a dancer half the size, off-centre; with
    retargeting the photo keeps its proportions and place, and follows the dancer's angles."""
    from draft_synth import track

    from studio.core import RenderJob

    def in_video(p):
        return (p - REST[8]) * 0.5 + [420.0, 200.0]

    j = job([REST, DRIVING])
    driving = track([in_video(REST), in_video(DRIVING)], w=640, h=360)
    j = RenderJob(reference=j.reference, pose=driving, frames=(0, 1), settings=j.settings,
                  reference_pose=j.reference_pose)
    frames = render(j)
    for joint, colour in MARKERS.items():
        found = find_marker(frames[1], colour)
        assert found is not None and np.linalg.norm(found - DRIVING[joint]) < 4, (joint, found, DRIVING[joint])
