import numpy as np
import pytest

from studio.core import CancelToken, PoseTrack, RenderCancelled, RenderJob, RenderSettings, StudioError


def job(**kw):
    pose = PoseTrack.empty(6, 64, 64, 25)
    pose.body[:] = 0.5
    base = dict(reference=np.zeros((16, 16, 3), np.uint8), pose=pose, frames=range(6))
    base.update(kw)
    return RenderJob(**base)


def test_job_is_a_snapshot():
    ref = np.zeros((16, 16, 3), np.uint8)
    pose = PoseTrack.empty(6, 64, 64, 25)
    j = RenderJob(reference=ref, pose=pose, frames=[0, 1])
    fp = j.fingerprint()
    ref[:] = 255
    pose.body[:] = 0.1
    assert j.fingerprint() == fp
    assert not j.reference.flags.writeable
    with pytest.raises(Exception):
        j.settings = RenderSettings()  # frozen


def test_fingerprints_follow_what_changes_the_frames():
    a = job()
    assert a.fingerprint() == job().fingerprint()
    assert a.fingerprint() != job(settings=RenderSettings(seed=3)).fingerprint()
    edited = a.pose.copy()
    edited.body[4, 2, 0] = 0.9
    b = job(pose=edited)
    assert b.fingerprint() != a.fingerprint()
    assert [a.frame_fingerprint(k) == b.frame_fingerprint(k) for k in range(6)] == [True] * 4 + [False, True]


def test_cancel_token():
    t = CancelToken()
    t.raise_if_cancelled()
    t.cancel()
    assert t.cancelled and t.wait(0)
    with pytest.raises(RenderCancelled):
        t.raise_if_cancelled()


def test_studio_error_text_and_pickle():
    import pickle

    e = StudioError("Cannot read", "file x is broken", "trace")
    assert "Cannot read: file x is broken" in str(e)
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.title, e2.description, e2.details) == (e.title, e.description, e.details)


def test_shared_fingerprint_parts_are_hashed_once_and_survive_pickling():
    import pickle

    j = job()
    fp = j.fingerprint()
    assert "_shared_parts" in vars(j)  # memoised after the first use
    j2 = pickle.loads(pickle.dumps(j))
    assert j2.fingerprint() == fp and j2.frame_fingerprint(3) == j.frame_fingerprint(3)
