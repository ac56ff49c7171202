"""Contract tests for Barrier and BarrierWaitResult (DESIGN.md, "Condvar, Barrier, …")."""

from __future__ import annotations

import threading

import pytest

from _helpers import STRESS, TIMEOUT, GatedBackend, Worker, _GatedLock, run_concurrently, wait_until
from fearless import Barrier, BarrierStatistics, BarrierWaitResult, Mutex, _seam, scope
from fearless.atomic import AtomicInt
from fearless.mpsc import RecvTimeoutError, channel
from fearless.testing import ScheduleFailure, explore


class _GatedWithLock(_GatedLock):
    """_helpers' gated lock, usable in a ``with`` statement like ``_thread.lock``."""

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class Gated(GatedBackend):
    """GatedBackend whose raw locks support ``with`` (as every real raw lock does)."""

    def allocate_lock(self) -> _seam.RawLock:  # type: ignore[override]
        return _GatedWithLock(self)


def arrive(barrier: Barrier, timeout: float | None = TIMEOUT) -> Worker:
    return Worker(lambda: barrier.wait(timeout=timeout).is_leader)


# -- meeting ---------------------------------------------------------------------


def test_threads_block_until_all_arrived() -> None:
    barrier = Barrier(3)
    first = [arrive(barrier), arrive(barrier)]
    wait_until(lambda: barrier.statistics().waiting == 2, what="two arrivals")
    assert all(w.thread.is_alive() for w in first)
    last = barrier.wait(timeout=TIMEOUT)
    leaders = [last.is_leader] + [w.join() for w in first]
    assert sorted(leaders) == [False, False, True]
    assert barrier.statistics() == BarrierStatistics(parties=3, waiting=0, generation=1)


def test_last_arrival_is_the_leader() -> None:
    barrier = Barrier(2)
    w = arrive(barrier)
    wait_until(lambda: barrier.statistics().waiting == 1, what="first arrival")
    assert barrier.wait().is_leader is True
    assert w.join() is False


def test_barrier_of_one_never_blocks_and_always_leads() -> None:
    barrier = Barrier(1)
    for generation in range(1, 4):
        assert barrier.wait().is_leader
        assert barrier.statistics().generation == generation


def test_barrier_is_reusable() -> None:
    barrier = Barrier(2)

    def twice() -> list[bool]:
        return [barrier.wait(timeout=TIMEOUT).is_leader for _ in range(3)]

    w = Worker(twice)
    mine = twice()
    theirs = w.join()
    assert [a != b for a, b in zip(mine, theirs, strict=True)] == [True] * 3
    assert barrier.statistics().generation == 3


def test_nobody_passes_before_everyone_arrived() -> None:
    # Everything each thread did before its wait is visible to all after it.
    n, rounds = 4, 20
    barrier = Barrier(n)
    arrivals = Mutex(0)

    def work(_: int) -> None:
        for r in range(rounds):
            with arrivals.lock() as g:
                g.value += 1
            barrier.wait(timeout=TIMEOUT)
            with arrivals.lock() as g:
                assert g.value >= n * (r + 1)

    run_concurrently(work, n)
    assert arrivals.into_inner() == n * rounds


# -- timeouts ------------------------------------------------------------------------


def test_timeout_withdraws_the_arrival_and_raises() -> None:
    barrier = Barrier(3)
    early = arrive(barrier)
    wait_until(lambda: barrier.statistics().waiting == 1, what="first arrival")
    with pytest.raises(
        TimeoutError, match=r"^barrier: 2 of 3 threads arrived within 0\.01 seconds$"
    ):
        barrier.wait(timeout=0.01)
    # Withdrawn: the generation still needs two more threads.
    assert barrier.statistics() == BarrierStatistics(parties=3, waiting=1, generation=0)
    second = arrive(barrier)
    wait_until(lambda: barrier.statistics().waiting == 2, what="second arrival")
    assert barrier.wait(timeout=TIMEOUT).is_leader
    assert [early.join(), second.join()] == [False, False]
    assert barrier.statistics().generation == 1


def test_timeout_zero_alone_raises() -> None:
    barrier = Barrier(2)
    with pytest.raises(TimeoutError, match=r"^barrier: 1 of 2 threads arrived within 0 seconds$"):
        barrier.wait(timeout=0)
    assert barrier.statistics().waiting == 0


def test_timeout_zero_as_last_arrival_passes() -> None:
    barrier = Barrier(2)
    w = arrive(barrier)
    wait_until(lambda: barrier.statistics().waiting == 1, what="first arrival")
    assert barrier.wait(timeout=0).is_leader
    assert w.join() is False


def test_timeout_beyond_platform_max_waits() -> None:
    barrier = Barrier(2)
    w = arrive(barrier, timeout=threading.TIMEOUT_MAX * 10)
    wait_until(lambda: barrier.statistics().waiting == 1, what="first arrival")
    assert barrier.wait(timeout=TIMEOUT).is_leader
    assert w.join() is False


def test_generation_completing_as_timeout_passes_counts_as_passed() -> None:
    gate = Gated()
    with _seam.install(gate):
        barrier = Barrier(2)
    late = Worker(lambda: barrier.wait(timeout=0.01).is_leader)
    assert gate.timed_out.wait(TIMEOUT)  # its timeout passed; not withdrawn yet
    assert barrier.statistics().waiting == 1
    assert barrier.wait(timeout=TIMEOUT).is_leader  # completes the generation
    gate.proceed.set()
    assert late.join() is False  # it made it: no TimeoutError
    assert barrier.statistics() == BarrierStatistics(parties=2, waiting=0, generation=1)


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan")])
def test_negative_timeout_is_a_value_error(bad: float) -> None:
    barrier = Barrier(2)
    with pytest.raises(ValueError, match=r"^timeout must be a non-negative number"):
        barrier.wait(timeout=bad)
    assert barrier.statistics().waiting == 0


@pytest.mark.parametrize("bad", ["1", True])
def test_non_numeric_timeout_is_a_type_error(bad: object) -> None:
    barrier = Barrier(1)
    with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or None"):
        barrier.wait(timeout=bad)  # type: ignore[arg-type]
    assert barrier.statistics() == BarrierStatistics(parties=1, waiting=0, generation=0)


# -- construction and introspection ---------------------------------------------------


@pytest.mark.parametrize("n", [0, -1])
def test_size_below_one_is_a_value_error(n: int) -> None:
    with pytest.raises(ValueError, match=rf"^barrier size must be at least 1, got {n}$"):
        Barrier(n)


@pytest.mark.parametrize("n", [2.0, "2", True, None])
def test_size_must_be_an_int(n: object) -> None:
    with pytest.raises(TypeError, match=r"^barrier size must be an int, got "):
        Barrier(n)  # type: ignore[arg-type]


def test_parties_is_read_only() -> None:
    barrier = Barrier(5)
    assert barrier.parties == 5
    with pytest.raises(AttributeError):
        barrier.parties = 6  # type: ignore[misc]


def test_wait_result_has_no_public_constructor_and_a_repr() -> None:
    with pytest.raises(TypeError, match=r"^fearless\.BarrierWaitResult has no public constructor$"):
        BarrierWaitResult()
    result = Barrier(1).wait()
    assert isinstance(result, BarrierWaitResult)
    assert repr(result) == "BarrierWaitResult(is_leader=True)"
    with pytest.raises(AttributeError):
        result.is_leader = False  # type: ignore[misc]


def test_repr_shows_arrivals_without_blocking() -> None:
    barrier = Barrier(2)
    assert repr(barrier) == "Barrier(<0 of 2 waiting>)"
    w = arrive(barrier)
    wait_until(lambda: barrier.statistics().waiting == 1, what="first arrival")
    assert repr(barrier) == "Barrier(<1 of 2 waiting>)"
    barrier.wait(timeout=TIMEOUT)
    w.join()


def test_public_names() -> None:
    assert Barrier.__module__ == "fearless"
    assert BarrierWaitResult.__qualname__ == "BarrierWaitResult"


# -- stress ---------------------------------------------------------------------------


@pytest.mark.stress
def test_exactly_one_leader_per_generation() -> None:
    n, generations = 4, 300 * STRESS
    barrier = Barrier(n)

    def work(_: int) -> list[bool]:
        return [barrier.wait(timeout=TIMEOUT).is_leader for _ in range(generations)]

    results = run_concurrently(work, n)
    # A thread's i-th wait belongs to generation i: it cannot start
    # generation i + 1 before generation i completed.
    for i in range(generations):
        assert sum(r[i] for r in results) == 1, f"generation {i}"
    assert barrier.statistics() == BarrierStatistics(parties=n, waiting=0, generation=generations)


@pytest.mark.stress
def test_timeouts_racing_completions_keep_generations_exact() -> None:
    n, generations = 3, 100 * STRESS
    barrier = Barrier(n)

    def work(index: int) -> tuple[list[bool], int]:
        leads: list[bool] = []
        timeouts = 0
        while len(leads) < generations:
            try:
                # Tiny timeouts on two threads race the generation's completion.
                timeout = TIMEOUT if index == 0 else 0.0005
                leads.append(barrier.wait(timeout=timeout).is_leader)
            except TimeoutError:
                timeouts += 1
        return leads, timeouts

    results = run_concurrently(work, n)
    for i in range(generations):
        assert sum(leads[i] for leads, _ in results) == 1, f"generation {i}"
    assert barrier.statistics() == BarrierStatistics(parties=n, waiting=0, generation=generations)


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound) and asserts its invariant inside. ``arrived`` is an atomic, so counting
# arrivals is a switch point of its own right before each wait.


def test_explored_one_leader_per_generation_and_nobody_passes_early() -> None:
    n, generations = 2, 2

    def program() -> None:
        barrier = Barrier(n)
        arrived = AtomicInt(0)
        leaders = [AtomicInt(0) for _ in range(generations)]

        def work() -> None:
            for generation in range(generations):
                arrived.fetch_add(1)
                result = barrier.wait()
                # Every thread of this generation arrived before anyone passed.
                assert arrived.load() >= n * (generation + 1), "passed the barrier early"
                if result.is_leader:
                    leaders[generation].fetch_add(1)

        with scope() as s:
            for _ in range(n):
                s.spawn(work)
        assert [leader.load() for leader in leaders] == [1] * generations
        assert barrier.statistics() == BarrierStatistics(
            parties=n, waiting=0, generation=generations
        )

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 50


def test_explored_three_parties_elect_exactly_one_leader() -> None:
    def program() -> None:
        barrier = Barrier(3)
        leaders = AtomicInt(0)

        def work() -> None:
            if barrier.wait().is_leader:
                leaders.fetch_add(1)

        with scope() as s:
            for _ in range(3):
                s.spawn(work)
        assert leaders.load() == 1
        assert barrier.statistics() == BarrierStatistics(parties=3, waiting=0, generation=1)

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 20


def test_explored_a_timeout_racing_the_last_arrival_keeps_the_generation_exact() -> None:
    # Both deadlines fall at the same virtual instant, so the last arrival races the
    # first thread's timeout: either it was counted (and passes) or it withdrew (and its
    # retry completes the generation); never two leaders, never a stuck thread.
    outcomes: set[int] = set()

    def program() -> None:
        barrier = Barrier(2)
        leaders = AtomicInt(0)
        _tx, rx = channel[None]()

        def patient() -> None:
            timeouts = 0
            while True:
                try:
                    result = barrier.wait(timeout=1.0)
                except TimeoutError:
                    timeouts += 1
                    continue
                break
            if result.is_leader:
                leaders.fetch_add(1)
            outcomes.add(timeouts)

        def late() -> None:
            with pytest.raises(RecvTimeoutError):
                rx.recv(timeout=1.0)
            if barrier.wait().is_leader:
                leaders.fetch_add(1)

        with scope() as s:
            s.spawn(patient)
            s.spawn(late)
        assert leaders.load() == 1
        assert barrier.statistics() == BarrierStatistics(parties=2, waiting=0, generation=1)

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {0, 1}


def test_explored_negative_control_counting_then_reading_elects_two_leaders() -> None:
    # A hand-made "leader is whoever sees the count full" with a separate load: two
    # threads can both see it full; the explorer must find that schedule.
    def program() -> None:
        count = AtomicInt(0)
        leaders = AtomicInt(0)

        def work() -> None:
            count.fetch_add(1)
            if count.load() == 2:
                leaders.fetch_add(1)

        with scope() as s:
            s.spawn(work)
            s.spawn(work)
        assert leaders.load() == 1, f"{leaders.load()} leaders"

    with pytest.raises(ScheduleFailure, match="2 leaders"):
        explore(program, strategy="exhaustive", preemption_bound=2)
