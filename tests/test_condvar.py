"""Contract tests for Condvar (DESIGN.md, "Condvar, Barrier, Once, OnceLock, LazyLock")."""

from __future__ import annotations

import _thread
import threading
from collections import deque
from collections.abc import Callable
from typing import cast

import pytest

from _helpers import (
    STRESS,
    TIMEOUT,
    GatedBackend,
    WithStatement,
    Worker,
    run_concurrently,
    wait_until,
)
from fearless import (
    Condvar,
    CondvarStatistics,
    ConsumedError,
    DeadlockError,
    GuardReleasedError,
    Mutex,
    MutexGuard,
    PoisonError,
    WouldBlockError,
    WrongThreadError,
    _seam,
    scope,
)
from fearless.atomic import AtomicBool, AtomicInt
from fearless.mpsc import RecvTimeoutError, channel
from fearless.testing import DeadlockFound, explore

MSG_TWO_MUTEXES = (
    r"^condvar is being waited on with a different mutex by another thread; "
    r"use one Condvar per Mutex$"
)
MSG_WRONG_THREAD = (
    r"^this guard belongs to the thread that acquired it; only that thread can wait with it$"
)
MSG_RELEASED = r"^this guard was released; lock the mutex again to get a new guard$"
MSG_POISONED = r"^mutex is poisoned: a thread failed while holding it; "


class Boom(Exception):
    pass


class _InterruptedLock(WithStatement):
    """A raw lock whose timed acquire raises, like a KeyboardInterrupt would."""

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        if blocking and timeout > 0:
            raise Boom("interrupted")
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


class InterruptingBackend(_seam.ThreadBackend):
    def allocate_lock(self) -> _seam.RawLock:  # type: ignore[override]
        return _InterruptedLock()


def start_waiter(m: Mutex[int], cv: Condvar, timeout: float | None = TIMEOUT) -> Worker:
    """A thread that waits once on ``cv`` with ``m`` and returns the wait's result."""

    def wait() -> bool:
        with m.lock() as g:
            return cv.wait(g, timeout=timeout)

    return Worker(wait)


# -- waiting and notifying ----------------------------------------------------


def test_wait_returns_false_when_notified_and_sees_the_change() -> None:
    m, cv = Mutex(0), Condvar()

    def wait() -> tuple[bool, int]:
        with m.lock() as g:
            timed_out = cv.wait(g, timeout=TIMEOUT)
            return timed_out, g.value

    w = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    with m.lock() as g:
        g.value = 5
        cv.notify_one()
    assert w.join() == (False, 5)
    assert cv.statistics().waiting == 0


def test_guard_is_locked_again_before_wait_returns() -> None:
    m, cv = Mutex(0), Condvar()

    def wait() -> tuple[bool, int | None]:
        with m.lock() as g:
            cv.wait(g, timeout=TIMEOUT)
            stats = m.statistics()
            return stats.locked, stats.owner

    w = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    cv.notify_one()
    locked, owner = w.join()
    assert locked
    assert owner == w.thread.ident


def test_wait_releases_the_mutex_while_sleeping() -> None:
    m, cv = Mutex(0), Condvar()
    w = start_waiter(m, cv)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    with m.try_lock() as g:  # would raise WouldBlockError if still held
        g.value = 1
    cv.notify_all()
    assert w.join() is False


def test_producer_consumer() -> None:
    items: Mutex[deque[int]] = Mutex(deque())
    not_empty = Condvar()
    n = 200

    def produce() -> None:
        for i in range(n):
            with items.lock() as g:
                g.value.append(i)
            not_empty.notify_one()

    def consume() -> list[int]:
        received: list[int] = []
        while len(received) < n:
            with items.lock() as g:
                timed_out = not_empty.wait_while(g, lambda q: not q, timeout=TIMEOUT)
                assert not timed_out
                received.append(g.value.popleft())
        return received

    consumer = Worker(consume)
    producer = Worker(produce)
    producer.join()
    assert consumer.join() == list(range(n))


def test_notify_one_wakes_exactly_one_waiter() -> None:
    m, cv = Mutex(0), Condvar()
    woken: list[int] = []

    def wait(index: int) -> None:
        with m.lock() as g:
            assert not cv.wait(g, timeout=TIMEOUT)
            woken.append(index)

    def woken_count_is(n: int) -> Callable[[], bool]:
        return lambda: len(woken) == n

    workers = [Worker(wait, i) for i in range(3)]
    wait_until(lambda: cv.statistics().waiting == 3, what="three waiters")
    for remaining in (2, 1, 0):
        with m.lock():
            cv.notify_one()
            # Exact at once: the notify took one waiter off the list, and
            # the woken thread cannot leave before this guard is released.
            assert cv.statistics().waiting == remaining
            assert m.statistics().waiting <= 1
        wait_until(woken_count_is(3 - remaining), what="the woken waiter to finish")
    for w in workers:
        w.join()
    assert sorted(woken) == [0, 1, 2]


def test_notify_all_wakes_every_waiter() -> None:
    m, cv = Mutex(0), Condvar()
    workers = [start_waiter(m, cv) for _ in range(3)]
    wait_until(lambda: cv.statistics().waiting == 3, what="three waiters")
    with m.lock():
        cv.notify_all()
        assert cv.statistics().waiting == 0
        # All three are awake and queue for the mutex this thread holds.
        wait_until(lambda: m.statistics().waiting == 3, what="woken threads to want the mutex")
    assert [w.join() for w in workers] == [False, False, False]


class _SlowWakeBackend(_seam.ThreadBackend):
    """Waiter locks whose first wake-up returns only once the woken thread waits again."""

    def __init__(self, cv: Callable[[], Condvar]) -> None:
        self.cv = cv
        self.armed = True

    def allocate_lock(self) -> _seam.RawLock:  # type: ignore[override]
        backend = self
        lock = _thread.allocate_lock()

        class SlowWake:
            def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
                return lock.acquire(blocking, timeout)

            def release(self) -> None:
                lock.release()
                if backend.armed:  # the notifier, descheduled right after the wake-up
                    backend.armed = False
                    wait_until(lambda: backend.cv().statistics().waiting == 1, what="re-wait")

        return cast(_seam.RawLock, SlowWake())


def test_notify_all_wakes_only_the_threads_already_waiting() -> None:
    # A waiter woken by notify_all() may wait again before notify_all() returns
    # (on the free-threaded build it does, now and then). That wait is for the
    # next notification: one notify_all() does not wake the same waiter twice,
    # and a waiter that always waits again cannot keep it going.
    backend = _SlowWakeBackend(lambda: cv)
    with _seam.install(backend):
        cv = Condvar()
    m = Mutex(0)
    seen: list[int] = []

    def pending(value: int) -> bool:
        seen.append(value)
        return value == 0

    def wait() -> bool:
        with m.lock() as g:
            return cv.wait_while(g, pending, timeout=TIMEOUT)

    w = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block", worker=w)
    cv.notify_all()  # returns once the woken waiter waits again
    assert not backend.armed
    assert seen == [0, 0]
    assert cv.statistics().waiting == 1
    with m.lock() as g:
        g.value = 1
    cv.notify_all()
    assert w.join() is False
    assert seen == [0, 0, 1]


def test_notify_without_waiter_is_lost() -> None:
    m, cv = Mutex(0), Condvar()
    cv.notify_one()
    cv.notify_all()
    with m.lock() as g:
        assert cv.wait(g, timeout=0) is True
        assert cv.wait(g, timeout=0.01) is True


def test_condvar_is_reusable_by_the_same_waiter() -> None:
    m, cv = Mutex(0), Condvar()

    def wait_three_times() -> int:
        with m.lock() as g:
            while g.value < 3:
                cv.wait(g, timeout=TIMEOUT)
            return g.value

    w = Worker(wait_three_times)
    for i in range(1, 4):
        wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
        with m.lock() as g:
            g.value = i
            cv.notify_one()
    assert w.join() == 3


# -- timeouts -----------------------------------------------------------------


def gated_condvar() -> tuple[Condvar, GatedBackend]:
    gate = GatedBackend()
    with _seam.install(gate):
        return Condvar(), gate


def meddle_after_timeout(m: Mutex[int], gate: GatedBackend, seen: list[int]) -> Worker:
    """Once the waiter's timeout passed, change the value without notifying.

    The mutex is held until the waiter asks for it back, so the waiter must
    wait for it and then see the new value.
    """

    def meddle() -> None:
        assert gate.timed_out.wait(TIMEOUT)
        with m.lock() as g:
            seen.append(g.value)  # the waiter's write-back
            g.value = 7
            gate.proceed.set()
            wait_until(lambda: m.statistics().waiting == 1, what="waiter to want the mutex")

    return Worker(meddle)


def test_wait_timeout_returns_true_with_guard_locked_and_value_current() -> None:
    cv, gate = gated_condvar()
    m = Mutex(0)
    seen: list[int] = []
    meddler = meddle_after_timeout(m, gate, seen)
    with m.lock() as g:
        g.value = 5
        assert cv.wait(g, timeout=0.01) is True
        assert g.value == 7
        assert m.statistics().owner == threading.get_ident()
        g.value += 1
    meddler.join()
    assert seen == [5]
    assert m.into_inner() == 8
    assert cv.statistics().waiting == 0


def test_wait_timeout_zero_times_out_at_once() -> None:
    m, cv = Mutex("x"), Condvar()
    with m.lock() as g:
        assert cv.wait(g, timeout=0) is True
        assert g.value == "x"
    assert cv.statistics().waiting == 0


def test_timeout_beyond_platform_max_waits() -> None:
    m, cv = Mutex(0), Condvar()
    w = start_waiter(m, cv, timeout=threading.TIMEOUT_MAX * 10)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    cv.notify_one()
    assert w.join() is False


def test_waiter_notified_as_its_timeout_passes_reports_notified() -> None:
    # Rust-like: a waiter that was notified returns False even though its
    # timeout passed too, so the notification is neither lost nor doubled.
    gate = GatedBackend()
    with _seam.install(gate):
        cv = Condvar()
    m = Mutex(0)
    w = start_waiter(m, cv, timeout=0.01)
    assert gate.timed_out.wait(TIMEOUT)  # its timeout passed; it has not reacted yet
    assert cv.statistics().waiting == 1
    cv.notify_one()  # goes to the timed-out waiter, the only one
    assert cv.statistics().waiting == 0
    gate.proceed.set()
    assert w.join() is False


def test_notify_racing_a_timeout_goes_to_exactly_one_waiter() -> None:
    gate = GatedBackend()
    with _seam.install(gate):
        cv = Condvar()
    m = Mutex(0)
    racer = start_waiter(m, cv, timeout=0.01)
    assert gate.timed_out.wait(TIMEOUT)
    patient = start_waiter(m, cv, timeout=None)
    wait_until(lambda: cv.statistics().waiting == 2, what="second waiter")
    cv.notify_one()
    assert cv.statistics().waiting == 1
    gate.proceed.set()
    racer_notified = racer.join() is False
    if racer_notified:
        # The notification was the racer's; the patient waiter still waits.
        assert cv.statistics().waiting == 1
        cv.notify_one()
    assert patient.join() is False
    assert cv.statistics().waiting == 0


# -- wait_while -----------------------------------------------------------------


def test_wait_while_returns_at_once_when_predicate_is_false() -> None:
    m, cv = Mutex(3), Condvar()
    with m.lock() as g:
        assert cv.wait_while(g, lambda n: n > 5) is False
        assert cv.wait_while(g, lambda n: n > 5, timeout=0) is False
    assert cv.statistics().waiting == 0


def test_wait_while_absorbs_notifications_while_predicate_holds() -> None:
    m, cv = Mutex(0), Condvar()
    calls: list[int] = []

    def wait() -> tuple[bool, int]:
        def pending(n: int) -> bool:
            # The predicate always runs with the mutex held by this thread.
            assert m.statistics().owner == threading.get_ident()
            calls.append(n)
            return n < 2

        with m.lock() as g:
            return cv.wait_while(g, pending, timeout=TIMEOUT), g.value

    w = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block", worker=w)
    with m.lock() as g:
        g.value = 1
        cv.notify_one()  # predicate still true: it must wait again
    wait_until(
        lambda: len(calls) == 2 and cv.statistics().waiting == 1,
        what="the re-wait after notify_one",
        worker=w,
    )
    cv.notify_all()  # a spurious-looking wakeup: nothing changed
    wait_until(
        lambda: len(calls) == 3 and cv.statistics().waiting == 1,
        what="the re-wait after notify_all",
        worker=w,
    )
    with m.lock() as g:
        g.value = 2
        cv.notify_one()
    assert w.join() == (False, 2)
    assert calls == [0, 1, 1, 2]


def test_wait_while_timeout_true_when_predicate_still_holds() -> None:
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        assert cv.wait_while(g, lambda n: n == 0, timeout=0.02) is True
        assert m.statistics().owner == threading.get_ident()
        assert g.value == 0
    w = start_waiter(m, cv)  # the condvar still works afterwards
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    cv.notify_one()
    assert w.join() is False


def test_wait_while_timeout_false_when_predicate_turned_false_unnotified() -> None:
    # The predicate is checked once more when the time is up.
    cv, gate = gated_condvar()
    m = Mutex(0)
    seen: list[int] = []
    meddler = meddle_after_timeout(m, gate, seen)
    with m.lock() as g:
        assert cv.wait_while(g, lambda n: n == 0, timeout=0.01) is False
        assert g.value == 7
    meddler.join()
    assert seen == [0]


def test_wait_while_predicate_exception_propagates_with_guard_held() -> None:
    m, cv = Mutex(0), Condvar()

    def bad(_: int) -> bool:
        raise Boom

    with m.lock() as g:
        with pytest.raises(Boom):
            cv.wait_while(g, bad)
        assert g.value == 0
        assert m.statistics().owner == threading.get_ident()


# -- one condvar, one mutex ----------------------------------------------------------


def test_waiting_with_a_second_mutex_is_a_deadlock_error() -> None:
    m1, m2, cv = Mutex(1), Mutex(2), Condvar()
    w = start_waiter(m1, cv)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter on m1")
    with m2.lock() as g2:
        with pytest.raises(DeadlockError, match=MSG_TWO_MUTEXES):
            cv.wait(g2)
        with pytest.raises(DeadlockError, match=MSG_TWO_MUTEXES):
            cv.wait_while(g2, lambda n: n == 2, timeout=0.01)
        # Nothing leaked: the guard is still ours and nobody else registered.
        assert g2.value == 2
        assert m2.statistics().owner == threading.get_ident()
        assert cv.statistics().waiting == 1
    # The same mutex from another thread is fine.
    with m1.lock() as g1:
        assert cv.wait(g1, timeout=0) is True
    cv.notify_one()
    assert w.join() is False
    # Nobody waits any more: the condvar may be used with another mutex.
    with m2.lock() as g2:
        assert cv.wait(g2, timeout=0) is True


# -- poisoning ----------------------------------------------------------------------


def test_mutex_poisoned_while_waiting_raises_poison_and_releases() -> None:
    m, cv = Mutex(0), Condvar()
    outcome: list[object] = []

    def wait() -> None:
        guard = m.lock()
        with guard:
            try:
                cv.wait(guard, timeout=TIMEOUT)
            except PoisonError as e:
                outcome.append(e)
        outcome.append(guard)

    w = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    with pytest.raises(Boom), m.lock() as g:
        g.value = 9
        cv.notify_all()
        raise Boom
    w.join()
    error, guard = outcome
    assert isinstance(error, PoisonError)
    assert str(error).startswith("mutex is poisoned")
    assert isinstance(guard, MutexGuard)
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        _ = guard.value
    # Nothing held: the mutex is free, merely poisoned.
    assert not m.statistics().locked
    with pytest.raises(PoisonError, match=MSG_POISONED):
        m.try_lock()
    with error.into_inner() as recovered:
        assert recovered.value == 9


def test_waiting_with_a_guard_of_an_already_poisoned_mutex() -> None:
    m, cv = Mutex(0), Condvar()
    with pytest.raises(Boom), m.lock():
        raise Boom
    with pytest.raises(PoisonError) as info:
        m.lock()
    guard = info.value.into_inner()
    with guard:
        # Poisoned before the wait began: the wait does not raise again.
        assert cv.wait(guard, timeout=0.01) is True
        assert guard.value == 0


def test_mutex_consumed_while_waiting_raises_consumed_and_releases() -> None:
    m, cv = Mutex([1]), Condvar()
    outcome: list[object] = []

    def wait() -> None:
        guard = m.lock()
        with guard:
            try:
                cv.wait(guard, timeout=TIMEOUT)
            except ConsumedError as e:
                outcome.append(str(e))
        outcome.append(guard)

    w = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    assert m.into_inner() == [1]  # possible: the waiter released the mutex
    cv.notify_one()
    w.join()
    message, guard = outcome
    assert message == "this mutex was consumed by into_inner(); it cannot be used any more"
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        _ = guard.value  # type: ignore[attr-defined]
    assert not m.statistics().locked


def test_exception_while_blocked_leaves_guard_locked_and_condvar_clean() -> None:
    with _seam.install(InterruptingBackend()):
        cv = Condvar()
    m = Mutex(1)
    with m.lock() as g:
        with pytest.raises(Boom, match=r"^interrupted$"):
            cv.wait(g, timeout=5)
        assert m.statistics().owner == threading.get_ident()
        assert cv.statistics().waiting == 0
        g.value = 2
    assert m.into_inner() == 2
    # The condvar is free for another mutex again.
    other = Mutex(0)
    with other.lock() as g2:
        assert cv.wait(g2, timeout=0) is True


# -- misuse ---------------------------------------------------------------------------


def test_wait_with_released_guard() -> None:
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        pass
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        cv.wait(g)
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        cv.wait_while(g, lambda _: True)
    g2 = m.lock()
    g2.unlock()
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        cv.wait(g2, timeout=0)
    assert cv.statistics().waiting == 0
    assert not m.statistics().locked


def test_wait_with_another_threads_guard() -> None:
    m, cv = Mutex(0), Condvar()
    guard = m.lock()
    try:

        def misuse() -> None:
            with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD):
                cv.wait(guard, timeout=0)
            with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD):
                cv.wait_while(guard, lambda _: True, timeout=0)

        Worker(misuse).join()
        # The owner still holds it and can use it.
        assert m.statistics().owner == threading.get_ident()
        assert guard.value == 0
        assert cv.statistics().waiting == 0
    finally:
        guard.unlock()


@pytest.mark.parametrize("bad", [-1, -0.5, float("-inf"), float("nan")])
def test_negative_timeout_is_a_value_error(bad: float) -> None:
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        with pytest.raises(ValueError, match=r"^timeout must be a non-negative number"):
            cv.wait(g, timeout=bad)
        with pytest.raises(ValueError, match=r"^timeout must be a non-negative number"):
            cv.wait_while(g, lambda _: True, timeout=bad)
        assert m.statistics().owner == threading.get_ident()
    assert cv.statistics().waiting == 0


@pytest.mark.parametrize("bad", ["1", True, [1]])
def test_non_numeric_timeout_is_a_type_error(bad: object) -> None:
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or None"):
            cv.wait(g, timeout=bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or None"):
            cv.wait_while(g, lambda _: True, timeout=bad)  # type: ignore[arg-type]


def test_wait_needs_a_mutex_guard() -> None:
    cv = Condvar()
    with pytest.raises(
        TypeError, match=r"^a condvar waits with a MutexGuard from Mutex\.lock\(\), got int$"
    ):
        cv.wait(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^a condvar waits with a MutexGuard"):
        cv.wait_while(threading.Lock(), lambda _: True)  # type: ignore[arg-type]


# -- introspection -------------------------------------------------------------------


def test_statistics_and_repr() -> None:
    m, cv = Mutex(0), Condvar()
    assert cv.statistics() == CondvarStatistics(waiting=0)
    assert repr(cv) == "Condvar(<0 waiting>)"
    w = start_waiter(m, cv)
    wait_until(lambda: cv.statistics().waiting == 1, what="waiter to block")
    assert repr(cv) == "Condvar(<1 waiting>)"
    cv.notify_one()
    assert w.join() is False


def test_public_names() -> None:
    assert Condvar.__module__ == "fearless"
    assert CondvarStatistics.__module__ == "fearless"


def test_try_lock_from_other_thread_fails_while_guard_held_after_timeout() -> None:
    m, cv = Mutex(0), Condvar()
    with m.lock() as g:
        assert cv.wait(g, timeout=0.001) is True

        def probe() -> None:
            with pytest.raises(WouldBlockError):
                m.try_lock()

        Worker(probe).join()


# -- stress -------------------------------------------------------------------------


@pytest.mark.stress
def test_every_notify_one_wakes_exactly_one_waiter() -> None:
    m, cv = Mutex(0), Condvar()
    n_waiters, n_notifies = 3, 200 * STRESS
    stop = threading.Event()

    def wait(_: int) -> None:
        while True:
            with m.lock() as g:
                if stop.is_set():
                    return
                assert cv.wait(g, timeout=TIMEOUT) is False
                g.value += 1

    workers = [Worker(wait, i) for i in range(n_waiters)]
    for i in range(n_notifies):
        wait_until(lambda: cv.statistics().waiting == n_waiters, what="all waiters back")
        with m.lock() as g:
            assert g.value == i
            cv.notify_one()
            assert cv.statistics().waiting == n_waiters - 1
    wait_until(lambda: cv.statistics().waiting == n_waiters, what="all waiters back")
    with m.lock() as g:
        assert g.value == n_notifies
        stop.set()
        cv.notify_all()
    for w in workers:
        w.join()


@pytest.mark.stress
def test_bounded_buffer_delivers_every_item_once() -> None:
    capacity, n_producers, n_consumers = 4, 2, 2
    per_producer = 500 * STRESS
    total = per_producer * n_producers
    state: Mutex[tuple[deque[tuple[int, int]], int]] = Mutex((deque(), 0))
    not_empty, not_full = Condvar(), Condvar()
    received: list[list[tuple[int, int]]] = [[] for _ in range(n_consumers)]

    def produce(index: int) -> None:
        for i in range(per_producer):
            with state.lock() as g:
                not_full.wait_while(g, lambda s: len(s[0]) >= capacity, timeout=TIMEOUT)
                assert len(g.value[0]) < capacity
                g.value[0].append((index, i))
            not_empty.notify_one()

    def consume(index: int) -> None:
        while True:
            with state.lock() as g:
                # Short timeouts mixed in on purpose: they race the notifies.
                not_empty.wait_while(g, lambda s: not s[0] and s[1] < total, timeout=0.001)
                queue, taken = g.value
                if taken == total:
                    not_empty.notify_all()
                    return
                if not queue:
                    continue
                received[index].append(queue.popleft())
                g.value = (queue, taken + 1)
            not_full.notify_one()

    def run(index: int) -> None:
        if index < n_producers:
            produce(index)
        else:
            consume(index - n_producers)

    run_concurrently(run, n_producers + n_consumers)
    everything = sorted(item for items in received for item in items)
    assert everything == sorted((p, i) for p in range(n_producers) for i in range(per_producer))
    for items in received:
        for p in range(n_producers):
            mine = [i for q, i in items if q == p]
            assert mine == sorted(mine)  # per-producer order
    assert not_empty.statistics().waiting == 0
    assert not_full.statistics().waiting == 0


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound). A lost wake-up leaves a waiter blocked for ever: the explorer reports it
# as DeadlockFound, so "passes every schedule" means "no schedule loses a wake-up".


@pytest.mark.parametrize("notify_holding_the_mutex", [True, False])
def test_explored_notify_one_wakes_the_waiter_in_every_schedule(
    notify_holding_the_mutex: bool,
) -> None:
    def program() -> None:
        ready = Mutex(False)
        cv = Condvar()

        def waiter() -> None:
            with ready.lock() as g:
                cv.wait_while(g, lambda ready: not ready)
                assert g.value

        def notifier() -> None:
            with ready.lock() as g:
                g.value = True
                if notify_holding_the_mutex:
                    cv.notify_one()
            if not notify_holding_the_mutex:
                cv.notify_one()

        with scope() as s:
            s.spawn(waiter)
            s.spawn(notifier)
        assert cv.statistics().waiting == 0

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 20


def test_explored_notify_all_wakes_every_waiter() -> None:
    def program() -> None:
        ready = Mutex(False)
        cv = Condvar()
        woken = AtomicInt(0)

        def waiter() -> None:
            with ready.lock() as g:
                cv.wait_while(g, lambda ready: not ready)
            woken.fetch_add(1)

        def notifier() -> None:
            with ready.lock() as g:
                g.value = True
            cv.notify_all()

        with scope() as s:
            s.spawn(waiter)
            s.spawn(waiter)
            s.spawn(notifier)
        assert woken.load() == 2

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 20


def test_explored_one_slot_buffer_hands_over_every_item_in_order() -> None:
    def program() -> None:
        slot = Mutex[list[int]]([])
        not_empty, not_full = Condvar(), Condvar()
        received: list[int] = []

        def produce() -> None:
            for item in (1, 2):
                with slot.lock() as g:
                    not_full.wait_while(g, lambda items: len(items) == 1)
                    g.value.append(item)
                not_empty.notify_one()

        def consume() -> None:
            for _ in range(2):
                with slot.lock() as g:
                    not_empty.wait_while(g, lambda items: not items)
                    received.append(g.value.pop())
                not_full.notify_one()

        with scope() as s:
            s.spawn(produce)
            s.spawn(consume)
        assert received == [1, 2]

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 20


def test_explored_a_timeout_racing_the_notification_reports_the_predicate() -> None:
    # Both deadlines fall at the same virtual instant, so the notification races the
    # timeout: wait_while must say "timed out" exactly when the predicate still holds.
    outcomes: set[bool] = set()

    def program() -> None:
        ready = Mutex(False)
        cv = Condvar()
        _tx, rx = channel[None]()

        def waiter() -> None:
            with ready.lock() as g:
                timed_out = cv.wait_while(g, lambda ready: not ready, timeout=1.0)
                assert timed_out == (not g.value), (timed_out, g.value)
                outcomes.add(timed_out)

        def notifier() -> None:
            with pytest.raises(RecvTimeoutError):
                rx.recv(timeout=1.0)
            with ready.lock() as g:
                g.value = True
            cv.notify_one()

        with scope() as s:
            s.spawn(waiter)
            s.spawn(notifier)
        assert cv.statistics().waiting == 0

    # One preemption already reaches the notifier popping the waiter after its timeout.
    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {True, False}


def test_explored_negative_control_checking_outside_the_mutex_loses_the_wake_up() -> None:
    # The flag lives outside the mutex, so the notification can fall between the
    # waiter's check and its wait: the explorer must report the waiter stuck.
    def program() -> None:
        m = Mutex(None)
        cv = Condvar()
        flag = AtomicBool(False)

        def waiter() -> None:
            with m.lock() as g:
                if not flag.load():
                    cv.wait(g)

        def notifier() -> None:
            flag.store(True)
            cv.notify_one()

        with scope() as s:
            s.spawn(waiter)
            s.spawn(notifier)

    with pytest.raises(DeadlockFound, match=r"Condvar\.wait"):
        explore(program, strategy="exhaustive", preemption_bound=2)
