"""The hand-inlined fast paths of Mutex and RwLock behave as the code they copy.

``Mutex.lock`` is checked against the shared steps it writes out inline
(``_mutex._lock_into`` and the refusal); ``MutexGuard.__exit__`` copies
``MutexGuard.unlock`` plus poisoning; each RwLock guard's ``__exit__`` copies
``RwLock._release`` for its kind. The copies stay inline because lock and
unlock are the library's hottest paths (no Python call there); these tests
run each path and its reference on the same situations and compare what
they leave: the state after release, poisoning, and a waiter woken.

The RwLock tests take the reference's objects (``reference(RwLock, ...)``):
its inline copies are what they check. The compiled twin's readers are
checked against the reference in ``test_native_rwlock.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from _helpers import TIMEOUT, Worker, reference, wait_until
from fearless import (
    ConsumedError,
    DeadlockError,
    Mutex,
    MutexGuard,
    PoisonError,
    RwLock,
    WouldBlockError,
)
from fearless._mutex import _MSG_DEADLOCK, _lock_into
from fearless._poison import CONSUMED, POISONED

# -- Mutex.lock and _mutex._lock_into ---------------------------------------------------


def _fast_lock(m: Mutex[Any], timeout: float | None) -> MutexGuard[Any]:
    return m.lock(timeout=timeout)


def _reference_lock(m: Mutex[Any], timeout: float | None) -> MutexGuard[Any]:
    # lock() spelled with the steps try_lock() and PoisonError.into_inner()
    # share (the mutexes here are free or held by this thread: no timeout).
    if m._is_owned():
        raise DeadlockError(_MSG_DEADLOCK)
    guard: MutexGuard[Any] = object.__new__(MutexGuard)
    guard._mutex = None
    _lock_into(guard, m, True)
    if m._trouble & (POISONED | CONSUMED):
        m._refuse(guard)
    return guard


LOCKS = pytest.mark.parametrize("take", [_fast_lock, _reference_lock], ids=["lock", "_lock_into"])


@LOCKS
@pytest.mark.parametrize("timeout", [None, TIMEOUT])
def test_mutex_lock_paths_take_the_lock_alike(
    take: Callable[[Mutex[Any], float | None], MutexGuard[Any]], timeout: float | None
) -> None:
    m = Mutex(1)
    guard = take(m, timeout)
    stats = m.statistics()
    assert stats.locked and not stats.waiting and not stats.poisoned
    with pytest.raises(DeadlockError):
        take(m, timeout)
    guard.unlock()
    assert not m.statistics().locked


@LOCKS
def test_mutex_lock_paths_refuse_poisoned_and_consumed_mutexes_alike(
    take: Callable[[Mutex[Any], float | None], MutexGuard[Any]],
) -> None:
    m = Mutex(1)
    with pytest.raises(RuntimeError), m.lock():
        raise RuntimeError
    with pytest.raises(PoisonError) as caught:
        take(m, None)
    assert not m.statistics().locked  # nothing held
    with caught.value.into_inner() as guard:
        assert guard.value == 1
    m.clear_poison()
    assert m.into_inner() == 1
    with pytest.raises(ConsumedError):
        take(m, None)
    assert not m.statistics().locked


# -- MutexGuard.__exit__ and MutexGuard.unlock -------------------------------------------


def _exit(guard: Any, failed: bool) -> None:
    if failed:
        guard.__exit__(RuntimeError, RuntimeError(), None)
    else:
        guard.__exit__(None, None, None)


def _mutex_unlock(guard: MutexGuard[Any], failed: bool) -> None:
    # unlock() never poisons; the Flag::done part of __exit__ is poisoning.
    mutex = guard._mutex
    assert mutex is not None
    guard.unlock()
    if failed and mutex._poison:
        mutex._trouble |= POISONED


MUTEX_RELEASES = pytest.mark.parametrize(
    "release", [_exit, _mutex_unlock], ids=["__exit__", "unlock"]
)


@MUTEX_RELEASES
@pytest.mark.parametrize("failed", [False, True])
@pytest.mark.parametrize("poison", [False, True])
def test_mutex_release_paths_leave_the_same_state(
    release: Callable[[Any, bool], None], failed: bool, poison: bool
) -> None:
    m = Mutex(0, poison=poison)
    guard = m.lock()
    release(guard, failed)
    assert m.statistics() == (False, None, 0, failed and poison)
    assert guard._mutex is None
    if not (failed and poison):
        m.try_lock().unlock()


@MUTEX_RELEASES
def test_mutex_release_paths_wake_a_waiter(release: Callable[[Any, bool], None]) -> None:
    m = Mutex(0)
    guard = m.lock()

    def waiter() -> int:
        with m.lock(timeout=TIMEOUT) as g:
            g.value += 1
            return int(g.value)

    worker = Worker(waiter)
    wait_until(lambda: m.statistics().waiting == 1, what="a thread blocked in lock()")
    release(guard, False)
    assert worker.join() == 1
    assert not m.statistics().locked


# -- RwLock guards' __exit__ and RwLock._release -----------------------------------------


def _rwlock_release(guard: Any, failed: bool) -> None:
    rwlock = guard._rwlock
    with rwlock._lock:
        rwlock._holder = guard._owner
        try:
            rwlock._release(guard, failed)
        finally:
            try:
                if rwlock._deferred:
                    rwlock._apply_deferred()
            finally:
                rwlock._holder = None


RWLOCK_RELEASES = pytest.mark.parametrize(
    "release", [_exit, _rwlock_release], ids=["__exit__", "_release"]
)
KINDS = pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])


def _snapshot(rw: RwLock[Any]) -> tuple[Any, ...]:
    return (
        tuple(rw.statistics()),
        rw._gate,
        rw._trouble,
        dict(rw._readers),
        rw._writer,
        rw._upgrader,
        rw._holder,
        list(rw._deferred),
    )


@RWLOCK_RELEASES
@KINDS
@pytest.mark.parametrize("failed", [False, True])
@pytest.mark.parametrize("poison", [False, True])
def test_rwlock_release_paths_leave_the_same_state(
    release: Callable[[Any, bool], None], kind: str, failed: bool, poison: bool
) -> None:
    rw = reference(RwLock, [1], poison=poison)
    # A read guard of this thread's that stays held (an upgradable read must
    # come first: a reader may not take one).
    other = rw.read() if kind == "read" else None
    guard = getattr(rw, kind)()
    if kind == "upgradable_read":
        other = rw.read()
    if kind == "write":
        guard.value = [2]
    release(guard, failed)
    poisoned = failed and poison and kind == "write"
    expected_readers = {} if other is None else {other._owner: 1}
    assert _snapshot(rw) == (
        (len(expected_readers), None, None, 0, 0, poisoned),
        POISONED if poisoned else 0,
        POISONED if poisoned else 0,
        expected_readers,
        None,
        None,
        None,
        [],
    )
    assert not hasattr(guard, "_value")
    assert guard._rwlock is None
    if other is not None:
        other.unlock()
    assert rw._readers == {}
    if not poisoned:
        assert rw.into_inner() == ([2] if kind == "write" else [1])


@RWLOCK_RELEASES
@pytest.mark.parametrize(
    ("kind", "blocked", "what"),
    [
        ("read", "write", "waiting_writers"),
        ("write", "read", "waiting_readers"),
        ("write", "write", "waiting_writers"),
        ("upgradable_read", "upgradable_read", "waiting_readers"),
    ],
)
def test_rwlock_release_paths_wake_a_waiter(
    release: Callable[[Any, bool], None], kind: str, blocked: str, what: str
) -> None:
    rw = reference(RwLock, 0)
    guard = getattr(rw, kind)()

    def waiter() -> int:
        with getattr(rw, blocked)(timeout=TIMEOUT) as g:
            return int(g.value)

    worker = Worker(waiter)
    wait_until(lambda: getattr(rw.statistics(), what) == 1, what=f"a thread blocked in {blocked}()")
    release(guard, False)
    assert worker.join() == 0
    stats = rw.statistics()
    assert (stats.readers, stats.writer, stats.upgradable) == (0, None, None)
    assert rw._gate == 0


# -- RwLock.read/write fast paths and RwLock._acquire_slow -------------------------------


def _rwlock_reference_take(rw: RwLock[Any], kind: str) -> Any:
    from fearless._rwlock_core import _READ, _WRITE, _get_ident, _new_guard
    from fearless._rwlock_guards import RwLockReadGuard, RwLockWriteGuard

    guard = _new_guard(RwLockReadGuard if kind == "read" else RwLockWriteGuard)
    guard._owner = _get_ident()
    if kind == "write":
        guard._then = None
    return rw._acquire_slow(guard, _READ if kind == "read" else _WRITE, None, False)


def _rwlock_outcome(
    take: Callable[[RwLock[Any], str], Any], kind: str, situation: str
) -> tuple[Any, ...]:
    rw = reference(RwLock, [1])
    held: list[Any] = []
    if situation == "read by this thread":
        held.append(rw.read())
    elif situation == "poisoned":
        with pytest.raises(RuntimeError), rw.write():
            raise RuntimeError
    elif situation == "written by this thread":
        held.append(rw.write())
    try:
        guard = take(rw, kind)
    except Exception as exc:
        outcome: tuple[Any, ...] = (type(exc), str(exc), _snapshot(rw))
    else:
        outcome = (type(guard), guard.value, _snapshot(rw))
        guard.unlock()
    for other in held:
        other.unlock()
    assert _snapshot(rw)[0][:3] == (0, None, None)
    return outcome


@pytest.mark.parametrize("kind", ["read", "write"])
@pytest.mark.parametrize(
    "situation", ["free", "read by this thread", "poisoned", "written by this thread"]
)
def test_rwlock_fast_paths_take_the_lock_as_the_slow_path_does(kind: str, situation: str) -> None:
    assert _rwlock_outcome(lambda rw, k: getattr(rw, k)(), kind, situation) == _rwlock_outcome(
        _rwlock_reference_take, kind, situation
    )


# -- RwLock._may_enter's consumed test and _poison.refuse_if_consumed --------------------


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
@pytest.mark.parametrize("consumed", [False, True])
def test_rwlock_admission_refuses_a_consumed_lock_as_refuse_if_consumed_does(
    kind: str, consumed: bool
) -> None:
    # _may_enter tests the consumed bit inline and calls the shared refusal
    # only when it is set: both must refuse, or both let the request on.
    from fearless import _poison
    from fearless._rwlock_core import _READ, _SAYS, _UPGRADABLE, _WRITE, _get_ident, _new_guard
    from fearless._rwlock_guards import (
        RwLockReadGuard,
        RwLockUpgradableReadGuard,
        RwLockWriteGuard,
    )

    rw = reference(RwLock, [1])
    if consumed:
        rw.into_inner()
    cls, code = {
        "read": (RwLockReadGuard, _READ),
        "write": (RwLockWriteGuard, _WRITE),
        "upgradable_read": (RwLockUpgradableReadGuard, _UPGRADABLE),
    }[kind]
    guard = _new_guard(cls)
    me = guard._owner = _get_ident()
    if kind != "read":
        guard._then = None

    def outcome(step: Callable[[], object]) -> tuple[Any, ...]:
        try:
            step()
        except ConsumedError as exc:
            return (ConsumedError, str(exc))
        return (None, None)

    expected = outcome(lambda: _poison.refuse_if_consumed(rw._trouble, _SAYS))
    with rw._lock:
        got = outcome(lambda: rw._may_enter(guard, code, me, False))
    assert got == expected
    if not consumed:
        assert guard._rwlock is rw  # let in: the lock was free
        guard.unlock()
        assert rw.into_inner() == [1]


# -- RwLock._admit_readers's grants and RwLock._grant -------------------------------------


def _admit_by_grant(rw: RwLock[Any]) -> None:
    # _admit_readers's reader loop spelled with _grant, the step it copies.
    from fearless._rwlock_core import _READ

    waiters = rw._read_waiters
    while waiters:
        if waiters[-1].abandoned:
            del waiters[-1]
        else:
            rw._grant(waiters, -1, _READ)


def _admitted(admit: Callable[[RwLock[Any]], None]) -> tuple[Any, ...]:
    from fearless._rwlock_core import _new_guard, _Waiter
    from fearless._rwlock_guards import RwLockReadGuard

    rw = reference(RwLock, [1])
    queued = []
    for ident, abandoned in [(101, False), (102, True), (103, False)]:
        guard = _new_guard(RwLockReadGuard)
        guard._owner = ident
        guard._rwlock = None
        waiter = _Waiter(ident, guard)
        waiter.abandoned = abandoned
        queued.append((waiter, guard))
        rw._read_waiters.append(waiter)
    with rw._lock:
        admit(rw)
    outcome = (
        dict(rw._readers),
        list(rw._read_waiters),
        [
            (
                waiter.granted,
                waiter.guard is None,
                not waiter.lock.locked(),
                getattr(guard, "_value", None),
                guard._rwlock is rw,
            )
            for waiter, guard in queued
        ],
    )
    for _, guard in queued:  # hand the grants back
        if guard._rwlock is rw:
            with rw._lock:
                rw._release(guard, False)
    assert rw._readers == {}
    return outcome


def test_rwlock_admit_readers_grants_as_grant_does() -> None:
    assert _admitted(lambda rw: rw._admit_readers()) == _admitted(_admit_by_grant)
    readers, left, grants = _admitted(lambda rw: rw._admit_readers())
    assert readers == {101: 1, 103: 1}
    assert left == []
    assert [g[0] for g in grants] == [True, False, True]


# -- Mutex.try_lock and Mutex._guard_if_free ---------------------------------------------


@pytest.mark.parametrize("holder", ["nobody", "this thread", "another thread"])
@pytest.mark.parametrize("poisoned", [False, True])
def test_mutex_try_lock_takes_a_guard_when_guard_if_free_does(holder: str, poisoned: bool) -> None:
    # try_lock() writes out _guard_if_free()'s steps, then refuses trouble.
    m = Mutex(1)
    if poisoned:
        with pytest.raises(RuntimeError), m.lock():
            raise RuntimeError
    held = m._lock_ignoring_poison() if holder == "this thread" else None
    release = threading.Event()

    def hold() -> None:
        with m._lock_ignoring_poison() as guard:
            assert guard.value == 1
            release.wait(TIMEOUT)

    worker = Worker(hold) if holder == "another thread" else None
    if worker is not None:
        wait_until(lambda: m.statistics().locked, what="the other thread to hold the mutex")
    guard = m._guard_if_free()
    assert (guard is None) == (holder != "nobody")
    if guard is not None:
        guard.unlock()
    if holder != "nobody":
        with pytest.raises(WouldBlockError):
            m.try_lock()
    elif poisoned:
        with pytest.raises(PoisonError):
            m.try_lock()
    else:
        m.try_lock().unlock()
    assert m.statistics().locked == (holder != "nobody")
    release.set()
    if worker is not None:
        worker.join()
    if held is not None:
        held.unlock()
    assert not m.statistics().locked
