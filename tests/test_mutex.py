"""Contract tests for Mutex[T] and MutexGuard[T] (DESIGN.md, "Mutex[T]")."""

from __future__ import annotations

import threading

import pytest

from _helpers import STRESS, TIMEOUT, Worker, run_concurrently, wait_until
from fearless import (
    ConsumedError,
    DeadlockError,
    GuardReleasedError,
    Mutex,
    MutexGuard,
    PoisonError,
    WouldBlockError,
    WrongThreadError,
    scope,
)
from fearless.atomic import AtomicInt
from fearless.mpsc import channel
from fearless.testing import ScheduleFailure, explore

MSG_DEADLOCK = r"^mutex is already locked by this thread; locking it again would deadlock$"
MSG_WOULD_BLOCK = r"^mutex is locked; try again later or call lock\(\) to wait for it$"
MSG_POISONED = (
    r"^mutex is poisoned: a thread failed while holding it; call into_inner\(\) on this "
    r"error to use the data anyway, or clear_poison\(\)$"
)
MSG_CONSUMED = r"^this mutex was consumed by into_inner\(\); it cannot be used any more$"
MSG_RELEASED = r"^this guard was released; lock the mutex again to get a new guard$"
MSG_WRONG_THREAD = r"^this guard belongs to the thread that acquired it; release it there$"


class Boom(Exception):
    pass


def poison(m: Mutex[object]) -> None:
    with pytest.raises(Boom), m.lock():
        raise Boom


def held_elsewhere(m: Mutex[int]) -> tuple[threading.Event, Worker]:
    """Lock ``m`` on another thread; it holds the lock until the event is set."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with m.lock():
            locked.set()
            assert release.wait(TIMEOUT)

    worker = Worker(hold)
    assert locked.wait(TIMEOUT)
    return release, worker


# -- locking and guards ------------------------------------------------------


def test_lock_returns_a_guard_holding_the_lock() -> None:
    m = Mutex(41)
    guard = m.lock()
    assert isinstance(guard, MutexGuard)
    assert m.statistics().locked
    assert guard.value == 41
    guard.value += 1
    guard.unlock()
    assert not m.statistics().locked
    assert m.into_inner() == 42


def test_with_block_releases_and_writes_back() -> None:
    m = Mutex([1])
    with m.lock() as guard:
        guard.value.append(2)
        guard.value = [*guard.value, 3]
    assert not m.statistics().locked
    with m.lock() as guard:
        assert guard.value == [1, 2, 3]


def test_guard_enter_returns_the_guard_itself() -> None:
    m = Mutex(0)
    guard = m.lock()
    with guard as entered:
        assert entered is guard


def test_mutex_is_subscriptable_at_runtime() -> None:
    m = Mutex[int](3)
    with m.lock() as g:
        assert g.value == 3


def test_guard_has_no_public_constructor() -> None:
    with pytest.raises(TypeError, match=r"^fearless\.MutexGuard has no public constructor$"):
        MutexGuard()


def test_public_names_claim_the_fearless_module() -> None:
    assert Mutex.__module__ == "fearless"
    assert MutexGuard.__qualname__ == "MutexGuard"


def test_blocked_lock_proceeds_once_released() -> None:
    m = Mutex(0)
    release, holder = held_elsewhere(m)

    def waiter() -> int:
        with m.lock() as g:
            g.value += 1
            return g.value

    w = Worker(waiter)
    wait_until(lambda: m.statistics().waiting == 1, what="waiter to block")
    assert not w.thread.is_alive() or w.result is None
    release.set()
    holder.join()
    assert w.join() == 1


# -- try_lock ---------------------------------------------------------------


def test_try_lock_when_free() -> None:
    m = Mutex("x")
    with m.try_lock() as g:
        assert g.value == "x"


def test_try_lock_held_by_other_thread_would_block() -> None:
    m = Mutex(0)
    release, holder = held_elsewhere(m)
    try:
        with pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK):
            m.try_lock()
    finally:
        release.set()
        holder.join()


def test_try_lock_held_by_this_thread_would_block_not_deadlock() -> None:
    m = Mutex(0)
    with m.lock():
        with pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK):
            m.try_lock()
        assert m.statistics().locked


def test_try_lock_on_poisoned_mutex_raises_poison() -> None:
    m: Mutex[object] = Mutex(0)
    poison(m)
    with pytest.raises(PoisonError, match=MSG_POISONED):
        m.try_lock()
    assert not m.statistics().locked


# -- timeouts ---------------------------------------------------------------


def test_lock_timeout_raises_builtin_timeout_error() -> None:
    m = Mutex(0)
    release, holder = held_elsewhere(m)
    try:
        with pytest.raises(TimeoutError, match=r"^mutex was not free within 0\.01 seconds$"):
            m.lock(timeout=0.01)
        with pytest.raises(TimeoutError):
            m.lock(timeout=0)
    finally:
        release.set()
        holder.join()
    assert m.statistics().waiting == 0
    with m.lock(timeout=TIMEOUT) as g:
        assert g.value == 0


def test_lock_with_timeout_when_free() -> None:
    m = Mutex(5)
    with m.lock(timeout=0) as g:
        assert g.value == 5


@pytest.mark.parametrize("bad", [-1, -0.001, float("-inf"), float("nan")])
def test_negative_or_nan_timeout_is_a_value_error(bad: float) -> None:
    m = Mutex(0)
    with pytest.raises(ValueError, match=r"^timeout must be a non-negative number of seconds"):
        m.lock(timeout=bad)
    assert not m.statistics().locked


@pytest.mark.parametrize("bad", ["1", b"1", [1], True])
def test_non_numeric_timeout_is_a_type_error(bad: object) -> None:
    m = Mutex(0)
    with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or None, got "):
        m.lock(timeout=bad)  # type: ignore[arg-type]
    assert not m.statistics().locked


def test_timeout_beyond_platform_max_waits_instead_of_overflowing() -> None:
    m = Mutex(0)
    with m.lock(timeout=threading.TIMEOUT_MAX * 10) as g:
        g.value = 1
    release, holder = held_elsewhere(m)
    w = Worker(lambda: m.lock(timeout=1e300).unlock())
    wait_until(lambda: m.statistics().waiting == 1, what="waiter to block")
    release.set()
    holder.join()
    w.join()


# -- deadlock ----------------------------------------------------------------


def test_relocking_on_the_same_thread_raises_deadlock() -> None:
    m = Mutex(0)
    with m.lock() as g:
        with pytest.raises(DeadlockError, match=MSG_DEADLOCK):
            m.lock()
        with pytest.raises(DeadlockError, match=MSG_DEADLOCK):
            m.lock(timeout=1)
        # the failed lock() did not disturb the held guard
        g.value = 7
    assert m.into_inner() == 7


def test_deadlock_error_is_a_runtime_error() -> None:
    assert issubclass(DeadlockError, RuntimeError)


# -- poisoning -------------------------------------------------------------


def test_failing_with_block_poisons_and_propagates_the_same_exception() -> None:
    m = Mutex(0)
    error = Boom("original")
    with pytest.raises(Boom) as caught, m.lock() as g:
        g.value = 1
        raise error
    assert caught.value is error
    assert m.is_poisoned()
    assert not m.statistics().locked


def test_lock_on_poisoned_mutex_raises_holding_nothing() -> None:
    m: Mutex[object] = Mutex(0)
    poison(m)
    with pytest.raises(PoisonError, match=MSG_POISONED):
        m.lock()
    assert not m.statistics().locked
    # another thread sees it free, poisoned too
    w = Worker(lambda: pytest.raises(PoisonError, m.try_lock))
    w.join()


def test_poison_error_into_inner_gives_a_guard_ignoring_poison() -> None:
    m = Mutex([1, 2, 3])
    with pytest.raises(Boom), m.lock() as g:
        g.value.append(4)
        raise Boom
    with pytest.raises(PoisonError) as caught:
        m.lock()
    with caught.value.into_inner() as g:
        assert g.value == [1, 2, 3, 4]
        g.value.append(5)
    assert m.is_poisoned()  # recovering does not clear the flag (as in Rust)
    m.clear_poison()
    with m.lock() as g:
        assert g.value == [1, 2, 3, 4, 5]


def test_poison_error_into_inner_waits_for_the_lock() -> None:
    m: Mutex[object] = Mutex(0)
    poison(m)
    with pytest.raises(PoisonError) as caught:
        m.lock()
    release, holder = held_elsewhere_poisoned(m)
    w = Worker(lambda: caught.value.into_inner().unlock())
    wait_until(lambda: m.statistics().waiting == 1, what="recovery to block")
    release.set()
    holder.join()
    w.join()


def held_elsewhere_poisoned(m: Mutex[object]) -> tuple[threading.Event, Worker]:
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with pytest.raises(PoisonError) as caught:
            m.lock()
        with caught.value.into_inner():
            locked.set()
            assert release.wait(TIMEOUT)

    worker = Worker(hold)
    assert locked.wait(TIMEOUT)
    return release, worker


def test_poison_is_set_by_a_failure_on_another_thread() -> None:
    m = Mutex([1, 2, 3])

    def fail() -> None:
        with m.lock() as g:
            g.value.append(4)
            raise Boom

    with pytest.raises(Boom):
        Worker(fail).join()
    assert m.is_poisoned()


def test_clear_poison() -> None:
    m: Mutex[object] = Mutex(0)
    poison(m)
    m.clear_poison()
    assert not m.is_poisoned()
    with m.lock():
        pass


def test_poison_false_never_poisons() -> None:
    m = Mutex(0, poison=False)
    with pytest.raises(Boom), m.lock() as g:
        g.value = 1
        raise Boom
    assert not m.is_poisoned()
    with m.lock() as g:
        assert g.value == 1


def test_only_the_with_block_poisons_not_unlock() -> None:
    m = Mutex(0)
    with pytest.raises(Boom), m.lock() as g:
        g.unlock()
        raise Boom  # the lock was already released: nothing to poison
    assert not m.is_poisoned()


def test_base_exceptions_poison_too() -> None:
    m = Mutex(0)
    with pytest.raises(KeyboardInterrupt), m.lock():
        raise KeyboardInterrupt
    assert m.is_poisoned()


# -- release and misuse ------------------------------------------------------


def test_access_after_with_block_raises() -> None:
    m = Mutex(0)
    with m.lock() as g:
        pass
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        _ = g.value
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        g.value = 1
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        del g.value
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        g.unlock()
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED), g:
        pass
    assert m.into_inner() == 0  # the write after release went nowhere


def test_unlock_twice_raises() -> None:
    m = Mutex(0)
    g = m.lock()
    g.unlock()
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        g.unlock()


def test_stale_guard_stays_released_after_relock() -> None:
    m = Mutex(0)
    with m.lock() as old:
        pass
    with m.lock() as new:
        new.value = 2
        with pytest.raises(GuardReleasedError):
            _ = old.value
        with pytest.raises(GuardReleasedError):
            old.value = 3
    assert m.into_inner() == 2


def test_unlock_inside_with_then_exit_is_fine() -> None:
    m = Mutex(0)
    with m.lock() as g:
        g.value = 9
        g.unlock()
        with m.try_lock() as g2:
            assert g2.value == 9
    assert not m.statistics().locked


def test_release_from_another_thread_raises_and_keeps_the_lock() -> None:
    m = Mutex(0)
    g = m.lock()
    g.value = 5

    def other() -> None:
        with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD):
            g.unlock()
        with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD):
            g.__exit__(Boom, Boom(), None)

    Worker(other).join()
    assert m.statistics().owner == threading.get_ident()
    assert not m.is_poisoned()
    assert g.value == 5
    g.unlock()
    assert m.into_inner() == 5


def test_guard_repr() -> None:
    m = Mutex("v")
    g = m.lock()
    assert repr(g) == "<MutexGuard value='v'>"
    g.unlock()
    assert repr(g) == "<MutexGuard (released)>"


# -- into_inner ---------------------------------------------------------------


def test_into_inner_consumes() -> None:
    sentinel = object()
    m = Mutex(sentinel)
    assert m.into_inner() is sentinel
    for call in (m.lock, m.try_lock, m.into_inner, m.clear_poison):
        with pytest.raises(ConsumedError, match=MSG_CONSUMED):
            call()
    assert repr(m) == "Mutex(<consumed>)"
    assert not m.statistics().locked


def test_into_inner_of_poisoned_mutex() -> None:
    m = Mutex([1])
    with pytest.raises(Boom), m.lock() as g:
        g.value.append(2)
        raise Boom
    with pytest.raises(PoisonError, match=MSG_POISONED) as caught:
        m.into_inner()
    assert caught.value.into_inner() == [1, 2]
    with pytest.raises(ConsumedError):
        m.lock()


def test_into_inner_while_locked_refuses() -> None:
    m = Mutex(0)
    msg = r"^mutex is locked; into_inner\(\) needs every guard released first$"
    with m.lock(), pytest.raises(WouldBlockError, match=msg):
        m.into_inner()
    release, holder = held_elsewhere(m)
    try:
        with pytest.raises(WouldBlockError, match=msg):
            m.into_inner()
    finally:
        release.set()
        holder.join()
    assert m.into_inner() == 0


def test_waiter_on_a_mutex_consumed_meanwhile_gets_consumed_error() -> None:
    m = Mutex(0)
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        g = m.lock()
        locked.set()
        assert release.wait(TIMEOUT)
        g.unlock()
        # consume as soon as possible; the waiter may or may not get in first
        try:
            m.into_inner()
        except WouldBlockError:
            pass

    holder = Worker(hold)
    assert locked.wait(TIMEOUT)

    def waiter() -> str:
        try:
            m.lock().unlock()
        except ConsumedError:
            return "consumed"
        return "locked"

    w = Worker(waiter)
    wait_until(lambda: m.statistics().waiting == 1, what="waiter to block")
    release.set()
    holder.join()
    assert w.join() in {"consumed", "locked"}


# -- repr and statistics ------------------------------------------------------


def test_repr_never_blocks() -> None:
    m = Mutex([1, 2])
    assert repr(m) == "Mutex([1, 2])"
    with m.lock():
        assert repr(m) == "Mutex(<locked>)"
    release, holder = held_elsewhere(m)  # type: ignore[arg-type]
    try:
        assert repr(m) == "Mutex(<locked>)"
    finally:
        release.set()
        holder.join()


def test_repr_shows_poison() -> None:
    m: Mutex[object] = Mutex(1)
    poison(m)
    assert repr(m) == "Mutex(1, poisoned=True)"


def test_statistics() -> None:
    m = Mutex(0)
    s = m.statistics()
    assert (s.locked, s.owner, s.waiting, s.poisoned) == (False, None, 0, False)
    release, holder = held_elsewhere(m)
    waiters = [Worker(lambda: m.lock().unlock()) for _ in range(2)]
    wait_until(lambda: m.statistics().waiting == 2, what="two waiters")
    s = m.statistics()
    assert s.locked
    assert s.owner == holder.thread.ident
    release.set()
    holder.join()
    for w in waiters:
        w.join()
    assert m.statistics().waiting == 0


# -- stress -------------------------------------------------------------------


@pytest.mark.stress
def test_counter_is_exact_under_contention() -> None:
    n_threads, n_iter = 4, 2000 * STRESS
    m = Mutex(0)

    def work(_: int) -> None:
        for _ in range(n_iter):
            with m.lock() as g:
                g.value += 1

    run_concurrently(work, n_threads)
    assert m.into_inner() == n_threads * n_iter


@pytest.mark.stress
def test_invariant_holds_with_mixed_operations() -> None:
    # Two counters that every critical section keeps equal; try_lock and
    # timeouts mixed in; a reader never sees them differ.
    m = Mutex([0, 0])
    n_iter = 1000 * STRESS
    done = [0, 0, 0, 0]

    def work(index: int) -> None:
        for i in range(n_iter):
            try:
                if i % 3 == 0:
                    g = m.try_lock()
                elif i % 3 == 1:
                    g = m.lock(timeout=TIMEOUT)
                else:
                    g = m.lock()
            except WouldBlockError:
                continue
            with g:
                a, b = g.value
                assert a == b
                g.value = [a + 1, b + 1]
                done[index] += 1

    run_concurrently(work, 4)
    a, b = m.into_inner()
    assert a == b == sum(done)


@pytest.mark.stress
def test_poison_is_seen_by_every_thread() -> None:
    m = Mutex(0)
    n = 50 * STRESS
    barrier = threading.Barrier(4, timeout=TIMEOUT)

    def work(index: int) -> int:
        seen = 0
        for i in range(n):
            if index == 0 and i == n // 2:
                with pytest.raises(Boom), m.lock():
                    raise Boom
            try:
                with m.lock() as g:
                    g.value += 1
            except PoisonError as e:
                seen += 1
                with e.into_inner() as g:
                    g.value += 1
        barrier.wait()
        return seen

    results = run_concurrently(work, 4)
    assert m.is_poisoned()
    assert results[0] >= n // 2 - 1
    with pytest.raises(PoisonError) as caught:
        m.into_inner()
    assert caught.value.into_inner() == 4 * n


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound) and asserts its invariant inside, at every step of every interleaving.
# Atomics are switch points, so an ``inside`` counter kept in one puts switch points inside
# each critical section, where another thread could barge in if exclusion failed.


def test_explored_mutex_excludes_every_other_thread() -> None:
    def program() -> None:
        m = Mutex(0)
        inside = AtomicInt(0)

        def work() -> None:
            for _ in range(2):
                with m.lock() as g:
                    assert inside.fetch_add(1) == 0, "two threads inside the mutex"
                    g.value += 1
                    inside.fetch_sub(1)

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        assert m.into_inner() == 4

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 100


def test_explored_negative_control_without_the_mutex_threads_overlap() -> None:
    # The same check without the mutex must fail: the explorer does interleave there.
    def program() -> None:
        inside = AtomicInt(0)

        def work() -> None:
            assert inside.fetch_add(1) == 0, "two threads inside"
            inside.fetch_sub(1)

        with scope() as s:
            s.spawn(work)
            s.spawn(work)

    with pytest.raises(ScheduleFailure, match="two threads inside"):
        explore(program, strategy="exhaustive", preemption_bound=2)


def test_explored_try_lock_gets_in_only_when_the_mutex_is_free() -> None:
    refusals: set[int] = set()

    def program() -> None:
        m = Mutex(0)
        inside = AtomicInt(0)
        refused = AtomicInt(0)

        def work() -> None:
            try:
                g = m.try_lock()
            except WouldBlockError:
                refused.fetch_add(1)
                return
            with g:
                assert inside.fetch_add(1) == 0, "try_lock entered a held mutex"
                g.value += 1
                inside.fetch_sub(1)

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        # Every attempt got in or was refused, and one of two always gets in.
        assert m.into_inner() + refused.load() == 2
        refusals.add(refused.load())

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert refusals == {0, 1}  # both outcomes of the race were explored


def test_explored_poison_is_seen_by_exactly_the_lockers_after_the_failure() -> None:
    outcomes: set[str] = set()

    def program() -> None:
        m = Mutex[list[str]]([])

        def fail() -> None:
            with pytest.raises(Boom), m.lock() as g:
                g.value.append("failed")
                raise Boom

        def later() -> None:
            try:
                g = m.lock()
            except PoisonError as e:
                with e.into_inner() as g:
                    assert g.value == ["failed"], "poisoned before the failure"
                    g.value.append("saw poison")
                return
            with g:
                assert g.value == [], "locked after the failure without seeing the poison"
                g.value.append("clean")

        with scope() as s:
            s.spawn(fail)
            s.spawn(later)
        assert m.is_poisoned()
        with pytest.raises(PoisonError) as caught:
            m.into_inner()
        outcomes.add(" then ".join(caught.value.into_inner()))

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {"failed then saw poison", "clean then failed"}


def test_explored_lock_timeout_gives_up_only_while_the_mutex_is_held() -> None:
    # Time is virtual: the timeout fires when every thread is blocked, i.e. while the
    # holder waits for a message that only the timed-out thread sends afterwards.
    outcomes: set[str] = set()

    def program() -> None:
        m = Mutex(0)
        inside = AtomicInt(0)
        tx, rx = channel[None]()

        def holder() -> None:
            with m.lock() as g:
                inside.fetch_add(1)
                rx.recv()
                g.value += 1
                inside.fetch_sub(1)

        def impatient() -> None:
            try:
                with m.lock(timeout=1.0) as g:
                    assert inside.load() == 0, "got a held mutex"
                    g.value += 1
                    outcomes.add("locked")
            except TimeoutError:
                assert inside.load() == 1, "timed out on a free mutex"
                outcomes.add("timed out")
            tx.send(None)

        with scope() as s:
            s.spawn(holder)
            s.spawn(impatient)

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {"locked", "timed out"}
