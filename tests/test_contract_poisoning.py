"""The poisoning contract, once, over ``Mutex`` and ``RwLock`` (DESIGN.md, "Mutex[T]", "RwLock[T]").

A guard that can write -- a ``MutexGuard``, an ``RwLockWriteGuard`` taken by
``write()`` or made by ``upgrade()`` -- poisons its lock when its ``with``
block exits by any exception (``KeyboardInterrupt`` and ``SystemExit``
included), and the exception propagates unchanged; guards that only read
never poison, nor does a block that released its guard before failing, nor
a lock built with ``poison=False``. A poisoned lock refuses every acquire
with ``PoisonError``, holding nothing, until ``clear_poison()``; the error's
``into_inner()`` acquires anyway and returns what the refused call would
have returned. ``into_inner()`` of a poisoned lock consumes it all the same
and its error gives the value. Failures on other threads poison for every
thread, including threads already blocked in an acquire; under
``fearless.testing.explore`` every interleaving of a failing block and a
later acquire (within two preemptions) shows the poison exactly to the
acquires that came after the failure.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from _contracts import (
    FAMILIES,
    GUARD_KINDS,
    MUTEX,
    GuardKind,
    Held,
    LockFamily,
    each_family,
    on_other_thread,
)
from _helpers import TIMEOUT, Worker, wait_until
from fearless import (
    Condvar,
    ConsumedError,
    GuardReleasedError,
    PoisonError,
    scope,
    spawn,
)
from fearless.testing import explore


class Boom(Exception):
    pass


POISONING = {name: kind for name, kind in GUARD_KINDS.items() if kind.poisons}
NOT_POISONING = {name: kind for name, kind in GUARD_KINDS.items() if not kind.poisons}

each_poisoning_kind = pytest.mark.parametrize("kind", POISONING.values(), ids=POISONING.keys())

#: Every exception a block may exit by: all of them poison.
FAILURES: dict[str, type[BaseException]] = {
    "Exception": Boom,
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": SystemExit,
}

ACQUIRES = [
    pytest.param(family, name, id=f"{family.name}.{name}")
    for family in FAMILIES.values()
    for name in family.acquires
]

#: A poisoning kind and a blocking acquire of the same lock, for waiters.
BLOCKED = [
    pytest.param(kind, name, id=f"{kind_name}-then-{name}")
    for kind_name, kind in POISONING.items()
    for name in kind.family.acquires
    if not name.startswith("try_")
]


def poisoned_family(family: LockFamily) -> Any:
    """A lock of ``family`` poisoned by a failing exclusive block that appended 2."""
    lock = family.make([1])
    with pytest.raises(Boom), family.acquires[family.exclusive](lock) as guard:
        guard.value.append(2)
        raise Boom
    return lock


# -- what poisons -------------------------------------------------------------------


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
@each_poisoning_kind
def test_a_failing_writing_block_poisons_and_propagates_the_same_exception(
    kind: GuardKind, failure: type[BaseException]
) -> None:
    lock = kind.make([1])
    error = failure()
    with pytest.raises(failure) as raised, kind.take(lock) as guard:
        guard.value.append(2)
        raise error
    assert raised.value is error
    assert lock.is_poisoned()
    assert lock.statistics().poisoned
    assert repr(lock) == f"{kind.family.name}([1, 2], poisoned=True)"
    assert kind.family.free(lock), "a failing block releases the lock"


@pytest.mark.parametrize("kind", NOT_POISONING.values(), ids=NOT_POISONING.keys())
def test_a_failing_block_that_could_not_write_never_poisons(kind: GuardKind) -> None:
    lock = kind.make([1])
    with pytest.raises(Boom), kind.take(lock):
        raise Boom
    assert not lock.is_poisoned()
    assert not lock.statistics().poisoned
    assert kind.family.free(lock)


@each_poisoning_kind
def test_a_block_that_released_its_guard_before_failing_does_not_poison(
    kind: GuardKind,
) -> None:
    lock = kind.make([1])
    with pytest.raises(Boom), kind.take(lock) as guard:
        guard.unlock()
        raise Boom
    assert not lock.is_poisoned()


@each_poisoning_kind
def test_a_lock_built_with_poison_false_never_poisons(kind: GuardKind) -> None:
    lock = kind.family.make([1], poison=False)
    with pytest.raises(Boom), kind.take(lock) as guard:
        guard.value.append(2)
        raise Boom
    assert not lock.is_poisoned()
    for acquire in kind.family.acquires.values():
        with acquire(lock) as again:
            assert again.value == [1, 2]


# -- what a poisoned lock does ----------------------------------------------------------


@pytest.mark.parametrize(("family", "name"), ACQUIRES)
def test_every_acquire_of_a_poisoned_lock_refuses_holding_nothing(
    family: LockFamily, name: str
) -> None:
    lock = poisoned_family(family)
    with pytest.raises(PoisonError) as raised:
        family.acquires[name](lock)
    assert str(raised.value) == family.poisoned
    assert family.free(lock)
    assert family.waiting(lock) == 0
    # The refusal is seen from every thread.
    error = on_other_thread(lambda: pytest.raises(PoisonError, family.acquires[name], lock).value)
    assert str(error) == family.poisoned


@pytest.mark.parametrize(("family", "name"), ACQUIRES)
def test_poison_error_into_inner_gives_the_guard_the_call_refused(
    family: LockFamily, name: str
) -> None:
    healthy = family.acquires[name](family.make(0))
    # The public class: a compiled RwLock's readers get the compiled guard
    # while the gate is down, the reference's otherwise (a poisoned lock's).
    expected = getattr(type(healthy), "_native_public", type(healthy))
    healthy.unlock()
    lock = poisoned_family(family)
    with pytest.raises(PoisonError) as raised:
        family.acquires[name](lock)
    guard = raised.value.into_inner()
    assert isinstance(guard, expected)  # the class or its compiled twin (tests/test_native.py)
    assert type(guard).__name__ == expected.__name__
    assert guard.value == [1, 2], "the value as the failing block left it"
    assert not family.free(lock)
    guard.unlock()
    assert lock.is_poisoned(), "recovering does not clear the poison"
    assert family.free(lock)


@each_family
def test_clear_poison_makes_every_acquire_work_again(family: LockFamily) -> None:
    lock = poisoned_family(family)
    assert lock.is_poisoned()
    lock.clear_poison()
    assert not lock.is_poisoned()
    assert not lock.statistics().poisoned
    assert repr(lock) == f"{family.name}([1, 2])"
    for acquire in family.acquires.values():
        with acquire(lock) as guard:
            assert guard.value == [1, 2]


@each_family
def test_into_inner_of_a_poisoned_lock_consumes_it_and_its_error_gives_the_value(
    family: LockFamily,
) -> None:
    lock = poisoned_family(family)
    with pytest.raises(PoisonError) as refused_before:
        family.acquires[family.try_exclusive](lock)
    with pytest.raises(PoisonError) as raised:
        lock.into_inner()
    assert str(raised.value) == family.poisoned
    assert raised.value.into_inner() == [1, 2]
    assert repr(lock) == f"{family.name}(<consumed>)"
    uses = {**family.acquires, "clear_poison": None, "into_inner": None}
    for name, acquire in uses.items():
        with pytest.raises(ConsumedError) as consumed:
            acquire(lock) if acquire is not None else getattr(lock, name)()
        assert str(consumed.value) == family.consumed, name
    # An error raised before the lock was consumed cannot get it back either.
    with pytest.raises(ConsumedError) as late:
        refused_before.value.into_inner()
    assert str(late.value) == family.consumed


# -- across threads ---------------------------------------------------------------


@each_poisoning_kind
def test_a_spawned_thread_that_fails_holding_the_lock_poisons_it_for_everyone(
    kind: GuardKind,
) -> None:
    lock = kind.make([1])
    error = Boom("in the thread")

    def fail() -> None:
        with kind.take(lock) as guard:
            guard.value.append(2)
            raise error

    handle = spawn(fail)
    with pytest.raises(Boom) as raised:
        handle.join(timeout=TIMEOUT)
    assert raised.value is error
    assert lock.is_poisoned()
    for acquire in kind.family.acquires.values():
        with pytest.raises(PoisonError) as refused:
            acquire(lock)
        assert str(refused.value) == kind.family.poisoned
    assert kind.family.free(lock)


@pytest.mark.parametrize(("kind", "name"), BLOCKED)
def test_a_thread_blocked_in_an_acquire_sees_the_poison_of_the_holder_it_waited_for(
    kind: GuardKind, name: str
) -> None:
    lock = kind.make([1])
    acquire = kind.family.acquires[name]

    def blocked() -> BaseException | None:
        try:
            acquire(lock).unlock()
        except PoisonError as error:
            return error
        return None

    with pytest.raises(Boom), kind.take(lock) as guard:
        waiter = Worker(blocked)
        wait_until(lambda: kind.family.waiting(lock) == 1, what="the waiter to block")
        guard.value.append(2)
        raise Boom
    error = waiter.join()
    assert isinstance(error, PoisonError)
    assert str(error) == kind.family.poisoned
    assert kind.family.free(lock)
    assert kind.family.waiting(lock) == 0


def test_a_condvar_waiter_sees_the_poison_of_a_notifier_that_failed() -> None:
    # Condvar.wait: "PoisonError: The mutex was poisoned while this thread
    # waited. The guard is released; the error's into_inner() returns a new
    # guard."
    mutex, cv = MUTEX.make([1]), Condvar()
    waiting = threading.Event()

    def notify_and_fail() -> None:
        assert waiting.wait(TIMEOUT)
        wait_until(lambda: cv.statistics().waiting == 1, what="the waiter to sleep")
        with pytest.raises(Boom), mutex.lock() as guard:
            guard.value.append(2)
            cv.notify_all()
            raise Boom

    notifier = Worker(notify_and_fail)
    guard = mutex.lock()
    waiting.set()
    with pytest.raises(PoisonError) as raised:
        cv.wait_while(guard, lambda value: len(value) < 2, timeout=TIMEOUT)
    notifier.join()
    assert str(raised.value) == MUTEX.poisoned
    with pytest.raises(GuardReleasedError):
        _ = guard.value
    assert MUTEX.free(mutex)
    with raised.value.into_inner() as recovered:
        assert recovered.value == [1, 2]


@each_family
def test_poison_set_on_one_thread_is_cleared_for_every_thread(family: LockFamily) -> None:
    lock = poisoned_family(family)
    on_other_thread(lock.clear_poison)
    assert not lock.is_poisoned()
    with Held(lambda: family.acquires[family.exclusive](lock)) as held:
        assert held.guard.value == [1, 2]


# -- explored: every interleaving of a failure and a later acquire ------------------


@pytest.mark.parametrize(("kind", "name"), BLOCKED)
def test_explored_poison_is_seen_by_exactly_the_acquires_after_the_failure(
    kind: GuardKind, name: str
) -> None:
    outcomes: set[str] = set()
    acquire = kind.family.acquires[name]

    def program() -> None:
        lock = kind.make([])

        def fail() -> None:
            with pytest.raises(Boom), kind.take(lock) as guard:
                guard.value.append("failed")
                raise Boom

        def later() -> None:
            try:
                guard = acquire(lock)
            except PoisonError as error:
                with error.into_inner() as guard:
                    assert guard.value == ["failed"], "poisoned before the failure"
                    guard.value.append("saw poison")
                return
            with guard:
                assert guard.value == [], "acquired after the failure without seeing the poison"
                guard.value.append("clean")

        with scope() as s:
            s.spawn(fail)
            s.spawn(later)
        assert lock.is_poisoned()
        with pytest.raises(PoisonError) as caught:
            lock.into_inner()
        outcomes.add(" then ".join(caught.value.into_inner()))

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {"failed then saw poison", "clean then failed"}
