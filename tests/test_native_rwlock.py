"""The compiled RwLock (``fearless._native.RwLockCore``) against the reference.

While no writer holds or waits for the lock, the compiled twin's ``read()``
and ``try_read()`` count the reader into one atomic word and hand out a
compiled read guard, taking no lock; everything else is the reference's own
code on the same object. What must hold: the twin passes for the public
types, both implementations agree on every operation (the differential
property test), fast readers really overlap, every deadlock check and
reentrant read sees them, nothing is lost under contention on the
free-threaded build, memory stays flat, and the explorer gets the reference.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _helpers import STRESS, TIMEOUT, Worker, reference, run_concurrently, wait_until
from _native_helpers import (
    assert_copies_refused_alike,
    assert_memory_flat,
    compiled,
    made_under_explore,
    needs_core,
)
from fearless import (
    ConsumedError,
    DeadlockError,
    GuardReleasedError,
    PoisonError,
    RwLock,
    RwLockReadGuard,
    RwLockStatistics,
    WouldBlockError,
    WrongThreadError,
)

pytestmark = needs_core

IDLE = RwLockStatistics(0, None, None, 0, 0, False)


def _home(guard: Any) -> object:
    """The lock a guard holds, or None once released."""
    return guard._rwlock


def test_a_compiled_rwlock_and_read_guard_pass_for_the_public_types() -> None:
    rw: Any = RwLock([1])
    ref = reference(RwLock, [1])
    assert compiled(rw) and not compiled(ref)
    assert isinstance(rw, RwLock) and issubclass(type(rw), RwLock)
    assert (type(rw).__name__, type(rw).__module__) == ("RwLock", "fearless")
    assert repr(rw) == repr(ref) == "RwLock([1])"
    typed: RwLock[int] = RwLock[int](0)
    with typed.read() as typed_guard:
        assert typed_guard.value == 0
    guard: Any = rw.read()
    reference_guard = ref.read()
    assert compiled(guard) and not compiled(reference_guard)
    assert isinstance(guard, RwLockReadGuard)
    assert (type(guard).__name__, type(guard).__module__) == ("RwLockReadGuard", "fearless")
    assert repr(guard) == repr(reference_guard) == "<RwLockReadGuard value=[1]>"
    assert _home(guard) is rw and guard._owner == threading.get_ident()
    with pytest.raises(TypeError, match="no public constructor"):
        type(guard)()
    with pytest.raises(TypeError, match="no public constructor"):
        RwLockReadGuard()
    assert_copies_refused_alike((rw, ref), (guard, reference_guard))
    value_errors: list[Callable[[Any], None]] = [
        lambda g: setattr(g, "value", 2),
        lambda g: delattr(g, "value"),
    ]
    for value_error in value_errors:
        with pytest.raises(AttributeError) as native_refusal:
            value_error(guard)
        with pytest.raises(AttributeError) as reference_refusal:
            value_error(reference_guard)
        assert str(native_refusal.value) == str(reference_refusal.value)
    reference_guard.unlock()
    guard.unlock()
    assert repr(guard) == "<RwLockReadGuard (released)>"
    assert _home(guard) is None
    with pytest.raises(GuardReleasedError) as released:
        guard.value  # noqa: B018 - the access is the test
    with pytest.raises(GuardReleasedError) as reference_released:
        reference_guard.value  # noqa: B018
    assert str(released.value) == str(reference_released.value)
    assert RwLockReadGuard.unlock is not None  # the class's methods still resolve
    assert weakref.ref(rw)() is rw


# -- the differential property test ---------------------------------------------------
#
# One thread: no request ever blocks (a request this thread could never get
# is a DeadlockError), so every operation with and without a timeout runs.


def _rwlock_ops() -> st.SearchStrategy[list[tuple[str, int]]]:
    op = st.sampled_from(
        [
            "read",
            "read_timeout",
            "try_read",
            "write",
            "write_timeout",
            "try_write",
            "upgradable",
            "recover",
            "upgrade",
            "downgrade",
            "unlock",
            "exit_ok",
            "exit_failing",
            "get",
            "set",
            "enter",
            "drop",
            "into_inner",
            "clear_poison",
            "is_poisoned",
            "statistics",
            "repr",
        ]
    )
    return st.lists(st.tuples(op, st.integers(0, 9)), max_size=30)


_TAKE: dict[str, Callable[[Any], Any]] = {
    "read": lambda rw: rw.read(),
    "read_timeout": lambda rw: rw.read(timeout=0),
    "try_read": lambda rw: rw.try_read(),
    "write": lambda rw: rw.write(),
    "write_timeout": lambda rw: rw.write(timeout=0),
    "try_write": lambda rw: rw.try_write(),
    "upgradable": lambda rw: rw.upgradable_read(timeout=0),
}

_ON_RWLOCK: dict[str, Callable[[Any], Any]] = {
    "into_inner": lambda rw: rw.into_inner(),
    "clear_poison": lambda rw: rw.clear_poison(),
    "is_poisoned": lambda rw: rw.is_poisoned(),
    "statistics": lambda rw: tuple(rw.statistics()),
    "repr": repr,
}


def _set(g: Any, n: int) -> str:
    g.value = n
    return repr(g)


def _change(g: Any, method: str, guards: list[Any]) -> str:
    change = getattr(g, method, None)
    if change is None:
        return "n/a"
    new = change(timeout=0) if method == "upgrade" else change()
    guards.append(new)
    return repr(new)


_ON_GUARD: dict[str, Callable[[Any, int, list[Any]], Any]] = {
    "upgrade": lambda g, n, guards: _change(g, "upgrade", guards),
    "downgrade": lambda g, n, guards: _change(g, "downgrade", guards),
    "unlock": lambda g, n, guards: g.unlock(),
    "exit_ok": lambda g, n, guards: g.__exit__(None, None, None),
    "exit_failing": lambda g, n, guards: g.__exit__(RuntimeError, RuntimeError("x"), None),
    "get": lambda g, n, guards: g.value,
    "set": lambda g, n, guards: _set(g, n),
    "enter": lambda g, n, guards: repr(g.__enter__()),
}


def _recover(rw: Any) -> Any:
    try:
        return rw.read(timeout=0)
    except PoisonError as error:
        return error.into_inner()


def _step(rw: Any, guards: list[Any], op: str, n: int) -> tuple[str, Any]:
    """One step on ``rw`` and its guards; its outcome, comparable across implementations."""
    errors = (
        AttributeError,
        ConsumedError,
        DeadlockError,
        GuardReleasedError,
        PoisonError,
        TimeoutError,
        WouldBlockError,
    )
    try:
        if op in _TAKE or op == "recover":
            g = _recover(rw) if op == "recover" else _TAKE[op](rw)
            guards.append(g)
            return "ok", repr(g)
        if op in _ON_RWLOCK:
            return "ok", _ON_RWLOCK[op](rw)
        if not guards:
            return "no guard", None
        g = guards[n % len(guards)]
        if op == "drop":
            # The last reference goes: both implementations release the
            # guard at once, by reference counting, without a collection
            # (which would hide a reference cycle one of them made).
            guards.remove(g)
            del g
            return "ok", "dropped"
        return "ok", _ON_GUARD[op](g, n, guards)
    except errors as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=300 * min(STRESS, 3), deadline=None)
@given(ops=_rwlock_ops(), poison=st.booleans())
def test_both_rwlocks_agree_on_every_operation(ops: list[tuple[str, int]], poison: bool) -> None:
    native: Any = RwLock(0, poison=poison)
    expected = reference(RwLock, 0, poison=poison)
    assert compiled(native)
    native_guards: list[Any] = []
    expected_guards: list[Any] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # dropped guards warn, both alike
        for op, n in ops:
            got = _step(native, native_guards, op, n)
            want = _step(expected, expected_guards, op, n)
            assert got == want, (op, n)
            assert repr(native) == repr(expected), (op, n)
            assert native.statistics() == expected.statistics(), (op, n)
        for guards in (native_guards, expected_guards):
            for g in reversed(guards):
                g.__exit__(None, None, None)
    assert native.statistics() == expected.statistics()


# -- fast readers and the reference's checks -----------------------------------------


def test_compiled_readers_hold_the_lock_at_the_same_time() -> None:
    # Both readers hold a guard when they meet at the barrier: an exclusive
    # lock would time the barrier out.
    rw = RwLock(7)
    both = threading.Barrier(2, timeout=TIMEOUT)
    kinds: list[bool] = []

    def read(index: int) -> int:
        with rw.read() as g:
            kinds.append(compiled(g))
            both.wait()
            return int(g.value)

    assert run_concurrently(read, 2) == [7, 7]
    assert kinds == [True, True]
    assert rw.statistics() == IDLE


def test_every_request_that_would_deadlock_sees_this_threads_fast_reads() -> None:
    rw = RwLock(0)
    ref = reference(RwLock, 0)
    for lock in (rw, ref):
        with lock.upgradable_read() as u, lock.read() as r:
            assert compiled(r) == (lock is rw)
            with pytest.raises(DeadlockError) as raised:
                u.upgrade()
            assert "still holds read guards" in str(raised.value)
    outcomes: list[list[str]] = []
    for lock in (rw, ref):
        seen = []
        with lock.read():
            for request in (lock.write, lock.upgradable_read, lambda lk=lock: lk.write(timeout=5)):
                with pytest.raises(DeadlockError) as raised:
                    request()
                seen.append(str(raised.value))
            with pytest.raises(WouldBlockError):
                lock.try_write()
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert rw.statistics() == ref.statistics() == IDLE


def test_a_fast_reader_reads_again_while_a_writer_waits() -> None:
    # Writer preference turns new readers away, but not a thread that holds
    # a read already: making it wait for the writer, who waits for it,
    # would deadlock. The second read is the reference's (the gate is up).
    rw = RwLock(0)
    first = rw.read()
    assert compiled(first)

    def write() -> int:
        with rw.write(timeout=TIMEOUT) as g:
            g.value += 1
            return int(g.value)

    writer = Worker(write)
    wait_until(lambda: rw.statistics().waiting_writers == 1, what="the writer to queue")
    with rw.read() as again, rw.try_read() as third:
        assert not compiled(again) and not compiled(third)
        assert rw.statistics().readers == 3
    assert rw.statistics().waiting_writers == 1
    first.unlock()  # the last reader: it hands the lock to the writer
    assert writer.join() == 1
    assert rw.statistics() == IDLE


def test_a_reader_waiting_at_the_gate_is_refused_when_the_writer_poisons() -> None:
    # A reader that meets a writer first sleeps in C until the gate comes
    # down; poisoning wakes it too, and the reference's path refuses it.
    rw = RwLock(0)
    about_to_read = threading.Event()

    def read() -> str:
        about_to_read.set()
        try:
            rw.read().unlock()
        except PoisonError as exc:
            return type(exc).__name__
        return "read"

    with pytest.raises(ValueError, match="the writer fails"), rw.write() as writer:
        reader = Worker(read)
        assert about_to_read.wait(TIMEOUT)
        writer.value = 1
        raise ValueError("the writer fails")
    assert reader.join() == "PoisonError"
    assert rw.is_poisoned() and rw.statistics().waiting_readers == 0


def test_more_locks_than_a_threads_slots_take_the_reference_path() -> None:
    # Each thread keeps its fast reads of up to 8 locks in thread-local
    # slots; reads of further locks are the reference's, and every check
    # still holds for all of them.
    locks = [RwLock(i) for i in range(12)]
    guards = [lock.read() for lock in locks]
    assert [compiled(g) for g in guards] == [True] * 8 + [False] * 4
    for lock, g in zip(locks, guards, strict=True):
        assert g.value == locks.index(lock)
        with pytest.raises(DeadlockError):
            lock.write()
    for g in guards:
        g.unlock()
    assert all(lock.statistics() == IDLE for lock in locks)
    again = [lock.try_read() for lock in locks[:8]]
    assert all(compiled(g) for g in again)  # the slots are free again
    for g in again:
        g.unlock()


def test_a_fast_guard_is_the_thread_that_took_it() -> None:
    rw = RwLock(0)
    guard = rw.read()
    outcome: list[str] = []

    def elsewhere() -> None:
        assert guard.value == 0  # reading is allowed; releasing is not
        for release in (guard.unlock, lambda: guard.__exit__(None, None, None)):
            try:
                release()
            except WrongThreadError as exc:
                outcome.append(str(exc))

    t = threading.Thread(target=elsewhere)
    t.start()
    t.join(TIMEOUT)
    assert outcome == ["this guard belongs to the thread that acquired it; release it there"] * 2
    assert rw.statistics().readers == 1
    guard.unlock()
    assert rw.statistics() == IDLE


def test_a_fast_guard_dropped_on_another_thread_leaves_the_lock_read_locked() -> None:
    rw = RwLock(0)
    handed: list[Any] = []
    got, finalised = threading.Event(), threading.Event()

    def owner() -> None:
        handed.append(rw.read())
        got.set()
        assert finalised.wait(TIMEOUT)
        with pytest.raises(DeadlockError):  # this thread's fast read is still counted
            rw.write()
        handed.pop().unlock()  # still held: its own thread releases it, as it may

    worker = Worker(owner)
    assert got.wait(TIMEOUT)
    guard = handed.pop()
    # Run its finaliser here, where it runs when the last reference is
    # dropped on this thread (on the free-threaded build the interpreter may
    # hand a dropped object back to its creating thread instead, so dropping
    # the reference would not say which thread finalises it).
    with pytest.warns(ResourceWarning) as record:
        guard.__del__()
    assert len(record) == 1
    assert "garbage-collected on another thread; the rwlock stays locked" in str(record[0].message)
    assert rw.statistics().readers == 1
    handed.append(guard)
    del guard
    finalised.set()
    worker.join()  # re-raises what failed on the owner's thread
    assert rw.statistics() == IDLE


def test_into_inner_refuses_while_a_fast_reader_holds() -> None:
    rw = RwLock([1])
    guard = rw.read()
    with pytest.raises(WouldBlockError, match="into_inner"):
        rw.into_inner()
    with rw.try_read() as probe:
        assert compiled(probe), "the refusal lowered the gate again"
    guard.unlock()
    assert rw.into_inner() == [1]
    with pytest.raises(ConsumedError):
        rw.read()


# -- contention -----------------------------------------------------------------------


@pytest.mark.stress
def test_compiled_readers_never_see_a_half_done_write_and_no_write_is_lost() -> None:
    threads, rounds = 4, 3_000 * STRESS
    rw = RwLock([0, 0])
    torn: list[tuple[int, int]] = []

    def work(index: int) -> int:
        writes = 0
        for i in range(rounds):
            kind = (i + index) % 10
            if kind == 0:
                with rw.write(timeout=TIMEOUT) as w:
                    w.value = [w.value[0] + 1, w.value[1] + 1]
                writes += 1
            elif kind == 1:
                with rw.upgradable_read() as u:
                    if u.value[0] % 2 == 0:
                        with u.upgrade(timeout=TIMEOUT) as w:
                            w.value = [w.value[0] + 1, w.value[1] + 1]
                        writes += 1
            else:
                take = rw.try_read if kind == 2 else rw.read
                try:
                    g = take()
                except WouldBlockError:
                    continue
                with g:
                    a, b = g.value
                    if a != b:
                        torn.append((a, b))
        return writes

    writes = sum(run_concurrently(work, threads))
    assert torn == []
    assert rw.statistics() == IDLE
    assert rw.into_inner() == [writes, writes]


@pytest.mark.stress
def test_writers_get_in_between_streams_of_fast_readers() -> None:
    # Readers re-take the lock back to back; each writer must still get in
    # (writer preference): the gate turns new fast readers away.
    rw = RwLock(0)
    stop = threading.Event()
    rounds = 200 * STRESS

    def read(index: int) -> int:
        reads = 0
        while not stop.is_set():
            with rw.read() as g:
                reads += g.value >= 0
        return reads

    readers = [Worker(read, i) for i in range(2)]
    try:
        for _ in range(rounds):
            with rw.write(timeout=TIMEOUT) as w:
                w.value += 1
    finally:
        stop.set()
    assert all(r.join() > 0 for r in readers)
    assert rw.into_inner() == rounds


def test_a_million_fast_read_cycles_leave_memory_flat() -> None:
    rw = RwLock([1, 2, 3])

    def cycle() -> None:
        with rw.read() as g:
            g.value  # noqa: B018 - the access is the cycle

    assert_memory_flat(cycle)
    assert rw.statistics() == IDLE


def test_the_explorer_gets_the_reference_rwlock() -> None:
    def use(rw: Any) -> None:
        with rw.read() as r:
            assert r.value >= 0
        with rw.write() as w:
            w.value += 1

    made = made_under_explore(lambda: RwLock(0), use)
    assert all(not compiled(rw) and rw.into_inner() == 2 for rw in made)
