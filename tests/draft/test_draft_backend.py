"""The draft backend's contract: chunked FramesReady + Progress, cancellation, held poses for
frames without a person, and clear errors for unusable photos and poses."""

import numpy as np
import pytest
from draft_synth import FLAG_NO_PERSON, MARKERS, REST, W, H, background, draw, find_marker, job, posed, track

from studio.backends.draft.backend import DraftBackend
from studio.core import (
    Backend,
    CancelToken,
    FramesReady,
    Progress,
    RenderCancelled,
    RenderJob,
    RenderSettings,
    StudioError,
)

A = posed(r_arm=(60, 0), l_arm=(-40, 0))
B = posed(r_arm=(100, 60), l_arm=(-60, 30), r_leg=(20, 0))


@pytest.fixture(scope="module")
def backend():
    return DraftBackend(chunk=3)


def collect(backend, j, cancel=None):
    events = list(backend.render(j, cancel or CancelToken()))
    frames = {}
    for ev in events:
        if isinstance(ev, FramesReady):
            frames.update(zip(ev.indices, ev.frames))
    return events, frames


def test_protocol_and_capabilities(backend):
    assert isinstance(backend, Backend)
    caps = backend.capabilities
    assert (caps.needs_weights, caps.step_previews, caps.independent_frames) == (False, False, True)
    assert backend.available()[0]


def test_streams_chunks_with_progress(backend):
    j = job([A, B, A, B, A, B, A])
    events, frames = collect(backend, j)
    assert isinstance(events[0], Progress) and events[0].phase == "setup"
    chunks = [ev for ev in events if isinstance(ev, FramesReady)]
    assert [ev.indices for ev in chunks] == [(0, 1, 2), (3, 4, 5), (6,)]
    for ev in chunks:
        assert ev.frames.dtype == np.uint8 and ev.frames.shape == (len(ev.indices), H, W, 3)
    steps = [ev.step for ev in events if isinstance(ev, Progress) and ev.phase == "render"]
    assert steps == [0, 3, 6, 7] and all(ev.total == 7 for ev in events if isinstance(ev, Progress))
    # Same pose, same pixels; different pose, different pixels.
    assert np.array_equal(frames[0], frames[2]) and np.array_equal(frames[1], frames[3])
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() > 1.0


def test_output_size_follows_settings(backend):
    j = job([A, B], width=128, height=320)
    _, frames = collect(backend, j)
    assert frames[0].shape == (320, 128, 3)


def test_cancel_before_and_between_chunks(backend):
    j = job([A, B] * 4)
    token = CancelToken()
    token.cancel()
    with pytest.raises(RenderCancelled):
        next(iter(backend.render(j, token)))
    token = CancelToken()
    seen = []
    with pytest.raises(RenderCancelled):
        for ev in backend.render(j, token):
            if isinstance(ev, FramesReady):
                seen.append(ev.indices)
                token.cancel()
    assert seen == [(0, 1, 2)]


def test_frames_without_a_person_hold_the_last_pose(backend):
    j = job([A, B, None, None, A])
    assert all(j.pose.flags[k] & FLAG_NO_PERSON for k in (2, 3))
    _, frames = collect(backend, j)
    assert np.array_equal(frames[2], frames[1]) and np.array_equal(frames[3], frames[1])
    assert not np.array_equal(frames[4], frames[1])
    # The hold looks back along the track: rendering frame 3 alone gives the same image.
    alone = RenderJob(reference=j.reference, pose=j.pose, frames=(3,), settings=j.settings,
                      reference_pose=j.reference_pose)
    assert np.array_equal(collect(backend, alone)[1][0], frames[1])


def test_the_flag_wins_over_stale_coordinates(backend):
    """A frame flagged FLAG_NO_PERSON holds the last pose even if its arrays still hold points."""
    j = job([A, B, A])
    j.pose.flags[2] |= FLAG_NO_PERSON
    j = RenderJob(reference=j.reference, pose=j.pose, frames=j.frames, settings=j.settings,
                  reference_pose=j.reference_pose)
    _, frames = collect(backend, j)
    assert np.array_equal(frames[2], frames[1])


def test_leading_frames_without_a_person_show_the_reference_pose(backend):
    j = job([None, REST, A])
    _, frames = collect(backend, j)
    assert np.array_equal(frames[0], frames[1])


def test_a_missing_joint_keeps_its_last_position(backend):
    j = job([B, B])
    j.pose.body[1, 4] = np.nan  # right wrist lost on frame 1
    j.pose.body_conf[1, 4] = 0.0
    j = RenderJob(reference=j.reference, pose=j.pose, frames=j.frames, settings=j.settings,
                  reference_pose=j.reference_pose)
    _, frames = collect(backend, j)
    w0 = find_marker(frames[0], MARKERS[4])
    w1 = find_marker(frames[1], MARKERS[4])
    assert np.linalg.norm(w0 - B[4]) < 3 and np.linalg.norm(w1 - w0) < 1.0


def test_photo_without_a_person_is_a_clear_error(backend):
    j = RenderJob(reference=background(), pose=track([A]), frames=(0,),
                  settings=RenderSettings(width=W, height=H), reference_pose=None)
    with pytest.raises(StudioError) as err:
        collect(backend, j)
    assert err.value.title == "No person found in the reference photo"
    assert "photo" in err.value.description


def test_reference_pose_flagged_empty_is_a_clear_error(backend):
    j = RenderJob(reference=draw(REST), pose=track([A]), frames=(0,),
                  settings=RenderSettings(width=W, height=H), reference_pose=track([None]))
    with pytest.raises(StudioError, match="No person found"):
        collect(backend, j)


def test_reference_pose_without_shoulders_is_a_clear_error(backend):
    ref = track([REST])
    ref.body[0, [2, 5]] = np.nan
    ref.body_conf[0, [2, 5]] = 0
    j = RenderJob(reference=draw(REST), pose=track([A]), frames=(0,),
                  settings=RenderSettings(width=W, height=H), reference_pose=ref)
    with pytest.raises(StudioError) as err:
        collect(backend, j)
    assert "r_shoulder" in err.value.description and "l_shoulder" in err.value.description


def test_portrait_without_hips_still_animates_the_arms(backend):
    ref = track([REST])
    ref.body[0, 8:14] = np.nan  # hips, knees, ankles unknown
    ref.body_conf[0, 8:14] = 0
    j = RenderJob(reference=draw(REST), pose=track([B]), frames=(0,),
                  settings=RenderSettings(width=W, height=H, retarget=False), reference_pose=ref)
    _, frames = collect(backend, j)
    for joint in (4, 7):
        assert np.linalg.norm(find_marker(frames[0], MARKERS[joint]) - B[joint]) < 4


def test_frames_outside_the_track_and_empty_jobs(backend):
    j = job([A, B])
    bad = RenderJob(reference=j.reference, pose=j.pose, frames=(0, 5), settings=j.settings,
                    reference_pose=j.reference_pose)
    with pytest.raises(StudioError, match="Frames outside"):
        collect(backend, bad)
    empty = RenderJob(reference=j.reference, pose=j.pose, frames=(), settings=j.settings,
                      reference_pose=j.reference_pose)
    with pytest.raises(StudioError, match="Nothing to render"):
        collect(backend, empty)


def test_grey_reference_image_is_refused(backend):
    j = job([A])
    grey = RenderJob(reference=j.reference[..., 0], pose=j.pose, frames=(0,), settings=j.settings,
                     reference_pose=j.reference_pose)
    with pytest.raises(StudioError, match="RGB"):
        collect(backend, grey)


def test_setup_is_reused_for_the_same_photo():
    b = DraftBackend()
    j1, j2 = job([A]), job([B, A])
    assert b.rig_for(j1) is b.rig_for(j2)
    other = job([A], width=128, height=224)
    assert b.rig_for(other) is not b.rig_for(j1)


def test_joints_never_seen_hang_from_their_parents(backend):
    """A half-body driving clip (no legs detected): the legs keep the photo's shape and move with
    the hips instead of staying behind."""
    moved = REST + [12.0, 0.0]
    j = job([REST, moved])
    for k in (9, 10, 12, 13):
        j.pose.body[1, k] = np.nan
        j.pose.body_conf[1, k] = 0.0
    j = RenderJob(reference=j.reference, pose=j.pose, frames=j.frames, settings=j.settings,
                  reference_pose=j.reference_pose)
    _, frames = collect(backend, j)
    for joint in (10, 13):
        found = find_marker(frames[1], MARKERS[joint])
        assert np.linalg.norm(found - moved[joint]) < 3, (joint, found, moved[joint])
