"""The parking contract of ``fearless._park``: waiter, park, unpark, backoff.

Private, so these tests pin what the primitives rely on, not a public API:
a release before the park is not lost, a deadline ends the wait, the
caller's re-check runs after every slice, an infinite wait blocks in
slices and reads no clock, and the backoff yields as often as the backend
says. Every wait is bounded; threads meet by handshakes, not sleeps.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from functools import partial
from typing import Any

import pytest

from _helpers import TIMEOUT, Worker, wait_until
from fearless import _park, _seam
from fearless._deadline import Deadline


class Recording:
    """A raw lock that records the timeout of each blocking acquire and never blocks."""

    def __init__(self, released_after: int = -1) -> None:
        self.timeouts: list[float] = []
        self.held = False
        self._released_after = released_after

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        if not self.held:
            self.held = True
            return True
        self.timeouts.append(timeout)
        return len(self.timeouts) == self._released_after

    def release(self) -> None:
        self.held = False


class Slices(_seam.ThreadBackend):
    """The real backend with a chosen slice, spin and snooze count, counting yields."""

    def __init__(self, slice_: float = 0.05, spins: int = 8, snoozes: int = 100) -> None:
        self.slice = slice_
        self.spins = spins
        self.snoozes = snoozes
        self.yields = 0

    def pause(self) -> None:  # type: ignore[override]
        self.yields += 1

    def snooze(self) -> None:
        self.yields += 1


class NoClock(Slices):
    def monotonic(self) -> float:
        raise AssertionError("an infinite wait read the clock")


# -- waiter and park -------------------------------------------------------------


def test_a_waiter_is_held_and_a_release_before_the_park_is_not_lost() -> None:
    lock = _park.waiter()
    assert lock.locked()
    lock.release()  # the waker was first
    assert _park.park(lock, Deadline(TIMEOUT)) is True
    assert lock.locked()  # the park took it


def test_a_waiter_comes_from_the_allocator_given_else_from_the_backend_in_force() -> None:
    made: list[Any] = []

    def allocate() -> Any:
        made.append(Recording())
        return made[-1]

    lock = _park.waiter(allocate)
    assert made == [lock]
    assert made[0].held

    class Counting(Slices):
        def allocate_lock(self) -> Any:
            return allocate()

    with _seam.install(Counting()):
        other = _park.waiter()
    assert made == [lock, other]


def test_a_deadline_ends_the_wait() -> None:
    lock = _park.waiter()
    start = _seam.monotonic()
    assert _park.park(lock, Deadline(0.05)) is False
    assert _seam.monotonic() - start >= 0.04
    assert lock.locked()


def test_a_zero_deadline_looks_once_without_blocking() -> None:
    lock = Recording()
    lock.held = True
    assert _park.park(lock, Deadline(0.0)) is False
    assert lock.timeouts == [0.0]


def test_a_release_wakes_a_parked_thread() -> None:
    lock = _park.waiter()
    parked = threading.Event()

    def sleeper() -> bool:
        parked.set()
        return _park.park(lock, _park.FOREVER)

    worker = Worker(sleeper)
    assert parked.wait(TIMEOUT)
    lock.release()
    assert worker.join() is True


def test_an_infinite_wait_blocks_in_slices_and_reads_no_clock() -> None:
    lock = Recording(released_after=3)
    lock.held = True
    with _seam.install(NoClock(slice_=0.25)):
        assert _park.park(lock, _park.FOREVER) is True
    assert lock.timeouts == [0.25, 0.25, 0.25]


def test_an_infinite_slice_is_passed_on_as_forever() -> None:
    lock = Recording(released_after=1)
    lock.held = True
    with _seam.install(NoClock(slice_=math.inf)):
        assert _park.park(lock, _park.FOREVER) is True
    assert lock.timeouts == [-1]


def test_the_last_slice_ends_at_the_deadline() -> None:
    lock = Recording(released_after=1)
    lock.held = True
    with _seam.install(Slices(slice_=math.inf)):
        assert _park.park(lock, Deadline(5.0)) is True
    assert 4.0 < lock.timeouts[0] <= 5.0


def test_woken_is_asked_after_every_slice_and_can_end_the_wait() -> None:
    lock = Recording()
    lock.held = True
    asked: list[int] = []

    def woken() -> bool:
        asked.append(len(lock.timeouts))
        return len(asked) == 3

    with _seam.install(NoClock(slice_=0.01)):
        assert _park.park(lock, _park.FOREVER, woken) is True
    assert asked == [1, 2, 3]


def test_woken_is_asked_before_the_deadline_and_its_exception_propagates() -> None:
    lock = Recording()
    lock.held = True

    def woken() -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _park.park(lock, Deadline(0.0), woken)
    assert lock.timeouts == [0.0]


def test_wake_in_shortens_a_slice_and_never_lengthens_it() -> None:
    lock = Recording(released_after=3)
    lock.held = True
    timers = iter([0.01, -1, 7.0])
    with _seam.install(NoClock(slice_=0.5)):
        assert _park.park(lock, _park.FOREVER, None, lambda: next(timers)) is True
    assert lock.timeouts == [0.01, 0.5, 0.5]


def test_park_slice_is_one_slice_of_park() -> None:
    for remaining, slice_, expected in [(-1, 0.05, 0.05), (0.01, 0.05, 0.01), (-1, math.inf, -1)]:
        lock = Recording()
        lock.held = True
        assert _park.park_slice(lock, remaining, slice_) is False  # type: ignore[arg-type]
        assert lock.timeouts == [expected]


# -- unpark ----------------------------------------------------------------------


def test_unparking_a_waiter_that_gave_up_wakes_nobody_and_costs_nothing() -> None:
    lock = _park.waiter()
    assert _park.park(lock, Deadline(0.0)) is False  # timed out: gone
    lock.release()  # a late waker owns the wake-up: harmless
    assert not lock.locked()


def test_unpark_all_wakes_every_parked_thread() -> None:
    waiters = [_park.waiter() for _ in range(4)]
    parked = threading.Semaphore(0)

    def sleeper(lock: _seam.RawLock) -> bool:
        parked.release()
        return _park.park(lock, Deadline(TIMEOUT))

    workers = [Worker(sleeper, lock) for lock in waiters]
    for _ in workers:
        assert parked.acquire(timeout=TIMEOUT)
    _park.unpark_all(waiters)
    assert [w.join() for w in workers] == [True] * 4


def _has_length(queue: deque[_seam.RawLock], n: int) -> bool:
    return len(queue) == n


def test_waking_one_from_a_queue_wakes_the_first_registered() -> None:
    queue: deque[_seam.RawLock] = deque()
    woke: list[int] = []

    def sleeper(index: int, lock: _seam.RawLock) -> None:
        queue.append(lock)
        assert _park.park(lock, Deadline(TIMEOUT))
        woke.append(index)

    workers = []
    for index in range(3):  # registered in this order: one at a time
        workers.append(Worker(sleeper, index, _park.waiter()))
        wait_until(partial(_has_length, queue, index + 1), what="registration")
    for expected in ([0], [0, 1], [0, 1, 2]):
        queue.popleft().release()
        wait_until(partial(woke.__eq__, expected), what=f"wake-up {expected}")
    for worker in workers:
        worker.join()


# -- backoff ---------------------------------------------------------------------


def test_spin_pauses_first_then_looks_until_ready() -> None:
    backend = Slices(spins=3)
    looks: list[int] = []

    def ready() -> bool:
        looks.append(backend.yields)
        return len(looks) == 2

    with _seam.install(backend):
        assert _park.spin(ready) is True
    assert looks == [1, 2]


def test_spin_gives_up_after_the_backends_spins() -> None:
    backend = Slices(spins=3)
    with _seam.install(backend):
        assert _park.spin(lambda: False) is False
    assert backend.yields == 3


def test_snooze_looks_first_then_yields_while_not_ready() -> None:
    backend = Slices(snoozes=4)
    looks: list[int] = []

    def ready() -> bool:
        looks.append(backend.yields)
        return len(looks) == 3

    with _seam.install(backend):
        assert _park.snooze(ready) is True
    assert looks == [0, 1, 2]
    backend = Slices(snoozes=4)
    with _seam.install(backend):
        assert _park.snooze(lambda: False) is False
    assert backend.yields == 4
    with _seam.install(backend):
        assert _park.snooze(lambda: False, 2) is False  # a count of the caller's
    assert backend.yields == 6


@pytest.mark.parametrize("backoff", [_park.spin, _park.snooze])
def test_no_backoff_when_the_backend_says_zero_as_the_explorer_does(backoff: Any) -> None:
    def ready() -> bool:
        raise AssertionError("looked")

    with _seam.install(Slices(spins=0, snoozes=0)):
        assert backoff(ready) is False
