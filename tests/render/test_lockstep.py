"""lockstep: callback-driven work as a generator (free-running with coalesced previews, or paced)."""

import threading

import pytest

from studio.backends.xdyna.lockstep import LinkedToken, lockstep
from studio.core.cancel import CancelToken
from studio.core.errors import RenderCancelled, StudioError


def counting_work(n, progress):
    def work(emit, token):
        for i in range(n):
            token.raise_if_cancelled()
            progress.append(i)
            emit(i)
    return work


def test_paced_items_in_order_and_no_running_ahead():
    progress = []
    seen = []
    for item in lockstep(counting_work(5, progress), None, paced=True):
        seen.append(item)
        assert progress == list(range(item + 1))  # the work waits while we hold an item
    assert seen == list(range(5))


def test_work_runs_ahead_newest_latest_item_wins_and_kept_items_are_never_dropped():
    done = threading.Event()

    def work(emit, token):
        for i in range(10):
            emit(("preview", i))
            if i % 3 == 0:
                emit(("final", i))
        done.set()

    gen = lockstep(work, None, latest=lambda item: item[0] if item[0] == "preview" else None, max_pending=8)
    first = next(gen)
    assert done.wait(10)  # the work finished while the consumer held its first item
    seen = [first, *gen]
    finals = [i for kind, i in seen if kind == "final"]
    previews = [i for kind, i in seen if kind == "preview"]
    assert finals == [0, 3, 6, 9]  # in order, none dropped
    assert previews[-1] == 9 and previews == sorted(previews) and len(previews) <= 2  # newest wins


def test_kept_items_are_bounded():
    emitted = []

    def work(emit, token):
        for i in range(10):
            emit(i)
            emitted.append(i)

    gen = lockstep(work, None, max_pending=3)
    assert next(gen) == 0
    import time

    time.sleep(0.3)
    assert len(emitted) <= 4  # at most 3 waiting besides the one the consumer holds
    assert list(gen) == list(range(1, 10))


def test_exceptions_reach_the_consumer():
    def work(emit, token):
        emit(1)
        raise StudioError("Bad", "broken")

    gen = lockstep(work, None)
    assert next(gen) == 1
    with pytest.raises(StudioError):
        next(gen)


def test_parent_cancel_stops_the_work():
    parent = CancelToken()
    progress = []
    got = []
    with pytest.raises(RenderCancelled):
        for item in lockstep(counting_work(10, progress), parent, paced=True):
            got.append(item)
            if item == 2:
                parent.cancel()
    assert got == [0, 1, 2] and progress == [0, 1, 2]


def test_closing_the_generator_ends_the_thread():
    progress = []
    before = threading.active_count()
    gen = lockstep(counting_work(100, progress), None, name="t", paced=True)
    assert next(gen) == 0
    gen.close()
    assert threading.active_count() == before
    assert progress == [0]


def test_linked_token():
    parent = CancelToken()
    t = LinkedToken(parent)
    assert not t.cancelled
    parent.cancel()
    assert t.cancelled
    with pytest.raises(RenderCancelled):
        t.raise_if_cancelled()
    own = LinkedToken(None)
    own.cancel()
    assert own.cancelled and not CancelToken().cancelled
