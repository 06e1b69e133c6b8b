"""lockstep: callback-driven work as a generator that never runs ahead of its consumer."""

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


def test_items_in_order_and_no_running_ahead():
    progress = []
    seen = []
    for item in lockstep(counting_work(5, progress), None):
        seen.append(item)
        assert progress == list(range(item + 1))  # the work waits while we hold an item
    assert seen == list(range(5))


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
        for item in lockstep(counting_work(10, progress), parent):
            got.append(item)
            if item == 2:
                parent.cancel()
    assert got == [0, 1, 2] and progress == [0, 1, 2]


def test_closing_the_generator_ends_the_thread():
    progress = []
    before = threading.active_count()
    gen = lockstep(counting_work(100, progress), None, name="t")
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
