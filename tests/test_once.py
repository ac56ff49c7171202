"""Contract tests for Once, OnceLock[T] and LazyLock[T] (DESIGN.md, "Condvar, Barrier, …")."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator

import pytest

from _helpers import STRESS, TIMEOUT, Worker, run_concurrently, wait_until
from fearless import (
    DeadlockError,
    LazyLock,
    Once,
    OnceLock,
    OnceState,
    OnceStatistics,
    PoisonError,
    scope,
)
from fearless.atomic import AtomicInt, AtomicRef
from fearless.testing import ScheduleFailure, explore

MSG_ONCE_POISONED = (
    r"^Once is poisoned: an earlier call_once\(\) callable raised; "
    r"use call_once_force\(\) to run a callable anyway$"
)
MSG_ONCE_REENTRANT = (
    r"^this Once is already running a callable on this thread; "
    r"calling it again from inside that callable would deadlock$"
)
MSG_ONCE_LOCK_REENTRANT = (
    r"^this OnceLock is already being initialised by this thread; "
    r"initialising it again from inside the initialiser would deadlock$"
)
MSG_LAZY_LOCK_REENTRANT = (
    r"^this LazyLock is already being initialised by this thread; "
    r"reading it from inside its own initialiser would deadlock$"
)


class Boom(Exception):
    pass


class Interrupt(BaseException):
    """Stands in for KeyboardInterrupt."""


class Gate:
    """An initialiser that blocks until told to return (or raise)."""

    def __init__(self, value: object = "gated", *, fail: bool = False) -> None:
        self.value = value
        self.fail = fail
        self.started = threading.Event()
        self.release = threading.Event()
        self.calls = 0

    def __call__(self, *_: object) -> object:
        self.calls += 1
        self.started.set()
        assert self.release.wait(TIMEOUT)
        if self.fail:
            raise Boom("gate failed")
        return self.value


class Counter:
    """An initialiser that counts its calls, safely under free threading."""

    def __init__(self, value: object = "value") -> None:
        self.value = value
        self._calls: list[None] = []

    @property
    def calls(self) -> int:
        return len(self._calls)

    def __call__(self, *_: object) -> object:
        self._calls.append(None)  # list.append is atomic, even without the GIL
        return self.value


def uncalled(*_: object) -> object:
    raise AssertionError("this initialiser must not run")


# =====================================================================================
# Once
# =====================================================================================


def test_call_once_runs_exactly_once() -> None:
    once = Once()
    counter = Counter()
    assert once.statistics().completed is False
    once.call_once(counter)
    assert once.is_completed
    once.call_once(counter)
    once.call_once(uncalled)
    once.call_once_force(uncalled)
    assert counter.calls == 1
    assert once.statistics() == OnceStatistics(
        completed=True, running=False, waiting=0, poisoned=False
    )


def test_call_once_blocks_others_until_it_completed() -> None:
    once = Once()
    gate = Gate()
    runner = Worker(once.call_once, gate)
    assert gate.started.wait(TIMEOUT)
    assert once.statistics().completed is False  # not while it runs
    assert repr(once) == "Once(<running>)"
    waiter = Worker(once.call_once, uncalled)
    wait_until(lambda: once.statistics().waiting == 1, what="second caller to block")
    assert once.statistics() == OnceStatistics(
        completed=False, running=True, waiting=1, poisoned=False
    )
    gate.release.set()
    runner.join()
    waiter.join()
    assert once.is_completed
    assert gate.calls == 1


def test_failing_call_once_poisons() -> None:
    once = Once()
    error = Boom("first")

    def fail() -> None:
        raise error

    with pytest.raises(Boom) as info:
        once.call_once(fail)
    assert info.value is error  # propagates unchanged
    assert not once.is_completed
    assert once.statistics().poisoned
    assert repr(once) == "Once(<poisoned>)"
    with pytest.raises(PoisonError, match=MSG_ONCE_POISONED) as poisoned:
        once.call_once(uncalled)
    assert poisoned.value.into_inner() is None
    assert not once.is_completed


def test_call_once_force_runs_despite_poison_and_completes() -> None:
    once = Once()
    with pytest.raises(Boom):
        once.call_once(_raise_boom)
    states: list[OnceState] = []
    once.call_once_force(states.append)
    assert [s.is_poisoned for s in states] == [True]
    assert once.is_completed
    assert not once.statistics().poisoned
    once.call_once(uncalled)
    once.call_once_force(uncalled)


def _raise_boom(*_: object) -> None:
    raise Boom


def test_call_once_force_on_healthy_once() -> None:
    once = Once()
    states: list[OnceState] = []
    once.call_once_force(states.append)
    assert [s.is_poisoned for s in states] == [False]
    assert once.is_completed


def test_failing_call_once_force_stays_poisoned() -> None:
    once = Once()
    with pytest.raises(Boom):
        once.call_once_force(_raise_boom)
    assert once.statistics().poisoned
    with pytest.raises(Boom):
        once.call_once_force(_raise_boom)
    with pytest.raises(PoisonError, match=MSG_ONCE_POISONED):
        once.call_once(uncalled)
    once.call_once_force(lambda state: None)
    assert once.is_completed


def test_base_exception_poisons_too() -> None:
    once = Once()
    with pytest.raises(Interrupt):
        once.call_once(_raise_interrupt)
    assert once.statistics().poisoned


def _raise_interrupt(*_: object) -> None:
    raise Interrupt


def start_failing_runner(once: Once) -> tuple[Gate, Worker]:
    gate = Gate(fail=True)
    runner = Worker(once.call_once, gate)
    assert gate.started.wait(TIMEOUT)
    return gate, runner


def test_call_once_waiting_for_a_failing_runner_raises_poison() -> None:
    once = Once()
    gate, runner = start_failing_runner(once)
    plain = Worker(once.call_once, uncalled)
    wait_until(lambda: once.statistics().waiting == 1, what="waiter to block")
    gate.release.set()
    with pytest.raises(Boom):
        runner.join()
    with pytest.raises(PoisonError, match=MSG_ONCE_POISONED):
        plain.join()
    assert once.statistics().poisoned


def test_call_once_force_waiting_for_a_failing_runner_runs_its_callable() -> None:
    once = Once()
    gate, runner = start_failing_runner(once)
    states: list[bool] = []
    forced = Worker(once.call_once_force, lambda s: states.append(s.is_poisoned))
    wait_until(lambda: once.statistics().waiting == 1, what="waiter to block")
    gate.release.set()
    with pytest.raises(Boom):
        runner.join()
    forced.join()
    assert states == [True]
    assert once.is_completed


def test_reentrant_call_once_is_a_deadlock_error() -> None:
    once = Once()
    seen: list[str] = []

    def outer() -> None:
        with pytest.raises(DeadlockError, match=MSG_ONCE_REENTRANT):
            once.call_once(uncalled)
        with pytest.raises(DeadlockError, match=MSG_ONCE_REENTRANT):
            once.call_once_force(uncalled)
        seen.append("outer")

    once.call_once(outer)
    assert seen == ["outer"]
    assert once.is_completed


def test_reentrant_deadlock_escaping_the_callable_poisons() -> None:
    once = Once()
    with pytest.raises(DeadlockError, match=MSG_ONCE_REENTRANT):
        once.call_once(lambda: once.call_once(uncalled))
    assert once.statistics().poisoned
    assert once.statistics().running is False


def test_once_repr() -> None:
    once = Once()
    assert repr(once) == "Once(<incomplete>)"
    once.call_once(lambda: None)
    assert repr(once) == "Once(<complete>)"


def test_once_state_has_no_public_constructor() -> None:
    with pytest.raises(TypeError, match=r"^fearless\.OnceState has no public constructor$"):
        OnceState()
    states: list[OnceState] = []
    Once().call_once_force(states.append)
    assert repr(states[0]) == "OnceState(is_poisoned=False)"


def race_call_once(n_threads: int) -> int:
    """Race ``n_threads`` on one fresh Once; return how often the callable ran."""
    once = Once()
    done: list[bool] = []
    counter = Counter()

    def init() -> None:
        counter()
        done.append(True)

    def work(_: int) -> None:
        once.call_once(init)
        assert done == [True]  # returns only after the callable completed

    run_concurrently(work, n_threads)
    return counter.calls


@pytest.mark.stress
def test_call_once_at_most_once_under_contention() -> None:
    for _ in range(100 * STRESS):
        assert race_call_once(4) == 1


# =====================================================================================
# OnceLock
# =====================================================================================


def test_once_lock_set_and_get() -> None:
    cell: OnceLock[int] = OnceLock()
    assert cell.get() is None
    assert cell.set(1) is True
    assert cell.get() == 1
    assert cell.set(2) is False
    assert cell.get() == 1
    assert cell.get_or_init(uncalled) == 1  # type: ignore[arg-type]


def test_once_lock_get_or_init() -> None:
    cell: OnceLock[list[int]] = OnceLock()
    value = cell.get_or_init(lambda: [1])
    assert cell.get() is value
    assert cell.get_or_init(lambda: [2]) is value
    assert cell.set([3]) is False
    assert cell.statistics() == OnceStatistics(
        completed=True, running=False, waiting=0, poisoned=False
    )


def test_once_lock_holding_none() -> None:
    cell: OnceLock[int | None] = OnceLock()
    assert cell.set(None) is True
    assert cell.get() is None
    assert cell.statistics().completed
    assert cell.get_or_init(lambda: 1) is None
    assert repr(cell) == "OnceLock(None)"


def test_once_lock_is_subscriptable_at_runtime() -> None:
    cell = OnceLock[str]()
    assert cell.get_or_init(lambda: "x") == "x"


def test_once_lock_blocks_others_until_initialised() -> None:
    cell: OnceLock[object] = OnceLock()
    gate = Gate("first")
    runner = Worker(cell.get_or_init, gate)
    assert gate.started.wait(TIMEOUT)
    assert cell.get() is None  # get never blocks
    assert repr(cell) == "OnceLock(<uninit>)"  # nor does repr
    waiter = Worker(cell.get_or_init, uncalled)
    wait_until(lambda: cell.statistics().waiting == 1, what="second caller to block")
    assert cell.statistics().running
    gate.release.set()
    assert runner.join() == "first"
    assert waiter.join() == "first"
    assert gate.calls == 1


def test_once_lock_failure_leaves_it_empty_and_next_caller_retries() -> None:
    cell: OnceLock[str] = OnceLock()
    error = Boom("init failed")

    def fail() -> str:
        raise error

    with pytest.raises(Boom) as info:
        cell.get_or_init(fail)
    assert info.value is error
    assert cell.get() is None
    assert cell.statistics() == OnceStatistics(
        completed=False, running=False, waiting=0, poisoned=False
    )
    assert cell.get_or_init(lambda: "second") == "second"


def test_once_lock_blocked_caller_runs_its_own_fn_after_a_failure() -> None:
    cell: OnceLock[object] = OnceLock()
    gate = Gate(fail=True)
    runner = Worker(cell.get_or_init, gate)
    assert gate.started.wait(TIMEOUT)
    counter = Counter("retried")
    waiter = Worker(cell.get_or_init, counter)
    wait_until(lambda: cell.statistics().waiting == 1, what="second caller to block")
    gate.release.set()
    with pytest.raises(Boom):
        runner.join()
    assert waiter.join() == "retried"
    assert counter.calls == 1
    assert cell.get() == "retried"


def test_once_lock_set_waits_for_a_running_initialiser() -> None:
    cell: OnceLock[object] = OnceLock()
    gate = Gate("from init")
    runner = Worker(cell.get_or_init, gate)
    assert gate.started.wait(TIMEOUT)
    setter = Worker(cell.set, "from set")
    wait_until(lambda: cell.statistics().waiting == 1, what="set to block")
    gate.release.set()
    assert runner.join() == "from init"
    assert setter.join() is False
    assert cell.get() == "from init"


def test_once_lock_set_succeeds_after_a_failed_initialiser() -> None:
    cell: OnceLock[object] = OnceLock()
    gate = Gate(fail=True)
    runner = Worker(cell.get_or_init, gate)
    assert gate.started.wait(TIMEOUT)
    setter = Worker(cell.set, "from set")
    wait_until(lambda: cell.statistics().waiting == 1, what="set to block")
    gate.release.set()
    with pytest.raises(Boom):
        runner.join()
    assert setter.join() is True
    assert cell.get() == "from set"


def test_once_lock_reentrant_initialisation_is_a_deadlock_error() -> None:
    cell: OnceLock[int] = OnceLock()

    def init() -> int:
        with pytest.raises(DeadlockError, match=MSG_ONCE_LOCK_REENTRANT):
            cell.get_or_init(lambda: 2)
        with pytest.raises(DeadlockError, match=MSG_ONCE_LOCK_REENTRANT):
            cell.set(3)
        assert cell.get() is None
        return 1

    assert cell.get_or_init(init) == 1
    assert cell.get() == 1


def test_once_lock_deadlock_escaping_the_initialiser_leaves_it_empty() -> None:
    cell: OnceLock[int] = OnceLock()
    with pytest.raises(DeadlockError, match=MSG_ONCE_LOCK_REENTRANT):
        cell.get_or_init(lambda: cell.get_or_init(lambda: 1))
    assert cell.statistics() == OnceStatistics(
        completed=False, running=False, waiting=0, poisoned=False
    )
    assert cell.get_or_init(lambda: 2) == 2


def test_once_lock_repr() -> None:
    cell: OnceLock[int] = OnceLock()
    assert repr(cell) == "OnceLock(<uninit>)"
    cell.set(5)
    assert repr(cell) == "OnceLock(5)"


def race_once_lock(n_threads: int) -> None:
    """Race get_or_init (and one set) on a fresh cell; check one value won."""
    cell: OnceLock[object] = OnceLock()
    counter = Counter(object())
    offered = object()

    def work(index: int) -> object:
        if index == 0:
            cell.set(offered)  # a racing set: it or the initialiser wins, never both
        return cell.get_or_init(counter)

    results = run_concurrently(work, n_threads)
    winner = cell.get()
    assert winner is offered or winner is counter.value
    assert all(r is winner for r in results)
    assert counter.calls == (0 if winner is offered else 1)


@pytest.mark.stress
def test_once_lock_initialiser_runs_at_most_once_under_contention() -> None:
    for _ in range(100 * STRESS):
        race_once_lock(4)


def race_failing_once_lock(n_threads: int) -> None:
    """Every thread calls get_or_init once; the first two initialisers fail."""
    cell: OnceLock[int] = OnceLock()
    attempts: list[int] = []

    def init() -> int:
        attempts.append(0)  # runs one at a time: no race on the length
        if len(attempts) <= 2:
            raise Boom
        return len(attempts)

    def work(_: int) -> int | None:
        try:
            return cell.get_or_init(init)
        except Boom:
            return None

    results = run_concurrently(work, n_threads)
    assert sorted(results, key=lambda r: r is not None) == [None, None] + [3] * (n_threads - 2)
    assert len(attempts) == 3
    assert cell.get() == 3


@pytest.mark.stress
def test_once_lock_retries_under_contention_until_one_succeeds() -> None:
    for _ in range(50 * STRESS):
        race_failing_once_lock(4)


# =====================================================================================
# LazyLock
# =====================================================================================


def test_lazy_lock_computes_on_first_use_only() -> None:
    counter = Counter(["v"])
    lazy: LazyLock[object] = LazyLock(counter)
    assert counter.calls == 0
    assert repr(lazy) == "LazyLock(<uninit>)"
    first = lazy.value
    assert lazy.force() is first
    assert lazy.value is first
    assert counter.calls == 1
    assert repr(lazy) == "LazyLock(['v'])"
    assert lazy.statistics().completed


def test_lazy_lock_blocks_others_until_initialised() -> None:
    gate = Gate("lazy")
    lazy: LazyLock[object] = LazyLock(gate)
    runner = Worker(lambda: lazy.value)
    assert gate.started.wait(TIMEOUT)
    assert repr(lazy) == "LazyLock(<uninit>)"
    waiter = Worker(lazy.force)
    wait_until(lambda: lazy.statistics().waiting == 1, what="second reader to block")
    gate.release.set()
    assert runner.join() == "lazy"
    assert waiter.join() == "lazy"
    assert gate.calls == 1


def test_lazy_lock_failure_propagates_and_next_access_retries() -> None:
    outcomes: Iterator[Exception | str] = iter([Boom("first"), "second"])

    def init() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    lazy = LazyLock(init)
    with pytest.raises(Boom, match=r"^first$"):
        _ = lazy.value
    assert repr(lazy) == "LazyLock(<uninit>)"
    assert not lazy.statistics().completed
    assert lazy.force() == "second"
    assert lazy.value == "second"


def test_lazy_lock_blocked_reader_retries_after_a_failure() -> None:
    calls: list[int] = []
    failing_started, release = threading.Event(), threading.Event()

    def init() -> str:
        calls.append(0)
        if len(calls) == 1:
            failing_started.set()
            assert release.wait(TIMEOUT)
            raise Boom
        return "retried"

    lazy = LazyLock(init)
    runner = Worker(lazy.force)
    assert failing_started.wait(TIMEOUT)
    waiter = Worker(lambda: lazy.value)
    wait_until(lambda: lazy.statistics().waiting == 1, what="second reader to block")
    release.set()
    with pytest.raises(Boom):
        runner.join()
    assert waiter.join() == "retried"
    assert len(calls) == 2


def test_lazy_lock_drops_its_function_once_initialised() -> None:
    class Init:
        def __call__(self) -> int:
            return 1

    init = Init()
    ref = weakref.ref(init)
    lazy = LazyLock(init)
    del init
    assert ref() is not None
    assert lazy.value == 1
    gc.collect()
    assert ref() is None


def test_lazy_lock_reentrant_access_is_a_deadlock_error() -> None:
    def init() -> int:
        with pytest.raises(DeadlockError, match=MSG_LAZY_LOCK_REENTRANT):
            _ = lazy.value
        with pytest.raises(DeadlockError, match=MSG_LAZY_LOCK_REENTRANT):
            lazy.force()
        return 1

    lazy = LazyLock(init)
    assert lazy.value == 1


def test_lazy_lock_needs_a_callable() -> None:
    with pytest.raises(TypeError, match=r"^LazyLock needs a callable, got int$"):
        LazyLock(3)  # type: ignore[arg-type]


def test_lazy_lock_is_covariant_and_subscriptable() -> None:
    lazy: LazyLock[object] = LazyLock[bool](lambda: True)
    assert lazy.value is True


def race_lazy_lock(n_threads: int) -> None:
    counter = Counter(object())
    lazy: LazyLock[object] = LazyLock(counter)

    def work(index: int) -> object:
        return lazy.value if index % 2 else lazy.force()

    results = run_concurrently(work, n_threads)
    assert counter.calls == 1
    assert all(r is counter.value for r in results)


@pytest.mark.stress
def test_lazy_lock_initialiser_runs_at_most_once_under_contention() -> None:
    for _ in range(100 * STRESS):
        race_lazy_lock(4)


# =====================================================================================
# All three
# =====================================================================================


def test_public_names() -> None:
    for cls in (Once, OnceLock, LazyLock, OnceState, OnceStatistics):
        assert cls.__module__ == "fearless"


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound) and asserts its invariant inside. Initialisers count their calls in an
# atomic, which is a switch point: another thread can arrive while one initialises.


def test_explored_once_lock_initialises_once_and_everyone_sees_that_value() -> None:
    def program() -> None:
        cell: OnceLock[object] = OnceLock()
        calls = AtomicInt(0)

        def init() -> object:
            calls.fetch_add(1)
            return object()

        def work() -> object:
            seen = cell.get()
            value = cell.get_or_init(init)
            assert seen is None or seen is value, "get() showed another value"
            return value

        with scope() as s:
            first = s.spawn(work)
            second = s.spawn(work)
        assert calls.load() == 1, f"the initialiser ran {calls.load()} times"
        assert first.join() is second.join() is cell.get()

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 100


def test_explored_once_lock_set_racing_get_or_init_stores_exactly_one() -> None:
    winners: set[str] = set()

    def program() -> None:
        cell: OnceLock[str] = OnceLock()
        calls = AtomicInt(0)

        def init() -> str:
            calls.fetch_add(1)
            return "initialised"

        with scope() as s:
            setter = s.spawn(cell.set, "set")
            getter = s.spawn(cell.get_or_init, init)
        stored = cell.get()
        assert setter.join() == (stored == "set")
        assert getter.join() == stored
        assert calls.load() == (stored == "initialised")
        winners.add(str(stored))

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert winners == {"set", "initialised"}


def test_explored_once_lock_failed_initialiser_leaves_it_to_the_next_caller() -> None:
    outcomes: set[tuple[int, int]] = set()

    def program() -> None:
        cell: OnceLock[str] = OnceLock()
        failing_calls, good_calls = AtomicInt(0), AtomicInt(0)

        def failing() -> str:
            failing_calls.fetch_add(1)
            raise Boom

        def good() -> str:
            good_calls.fetch_add(1)
            return "good"

        def unlucky() -> None:
            try:
                assert cell.get_or_init(failing) == "good"  # the other thread was first
            except Boom:
                pass

        with scope() as s:
            s.spawn(unlucky)
            lucky = s.spawn(cell.get_or_init, good)
        assert lucky.join() == cell.get() == "good"
        assert good_calls.load() == 1
        outcomes.add((failing_calls.load(), good_calls.load()))

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {(0, 1), (1, 1)}


def test_explored_once_runs_its_callable_once_and_completes_before_anyone_returns() -> None:
    def program() -> None:
        once = Once()
        calls = AtomicInt(0)

        def work() -> None:
            once.call_once(lambda: calls.fetch_add(1))
            assert once.is_completed, "call_once returned before the callable finished"
            assert calls.load() == 1

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        assert calls.load() == 1

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 100


def test_explored_once_poisoned_by_a_failure_refuses_later_and_waiting_callers() -> None:
    outcomes: set[str] = set()

    def program() -> None:
        once = Once()
        ran = AtomicInt(0)

        def failing() -> None:
            ran.fetch_add(1)
            raise Boom

        def fail() -> None:
            try:
                once.call_once(failing)
            except Boom:
                return
            assert ran.load() == 10, "call_once returned without running or completing"

        def other() -> None:
            try:
                once.call_once(lambda: ran.fetch_add(10))
            except PoisonError:
                assert ran.load() == 1, "poisoned, but the failing callable did not run"
                outcomes.add("poisoned")
                return
            assert once.is_completed
            outcomes.add("completed")

        with scope() as s:
            first = s.spawn(other)
            s.spawn(fail)
        first.join()
        # Whichever ran first decided: the failure poisons, a success completes.
        assert ran.load() in (1, 10)
        assert once.is_completed == (ran.load() == 10)

    # Nothing can block here for ever: a deadlock in any schedule would fail the test.
    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {"poisoned", "completed"}


def test_explored_lazy_lock_computes_once_for_every_reader() -> None:
    def program() -> None:
        calls = AtomicInt(0)

        def compute() -> list[int]:
            calls.fetch_add(1)
            return [42]

        lazy = LazyLock(compute)
        with scope() as s:
            first = s.spawn(lambda: lazy.value)
            second = s.spawn(lazy.force)
        assert calls.load() == 1
        assert first.join() is second.join() is lazy.value

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 100


def test_explored_negative_control_check_then_init_runs_twice() -> None:
    # Lazy initialisation by hand, "if empty: fill", initialises twice in some schedule.
    def program() -> None:
        cell: AtomicRef[object | None] = AtomicRef(None)
        calls = AtomicInt(0)

        def work() -> None:
            if cell.load() is None:
                calls.fetch_add(1)
                cell.store(object())

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        assert calls.load() == 1, f"initialised {calls.load()} times"

    with pytest.raises(ScheduleFailure, match="initialised 2 times"):
        explore(program, strategy="exhaustive", preemption_bound=2)
