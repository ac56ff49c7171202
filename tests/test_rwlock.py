"""Contract tests for RwLock[T] and its guards (DESIGN.md, "RwLock[T]")."""

from __future__ import annotations

import _thread
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pytest

from _helpers import STRESS, TIMEOUT, Worker, run_concurrently, wait_until
from fearless import (
    ConsumedError,
    DeadlockError,
    GuardReleasedError,
    PoisonError,
    RwLock,
    RwLockReadGuard,
    RwLockStatistics,
    RwLockUpgradableReadGuard,
    RwLockWriteGuard,
    WouldBlockError,
    WrongThreadError,
    _seam,
    scope,
)
from fearless.atomic import AtomicInt
from fearless.testing import ScheduleFailure, explore

MSG_POISONED = (
    r"^rwlock is poisoned: a thread failed while holding it for writing; call "
    r"into_inner\(\) on this error to use the data anyway, or clear_poison\(\)$"
)
MSG_CONSUMED = r"^this rwlock was consumed by into_inner\(\); it cannot be used any more$"
MSG_WOULD_BLOCK_READ = (
    r"^rwlock is write-locked or a writer is waiting; try again later or call read\(\) to wait$"
)
MSG_WOULD_BLOCK_WRITE = r"^rwlock is locked; try again later or call write\(\) to wait for it$"
MSG_LOCKED_INTO_INNER = r"^rwlock is locked; into_inner\(\) needs every guard released first$"
MSG_RELEASED = (
    r"^this guard was released; call read\(\), write\(\) or upgradable_read\(\) on the "
    r"rwlock to get a new guard$"
)
MSG_DOWNGRADED = (
    r"^this write guard was downgraded; use the read guard that downgrade\(\) returned$"
)
MSG_UPGRADED = (
    r"^this upgradable guard was upgraded; use the write guard that upgrade\(\) returned$"
)
MSG_WRONG_THREAD = r"^this guard belongs to the thread that acquired it; release it there$"
MSG_WRONG_THREAD_CHANGE = (
    r"^this guard belongs to the thread that acquired it; upgrade or downgrade it there$"
)
MSG_READ_WHILE_WRITING = (
    r"^rwlock is write-locked by this thread; reading it too would deadlock "
    r"\(downgrade\(\) the write guard instead\)$"
)
MSG_WRITE_WHILE_READING = (
    r"^rwlock is read-locked by this thread; writing would deadlock "
    r"\(release the read guards first, or use upgradable_read\(\) and upgrade\(\)\)$"
)
MSG_WRITE_WHILE_WRITING = (
    r"^rwlock is already write-locked by this thread; locking it again would deadlock$"
)
MSG_WRITE_WHILE_UPGRADABLE = (
    r"^this thread holds an upgradable read of this rwlock; write\(\) would deadlock "
    r"\(call upgrade\(\) on that guard instead\)$"
)
MSG_UPGRADABLE_WHILE_WRITING = (
    r"^rwlock is write-locked by this thread; an upgradable read would deadlock "
    r"\(downgrade\(\) the write guard instead\)$"
)
MSG_UPGRADABLE_TWICE = (
    r"^this thread already holds an upgradable read of this rwlock; "
    r"a second one would deadlock$"
)
MSG_UPGRADABLE_WHILE_READING = (
    r"^rwlock is read-locked by this thread; an upgradable read could never be upgraded "
    r"\(release the read guards first\)$"
)
MSG_UPGRADE_WHILE_READING = (
    r"^this thread still holds read guards of this rwlock; upgrading would wait for them "
    r"forever \(release them first\)$"
)
MSG_TIMEOUT_MISUSE = r"^timeout must be a non-negative number of seconds"

Kind = Literal["read", "write", "upgradable_read"]


class Boom(Exception):
    pass


def stats(rw: RwLock[Any]) -> RwLockStatistics:
    return rw.statistics()


def idle(rw: RwLock[Any], poisoned: bool = False) -> RwLockStatistics:
    """Nothing held, nobody waiting."""
    return RwLockStatistics(0, None, None, 0, 0, poisoned)


def acquire(rw: RwLock[Any], kind: Kind) -> Any:
    if kind == "read":
        return rw.read()
    if kind == "write":
        return rw.write()
    return rw.upgradable_read()


@contextmanager
def held_elsewhere(rw: RwLock[Any], kind: Kind) -> Iterator[Worker]:
    """Another thread holds ``kind`` of ``rw`` for the duration of the block."""
    acquired, release = threading.Event(), threading.Event()

    def hold() -> None:
        with acquire(rw, kind):
            acquired.set()
            assert release.wait(TIMEOUT)

    worker = Worker(hold)
    try:
        assert acquired.wait(TIMEOUT)
        yield worker
    finally:
        release.set()
        worker.join()


def poison(rw: RwLock[Any]) -> None:
    with pytest.raises(Boom), rw.write():
        raise Boom


# -- guards --------------------------------------------------------------------


def test_read_returns_a_read_guard() -> None:
    rw = RwLock(41)
    guard = rw.read()
    assert isinstance(guard, RwLockReadGuard)
    assert guard.value == 41
    assert stats(rw).readers == 1
    guard.unlock()
    assert stats(rw) == idle(rw)


def test_write_returns_a_write_guard_that_writes_back() -> None:
    rw = RwLock([1])
    guard = rw.write()
    assert isinstance(guard, RwLockWriteGuard)
    assert stats(rw).writer == threading.get_ident()
    guard.value.append(2)
    guard.value = [*guard.value, 3]
    guard.unlock()
    assert stats(rw) == idle(rw)
    with rw.write() as g:
        g.value += [4]
    with rw.read() as r:
        assert r.value == [1, 2, 3, 4]


def test_upgradable_read_returns_an_upgradable_guard() -> None:
    rw = RwLock("v")
    with rw.upgradable_read() as guard:
        assert isinstance(guard, RwLockUpgradableReadGuard)
        assert guard.value == "v"
        assert stats(rw) == RwLockStatistics(0, None, threading.get_ident(), 0, 0, False)
    assert stats(rw) == idle(rw)


def test_enter_returns_the_guard_itself() -> None:
    rw = RwLock(0)
    for kind in ("read", "write", "upgradable_read"):
        guard = acquire(rw, kind)
        with guard as entered:
            assert entered is guard


MSG_READ_ONLY = (
    r"^this guard gives read-only access; use a write guard \(write\(\) or upgrade\(\)\) "
    r"to assign the value$"
)


@pytest.mark.parametrize("kind", ["read", "upgradable_read"])
def test_shared_guards_value_is_read_only_at_run_time_too(kind: Kind) -> None:
    rw = RwLock(1)
    with acquire(rw, kind) as guard:
        with pytest.raises(AttributeError, match=MSG_READ_ONLY):
            guard.value = 2
        with pytest.raises(AttributeError, match=MSG_READ_ONLY):
            del guard.value
        assert guard.value == 1
    assert rw.into_inner() == 1


def test_write_guard_value_cannot_be_deleted() -> None:
    rw = RwLock(1)
    with rw.write() as guard:
        msg = r"^a guard's value cannot be deleted; assign a new value instead$"
        with pytest.raises(AttributeError, match=msg):
            del guard.value
        assert guard.value == 1


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_release_never_changes_the_guards_class(kind: Kind) -> None:
    # On free-threaded CPython a __class__ assignment stops the world, so
    # the release of a guard must not do one.
    rw = RwLock(0)
    guard = acquire(rw, kind)
    cls = type(guard)
    guard.unlock()
    assert type(guard) is cls


def test_rwlock_is_subscriptable_at_runtime() -> None:
    rw = RwLock[int](3)
    with rw.read() as g:
        assert g.value == 3


@pytest.mark.parametrize("cls", [RwLockReadGuard, RwLockWriteGuard, RwLockUpgradableReadGuard])
def test_guards_have_no_public_constructor(cls: type) -> None:
    with pytest.raises(TypeError, match=rf"^fearless\.{cls.__name__} has no public constructor$"):
        cls()


def test_public_names_claim_the_fearless_module() -> None:
    for cls in (RwLock, RwLockReadGuard, RwLockWriteGuard, RwLockUpgradableReadGuard):
        assert cls.__module__ == "fearless"
    assert RwLockStatistics.__module__ == "fearless"


def test_guard_reprs() -> None:
    rw = RwLock("v")
    g = rw.read()
    assert repr(g) == "<RwLockReadGuard value='v'>"
    g.unlock()
    assert repr(g) == "<RwLockReadGuard (released)>"
    w = rw.write()
    assert repr(w) == "<RwLockWriteGuard value='v'>"
    w.unlock()
    assert repr(w) == "<RwLockWriteGuard (released)>"
    u = rw.upgradable_read()
    assert repr(u) == "<RwLockUpgradableReadGuard value='v'>"
    u.unlock()
    assert repr(u) == "<RwLockUpgradableReadGuard (released)>"


# -- many readers or one writer ------------------------------------------------------


def test_readers_hold_the_lock_at_the_same_time() -> None:
    # A serialising lock would break the barrier: each reader waits for the
    # other while holding its guard.
    rw = RwLock({"k": 1})
    barrier = threading.Barrier(2, timeout=5)

    def reader(_: int) -> int:
        with rw.read() as guard:
            barrier.wait()
            return int(guard.value["k"])

    assert run_concurrently(reader, 2) == [1, 1]
    assert stats(rw) == idle(rw)


def test_upgradable_reader_and_reader_hold_the_lock_at_the_same_time() -> None:
    rw = RwLock(5)
    barrier = threading.Barrier(2, timeout=5)

    def reader(index: int) -> int:
        with rw.upgradable_read() if index else rw.read() as guard:
            barrier.wait()
            return int(guard.value)

    assert run_concurrently(reader, 2) == [5, 5]


def test_a_writer_excludes_readers() -> None:
    rw = RwLock(0)

    def read() -> int:
        with rw.read() as g:
            return int(g.value)

    with rw.write() as w:
        reader = Worker(read)
        wait_until(lambda: stats(rw).waiting_readers == 1, what="reader to block")
        w.value = 7
    assert reader.join() == 7


def test_a_reader_excludes_writers() -> None:
    rw = RwLock(0)

    def write() -> None:
        with rw.write() as g:
            g.value = 1

    with rw.read() as r:
        writer = Worker(write)
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        assert r.value == 0
        assert stats(rw).writer is None
    writer.join()
    assert rw.into_inner() == 1


def test_a_writer_excludes_writers_and_upgradable_readers() -> None:
    rw = RwLock(0)

    def write() -> None:
        with rw.write() as g:
            g.value += 1

    def upgradable() -> int:
        with rw.upgradable_read() as g:
            return int(g.value)

    with rw.write() as w:
        workers = [Worker(write)]
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        workers.append(Worker(upgradable))
        wait_until(lambda: stats(rw).waiting_readers == 1, what="upgradable to block")
        w.value = 10
    workers[0].join()
    assert workers[1].join() in {10, 11}
    assert rw.into_inner() == 11


def test_waiting_writer_blocks_new_readers_from_other_threads() -> None:
    rw = RwLock(0)
    order: list[str] = []

    def write() -> None:
        with rw.write() as g:
            g.value += 1
            order.append("writer")

    def read() -> None:
        with rw.read() as g:
            order.append(f"reader saw {g.value}")

    with held_elsewhere(rw, "read"):
        writer = Worker(write)
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        reader = Worker(read)
        wait_until(lambda: stats(rw).waiting_readers == 1, what="new reader to block")
        assert stats(rw).readers == 1  # only the first reader holds it
        with pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK_READ):
            rw.try_read()
    writer.join()
    reader.join()
    assert order == ["writer", "reader saw 1"]


def test_reentrant_read_while_a_writer_waits_does_not_deadlock() -> None:
    rw = RwLock(0)
    with rw.read() as outer:
        writer = Worker(lambda: rw.write().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        with rw.read(timeout=TIMEOUT) as inner:
            assert inner.value == outer.value == 0
            with rw.try_read() as third:
                assert stats(rw).readers == 3
                assert third.value == 0
        assert stats(rw).waiting_writers == 1  # still held by `outer`
    writer.join()
    assert stats(rw) == idle(rw)


def test_read_while_holding_upgradable_and_a_writer_waits_does_not_deadlock() -> None:
    rw = RwLock(0)
    with rw.upgradable_read() as upgradable:
        writer = Worker(lambda: rw.write().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        with rw.read() as reader:
            assert reader.value == upgradable.value
    writer.join()


def test_readers_waiting_when_a_writer_releases_go_before_the_next_writer() -> None:
    rw = RwLock(0)
    order: list[str] = []

    def write(name: str) -> Callable[[], None]:
        def run() -> None:
            with rw.write() as g:
                g.value += 1
                order.append(name)

        return run

    def read() -> None:
        with rw.read() as g:
            order.append(f"reader saw {g.value}")

    with rw.write() as first:
        readers = [Worker(read) for _ in range(2)]
        wait_until(lambda: stats(rw).waiting_readers == 2, what="readers to block")
        second = Worker(write("second writer"))
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        first.value = 1
    for w in [*readers, second]:
        w.join()
    assert order == ["reader saw 1", "reader saw 1", "second writer"]


def test_waiting_writers_get_the_lock_in_arrival_order() -> None:
    rw: RwLock[list[int]] = RwLock([])

    def write(n: int) -> None:
        with rw.write() as g:
            g.value.append(n)

    def queued(n: int) -> Callable[[], bool]:
        return lambda: stats(rw).waiting_writers == n

    writers = []
    with rw.read():
        for n in range(3):
            writers.append(Worker(write, n))
            wait_until(queued(n + 1), what="writer to queue")
    for w in writers:
        w.join()
    assert rw.into_inner() == [0, 1, 2]


def test_blocked_readers_proceed_when_a_waiting_writer_times_out() -> None:
    expire = threading.Event()
    backend = ScriptedBackend(lambda lock, timeout: expire.wait(TIMEOUT) and False)
    with _seam.install(backend):
        rw = RwLock(0)
        with held_elsewhere(rw, "read"):
            writer = Worker(lambda: pytest.raises(TimeoutError, rw.write, timeout=TIMEOUT))
            wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
            reader = Worker(lambda: rw.read().unlock())
            wait_until(lambda: stats(rw).waiting_readers == 1, what="reader to queue")
            expire.set()  # the writer's wait times out
            writer.join()
            reader.join()  # got in although the first reader still holds the lock
            assert stats(rw).readers == 1
        assert stats(rw) == idle(rw)


def test_blocked_readers_proceed_when_an_upgrade_times_out() -> None:
    expire = threading.Event()
    backend = ScriptedBackend(lambda lock, timeout: expire.wait(TIMEOUT) and False)
    with _seam.install(backend):
        rw = RwLock(0)

        def upgrader() -> None:
            with rw.upgradable_read() as u:
                with pytest.raises(TimeoutError):
                    u.upgrade(timeout=TIMEOUT)
                assert u.value == 0

        with held_elsewhere(rw, "read"):
            up = Worker(upgrader)
            wait_until(lambda: stats(rw).waiting_writers == 1, what="upgrade to wait")
            reader = Worker(lambda: rw.read().unlock())
            wait_until(lambda: stats(rw).waiting_readers == 1, what="reader to queue")
            expire.set()
            up.join()
            reader.join()
        assert stats(rw) == idle(rw)


# -- downgrade -------------------------------------------------------------------------


def test_downgrade_is_atomic_no_writer_gets_in_between() -> None:
    rw = RwLock("old")
    with rw.write() as w:
        writer = Worker(lambda: rw.write().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        w.value = "new"
        r = w.downgrade()
        s = stats(rw)
        assert (s.writer, s.readers, s.waiting_writers) == (None, 1, 1)
        assert r.value == "new"
        assert not writer.thread.is_alive() or stats(rw).writer is None
        r.unlock()
    writer.join()
    assert rw.into_inner() == "new"


def test_downgrade_lets_waiting_readers_in_beside_it() -> None:
    rw = RwLock(0)
    barrier = threading.Barrier(2, timeout=5)

    def read() -> int:
        with rw.read() as g:
            barrier.wait()
            return int(g.value)

    w = rw.write()
    reader = Worker(read)
    wait_until(lambda: stats(rw).waiting_readers == 1, what="reader to block")
    w.value = 3
    with w.downgrade() as r:
        barrier.wait()  # both readers hold the lock now
        assert r.value == 3
    assert reader.join() == 3


def test_downgrade_releases_the_write_guard() -> None:
    rw = RwLock(1)
    w = rw.write()
    r = w.downgrade()
    assert isinstance(r, RwLockReadGuard)
    with pytest.raises(GuardReleasedError, match=MSG_DOWNGRADED):
        _ = w.value
    with pytest.raises(GuardReleasedError, match=MSG_DOWNGRADED):
        w.value = 2
    with pytest.raises(GuardReleasedError, match=MSG_DOWNGRADED):
        w.unlock()
    with pytest.raises(GuardReleasedError, match=MSG_DOWNGRADED):
        w.downgrade()
    assert stats(rw).writer is None
    r.unlock()
    assert stats(rw) == idle(rw)


def test_with_block_releases_the_read_guard_a_downgrade_made() -> None:
    rw = RwLock(0)
    with rw.write() as w:
        w.value = 1
        r = w.downgrade()
        assert stats(rw).readers == 1
    assert stats(rw) == idle(rw)
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        _ = r.value
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        _ = w.value  # no longer "downgraded": the block ended
    assert rw.into_inner() == 1


def test_failure_after_downgrade_does_not_poison() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.write() as w:
        w.value = 1
        w.downgrade()
        raise Boom
    assert stats(rw) == idle(rw)
    assert not rw.is_poisoned()


def test_downgraded_guard_released_early_then_block_ends() -> None:
    rw = RwLock(0)
    with rw.write() as w:
        with w.downgrade():
            pass
        assert stats(rw) == idle(rw)
    assert stats(rw) == idle(rw)


def test_downgrade_from_another_thread_raises() -> None:
    rw = RwLock(0)
    w = rw.write()

    def other() -> None:
        with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD_CHANGE):
            w.downgrade()

    Worker(other).join()
    assert stats(rw).writer == threading.get_ident()
    w.unlock()


# -- upgradable reads ------------------------------------------------------------------


def test_upgradable_excludes_other_upgradables_not_readers() -> None:
    rw = RwLock(0)

    def upgradable() -> None:
        rw.upgradable_read().unlock()

    with rw.upgradable_read():
        with rw.read():
            pass
        other = Worker(upgradable)
        wait_until(lambda: stats(rw).waiting_readers == 1, what="second upgradable to block")
        assert Worker(lambda: rw.try_read().unlock()).join() is None
        with pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK_WRITE):
            rw.try_write()
    other.join()


def test_upgradable_excludes_writers() -> None:
    rw = RwLock(0)
    with rw.upgradable_read() as u:
        writer = Worker(lambda: rw.write().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        assert u.value == 0
    writer.join()


def test_upgrade_without_readers_is_immediate() -> None:
    rw = RwLock([1])
    u = rw.upgradable_read()
    w = u.upgrade()
    assert isinstance(w, RwLockWriteGuard)
    assert stats(rw) == RwLockStatistics(0, threading.get_ident(), None, 0, 0, False)
    w.value.append(2)
    w.unlock()
    assert stats(rw) == idle(rw)
    assert rw.into_inner() == [1, 2]


def test_upgrade_waits_for_readers_and_blocks_new_ones() -> None:
    rw = RwLock(0)
    upgraded = threading.Event()
    reader_release = threading.Event()
    reader_in = threading.Event()

    def first_reader() -> None:
        with rw.read():
            reader_in.set()
            assert reader_release.wait(TIMEOUT)

    def upgrader() -> None:
        with rw.upgradable_read() as u, u.upgrade() as w:
            w.value = 1
            upgraded.set()

    def late_reader() -> int:
        with rw.read() as r:
            return int(r.value)

    first = Worker(first_reader)
    assert reader_in.wait(TIMEOUT)
    up = Worker(upgrader)
    wait_until(lambda: stats(rw).waiting_writers == 1, what="upgrade to wait")
    assert stats(rw).upgradable == up.thread.ident
    late = Worker(late_reader)
    wait_until(lambda: stats(rw).waiting_readers == 1, what="late reader to block")
    assert not upgraded.is_set()
    reader_release.set()
    first.join()
    up.join()
    assert late.join() == 1  # no reader got in before the upgrade


def test_upgrade_has_priority_over_waiting_writers() -> None:
    rw: RwLock[list[str]] = RwLock([])
    release = threading.Event()
    reader_in = threading.Event()

    def reader() -> None:
        with rw.read():
            reader_in.set()
            assert release.wait(TIMEOUT)

    def writer() -> None:
        with rw.write() as w:
            w.value.append("writer")

    first = Worker(reader)
    assert reader_in.wait(TIMEOUT)
    with rw.upgradable_read() as u:
        w = Worker(writer)
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        upgrade_done: list[RwLockWriteGuard[list[str]]] = []
        release.set()
        first.join()
        upgrade_done.append(u.upgrade(timeout=TIMEOUT))
        upgrade_done[0].value.append("upgrade")
    w.join()
    assert rw.into_inner() == ["upgrade", "writer"]


def test_upgrade_timeout_keeps_the_upgradable_guard() -> None:
    rw = RwLock(0)
    msg = r"^readers did not leave within 0\.05 seconds; the guard is still an upgradable read$"
    with held_elsewhere(rw, "read"), rw.upgradable_read() as u:
        with pytest.raises(TimeoutError, match=msg):
            u.upgrade(timeout=0.05)
        with pytest.raises(TimeoutError):
            u.upgrade(timeout=0)
        assert u.value == 0
        s = stats(rw)
        assert (s.upgradable, s.writer, s.waiting_writers) == (threading.get_ident(), None, 0)
        # readers are welcome again once the upgrade gave up
        assert Worker(lambda: rw.read().unlock()).join() is None
    assert stats(rw) == idle(rw)


def test_upgrade_then_downgrade() -> None:
    rw = RwLock(1)
    with rw.upgradable_read() as u:
        w = u.upgrade()
        w.value = 2
        r = w.downgrade()
        assert stats(rw) == RwLockStatistics(1, None, None, 0, 0, False)
        assert r.value == 2
        # the upgradable read is gone: another thread may take one now
        assert Worker(lambda: rw.upgradable_read().unlock()).join() is None
    assert stats(rw) == idle(rw)


def test_upgraded_guard_is_consumed() -> None:
    rw = RwLock(0)
    u = rw.upgradable_read()
    w = u.upgrade()
    with pytest.raises(GuardReleasedError, match=MSG_UPGRADED):
        _ = u.value
    with pytest.raises(GuardReleasedError, match=MSG_UPGRADED):
        u.unlock()
    with pytest.raises(GuardReleasedError, match=MSG_UPGRADED):
        u.upgrade()
    w.unlock()
    assert stats(rw) == idle(rw)


def test_upgradable_block_releases_the_write_guard_an_upgrade_made() -> None:
    rw = RwLock(0)
    with rw.upgradable_read() as u:
        w = u.upgrade()
        w.value = 5
    assert stats(rw) == idle(rw)
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        _ = w.value
    assert not rw.is_poisoned()
    assert rw.into_inner() == 5


def test_upgradable_block_failing_with_a_live_write_guard_poisons() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.upgradable_read() as u:
        w = u.upgrade()
        w.value = 5
        raise Boom
    assert rw.is_poisoned()
    assert stats(rw) == idle(rw, poisoned=True)


def test_upgradable_block_releases_the_read_guard_of_upgrade_then_downgrade() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.upgradable_read() as u:
        u.upgrade().downgrade()
        raise Boom
    assert stats(rw) == idle(rw)  # released, and a read guard never poisons


def test_failing_upgradable_block_does_not_poison() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.upgradable_read():
        raise Boom
    assert not rw.is_poisoned()
    assert stats(rw) == idle(rw)


def test_failing_upgraded_write_block_poisons() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.upgradable_read() as u, u.upgrade() as w:
        w.value = 1
        raise Boom
    assert rw.is_poisoned()
    assert stats(rw) == idle(rw, poisoned=True)


def test_upgrade_from_another_thread_raises() -> None:
    rw = RwLock(0)
    u = rw.upgradable_read()

    def other() -> None:
        with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD_CHANGE):
            u.upgrade()

    Worker(other).join()
    assert stats(rw).upgradable == threading.get_ident()
    u.unlock()


# -- deadlocks -------------------------------------------------------------------------

DEADLOCKS: list[tuple[Kind, Kind, str]] = [
    ("write", "read", MSG_READ_WHILE_WRITING),
    ("read", "write", MSG_WRITE_WHILE_READING),
    ("write", "write", MSG_WRITE_WHILE_WRITING),
    ("upgradable_read", "write", MSG_WRITE_WHILE_UPGRADABLE),
    ("write", "upgradable_read", MSG_UPGRADABLE_WHILE_WRITING),
    ("upgradable_read", "upgradable_read", MSG_UPGRADABLE_TWICE),
    ("read", "upgradable_read", MSG_UPGRADABLE_WHILE_READING),
]


@pytest.mark.parametrize(("held", "wanted", "msg"), DEADLOCKS)
@pytest.mark.parametrize("timeout", [None, 1.0, 0])
def test_same_thread_requests_that_would_deadlock_raise_at_once(
    held: Kind, wanted: Kind, msg: str, timeout: float | None
) -> None:
    rw = RwLock(0)
    with acquire(rw, held) as guard:
        before = stats(rw)
        with pytest.raises(DeadlockError, match=msg):
            getattr(rw, wanted)(timeout=timeout)
        assert stats(rw) == before  # nothing changed, the held guard is intact
        assert guard.value == 0
    assert stats(rw) == idle(rw)


def test_upgrade_while_holding_a_read_guard_raises_deadlock() -> None:
    rw = RwLock(0)
    with rw.upgradable_read() as u:
        r = rw.read()
        with pytest.raises(DeadlockError, match=MSG_UPGRADE_WHILE_READING):
            u.upgrade()
        with pytest.raises(DeadlockError, match=MSG_UPGRADE_WHILE_READING):
            u.upgrade(timeout=0)
        assert u.value == 0  # still an upgradable guard
        r.unlock()
        u.upgrade().unlock()
    assert stats(rw) == idle(rw)


def test_deadlock_detected_on_poison_recovery_too() -> None:
    rw = RwLock(0)
    poison(rw)
    with pytest.raises(PoisonError) as caught_write:
        rw.write()
    with pytest.raises(PoisonError) as caught_read:
        rw.read()
    with (
        caught_write.value.into_inner(),
        pytest.raises(DeadlockError, match=MSG_READ_WHILE_WRITING),
    ):
        caught_read.value.into_inner()
    assert stats(rw) == idle(rw, poisoned=True)


# -- try_read / try_write ----------------------------------------------------------------


def test_try_read_and_try_write_when_free() -> None:
    rw = RwLock("x")
    with rw.try_read() as r:
        assert r.value == "x"
    with rw.try_write() as w:
        w.value = "y"
    assert rw.into_inner() == "y"


@pytest.mark.parametrize("kind", ["write"])
def test_try_read_would_block_while_a_writer_holds_it(kind: Kind) -> None:
    rw = RwLock(0)
    with held_elsewhere(rw, kind), pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK_READ):
        rw.try_read()
    with rw.write():
        with pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK_READ):
            rw.try_read()  # never DeadlockError
        assert stats(rw).readers == 0


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_try_write_would_block_whoever_holds_it(kind: Kind) -> None:
    rw = RwLock(0)
    with held_elsewhere(rw, kind), pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK_WRITE):
        rw.try_write()
    with acquire(rw, kind):
        with pytest.raises(WouldBlockError, match=MSG_WOULD_BLOCK_WRITE):
            rw.try_write()  # never DeadlockError
        assert stats(rw).writer in {None, threading.get_ident()}
    assert stats(rw) == idle(rw)


def test_try_read_succeeds_beside_readers_and_upgradable() -> None:
    rw = RwLock(0)
    with held_elsewhere(rw, "read"), held_elsewhere(rw, "upgradable_read"), rw.try_read():
        assert stats(rw).readers == 2


def test_try_on_a_poisoned_lock() -> None:
    rw = RwLock(0)
    poison(rw)
    with pytest.raises(PoisonError, match=MSG_POISONED):
        rw.try_read()
    with pytest.raises(PoisonError, match=MSG_POISONED):
        rw.try_write()
    assert stats(rw) == idle(rw, poisoned=True)
    # not available beats poisoned, as in Rust
    with pytest.raises(PoisonError) as caught:
        rw.write()
    with caught.value.into_inner():
        with pytest.raises(WouldBlockError):
            rw.try_write()
        with pytest.raises(WouldBlockError):
            rw.try_read()


# -- timeouts ---------------------------------------------------------------------------


def test_read_timeout_raises_builtin_timeout_error() -> None:
    rw = RwLock(0)
    with held_elsewhere(rw, "write"):
        msg = r"^rwlock was not available for reading within 0\.01 seconds$"
        with pytest.raises(TimeoutError, match=msg):
            rw.read(timeout=0.01)
        with pytest.raises(TimeoutError):
            rw.read(timeout=0)
        s = stats(rw)
        assert (s.readers, s.waiting_readers) == (0, 0)
    with rw.read(timeout=TIMEOUT) as r:
        assert r.value == 0


def test_write_timeout_raises_builtin_timeout_error() -> None:
    rw = RwLock(0)
    with held_elsewhere(rw, "read"):
        msg = r"^rwlock was not available for writing within 0\.01 seconds$"
        with pytest.raises(TimeoutError, match=msg):
            rw.write(timeout=0.01)
        with pytest.raises(TimeoutError):
            rw.write(timeout=0)
        s = stats(rw)
        assert (s.writer, s.waiting_writers) == (None, 0)
        # the withdrawn writer no longer holds readers back
        with rw.try_read():
            pass
    with rw.write(timeout=TIMEOUT) as w:
        w.value = 1


def test_upgradable_read_timeout_raises_builtin_timeout_error() -> None:
    rw = RwLock(0)
    with held_elsewhere(rw, "upgradable_read"):
        msg = r"^rwlock was not available for an upgradable read within 0\.01 seconds$"
        with pytest.raises(TimeoutError, match=msg):
            rw.upgradable_read(timeout=0.01)
        with pytest.raises(TimeoutError):
            rw.upgradable_read(timeout=0)
        assert stats(rw).waiting_readers == 0
    with rw.upgradable_read(timeout=TIMEOUT):
        pass


def test_timeouts_when_free() -> None:
    rw = RwLock(5)
    with rw.read(timeout=0) as r:
        assert r.value == 5
    with rw.write(timeout=0) as w:
        assert w.value == 5
    with rw.upgradable_read(timeout=0) as u, u.upgrade(timeout=0) as w:
        assert w.value == 5


def test_timeout_beyond_platform_max_waits_instead_of_overflowing() -> None:
    rw = RwLock(0)
    huge = threading.TIMEOUT_MAX * 10
    with rw.upgradable_read(timeout=huge), rw.read(timeout=huge):
        pass
    with rw.write(timeout=huge):
        pass
    with rw.write():
        w = Worker(lambda: rw.read(timeout=1e300).unlock())
        wait_until(lambda: stats(rw).waiting_readers == 1, what="reader to block")
    w.join()


CALLS_WITH_TIMEOUT: list[str] = ["read", "write", "upgradable_read", "upgrade"]


def call_with_timeout(rw: RwLock[int], name: str, timeout: object) -> None:
    if name == "upgrade":
        with rw.upgradable_read() as u:
            u.upgrade(timeout=timeout)  # type: ignore[arg-type]
    else:
        getattr(rw, name)(timeout=timeout)


@pytest.mark.parametrize("name", CALLS_WITH_TIMEOUT)
@pytest.mark.parametrize("bad", [-1, -0.001, float("-inf"), float("nan")])
def test_negative_or_nan_timeout_is_a_value_error(name: str, bad: float) -> None:
    rw = RwLock(0)
    with pytest.raises(ValueError, match=MSG_TIMEOUT_MISUSE):
        call_with_timeout(rw, name, bad)
    assert stats(rw) == idle(rw)


@pytest.mark.parametrize("name", CALLS_WITH_TIMEOUT)
@pytest.mark.parametrize("bad", ["1", b"1", [1], True])
def test_non_numeric_timeout_is_a_type_error(name: str, bad: object) -> None:
    rw = RwLock(0)
    with pytest.raises(TypeError, match=r"^timeout must be a number of seconds or None, got "):
        call_with_timeout(rw, name, bad)
    assert stats(rw) == idle(rw)


def test_timeout_is_keyword_only() -> None:
    rw = RwLock(0)
    with pytest.raises(TypeError):
        rw.read(1.0)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        rw.write(1.0)  # type: ignore[call-arg]
    assert stats(rw) == idle(rw)


# -- poisoning ---------------------------------------------------------------------------


def test_failing_write_block_poisons_and_propagates_the_same_exception() -> None:
    rw = RwLock(0)
    error = Boom("original")
    with pytest.raises(Boom) as caught, rw.write() as w:
        w.value = 1
        raise error
    assert caught.value is error
    assert rw.is_poisoned()
    assert stats(rw) == idle(rw, poisoned=True)


def test_failing_read_block_does_not_poison() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.read():
        raise Boom
    assert not rw.is_poisoned()
    assert stats(rw) == idle(rw)


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_acquiring_a_poisoned_lock_raises_holding_nothing(kind: Kind) -> None:
    rw = RwLock(0)
    poison(rw)
    with pytest.raises(PoisonError, match=MSG_POISONED):
        acquire(rw, kind)
    assert stats(rw) == idle(rw, poisoned=True)


def test_poison_error_into_inner_gives_guards_ignoring_poison() -> None:
    rw = RwLock([1])
    with pytest.raises(Boom), rw.write() as w:
        w.value.append(2)
        raise Boom
    with pytest.raises(PoisonError) as caught_read:
        rw.read()
    with caught_read.value.into_inner() as r:
        assert isinstance(r, RwLockReadGuard)
        assert r.value == [1, 2]
    with pytest.raises(PoisonError) as caught_try_read:
        rw.try_read()
    with caught_try_read.value.into_inner() as r:
        assert isinstance(r, RwLockReadGuard)
    with pytest.raises(PoisonError) as caught_upgradable:
        rw.upgradable_read()
    with caught_upgradable.value.into_inner() as u:
        assert isinstance(u, RwLockUpgradableReadGuard)
        with u.upgrade() as w:  # an upgrade after recovery ignores the poison too
            w.value.append(3)
    with pytest.raises(PoisonError) as caught_write:
        rw.write()
    with caught_write.value.into_inner() as w:
        assert isinstance(w, RwLockWriteGuard)
        w.value.append(4)
    with pytest.raises(PoisonError) as caught_try_write:
        rw.try_write()
    with caught_try_write.value.into_inner() as w:
        w.value.append(5)
    assert rw.is_poisoned()  # recovering does not clear the flag (as in Rust)
    rw.clear_poison()
    with rw.read() as r:
        assert r.value == [1, 2, 3, 4, 5]


def test_poison_error_into_inner_waits_for_the_lock() -> None:
    rw = RwLock(0)
    poison(rw)
    with pytest.raises(PoisonError) as caught:
        rw.write()
    rw.clear_poison()
    with rw.read():
        w = Worker(lambda: caught.value.into_inner().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="recovery to block")
    w.join()
    assert stats(rw) == idle(rw)


def test_waiters_see_the_poison_of_the_writer_they_waited_for() -> None:
    rw = RwLock(0)

    def expect_poison(kind: Kind) -> Callable[[], None]:
        def run() -> None:
            with pytest.raises(PoisonError, match=MSG_POISONED):
                acquire(rw, kind)

        return run

    with pytest.raises(Boom), rw.write():
        workers = [Worker(expect_poison("read"))]
        wait_until(lambda: stats(rw).waiting_readers == 1, what="reader to block")
        workers.append(Worker(expect_poison("write")))
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        workers.append(Worker(expect_poison("upgradable_read")))
        wait_until(lambda: stats(rw).waiting_readers == 2, what="upgradable to block")
        raise Boom
    for w in workers:
        w.join()
    assert stats(rw) == idle(rw, poisoned=True)


def test_poison_is_set_by_a_failure_on_another_thread() -> None:
    rw = RwLock(0)

    def fail() -> None:
        with rw.write() as w:
            w.value = 1
            raise Boom

    with pytest.raises(Boom):
        Worker(fail).join()
    assert rw.is_poisoned()


def test_clear_poison() -> None:
    rw = RwLock(0)
    poison(rw)
    rw.clear_poison()
    assert not rw.is_poisoned()
    with rw.read(), rw.read():
        pass
    with rw.write():
        pass


def test_poison_false_never_poisons() -> None:
    rw = RwLock(0, poison=False)
    with pytest.raises(Boom), rw.write() as w:
        w.value = 1
        raise Boom
    assert not rw.is_poisoned()
    with rw.read() as r:
        assert r.value == 1


def test_only_the_with_block_poisons_not_unlock() -> None:
    rw = RwLock(0)
    with pytest.raises(Boom), rw.write() as w:
        w.unlock()
        raise Boom
    assert not rw.is_poisoned()


def test_base_exceptions_poison_too() -> None:
    rw = RwLock(0)
    with pytest.raises(KeyboardInterrupt), rw.write():
        raise KeyboardInterrupt
    assert rw.is_poisoned()


# -- release and misuse ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_access_after_with_block_raises(kind: Kind) -> None:
    rw = RwLock(0)
    with acquire(rw, kind) as g:
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
    if kind == "write":
        with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
            g.downgrade()
    if kind == "upgradable_read":
        with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
            g.upgrade()
    assert rw.into_inner() == 0


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_unlock_twice_raises(kind: Kind) -> None:
    rw = RwLock(0)
    g = acquire(rw, kind)
    g.unlock()
    with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
        g.unlock()
    assert stats(rw) == idle(rw)


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_unlock_inside_with_then_exit_is_fine(kind: Kind) -> None:
    rw = RwLock(0)
    with acquire(rw, kind) as g:
        g.unlock()
        with rw.try_write() as w:
            w.value = 1
    assert stats(rw) == idle(rw)
    assert rw.into_inner() == 1


def test_stale_guard_stays_released_after_relock() -> None:
    rw = RwLock(0)
    with rw.write() as old:
        pass
    with rw.write() as new:
        new.value = 2
        with pytest.raises(GuardReleasedError):
            old.value = 3
    assert rw.into_inner() == 2


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_release_from_another_thread_raises_and_keeps_the_lock(kind: Kind) -> None:
    rw = RwLock(0)
    g = acquire(rw, kind)
    before = stats(rw)

    def other() -> None:
        with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD):
            g.unlock()
        with pytest.raises(WrongThreadError, match=MSG_WRONG_THREAD):
            g.__exit__(Boom, Boom(), None)

    Worker(other).join()
    assert stats(rw) == before
    assert not rw.is_poisoned()
    assert g.value == 0
    g.unlock()
    assert stats(rw) == idle(rw)


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_released_guard_used_from_another_thread(kind: Kind) -> None:
    rw = RwLock(0)
    g = acquire(rw, kind)
    g.unlock()

    def other() -> None:
        g.__exit__(None, None, None)  # a released guard's exit does nothing
        with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
            g.unlock()
        with pytest.raises(GuardReleasedError, match=MSG_RELEASED):
            _ = g.value

    Worker(other).join()
    assert stats(rw) == idle(rw)


def test_reentrant_read_guards_are_released_one_by_one() -> None:
    rw = RwLock(0)
    a = rw.read()
    b = rw.read()
    assert stats(rw).readers == 2
    a.unlock()
    assert stats(rw).readers == 1
    with pytest.raises(DeadlockError):
        rw.write()
    b.unlock()
    with rw.write():
        pass


# -- into_inner ---------------------------------------------------------------------------


def test_into_inner_consumes() -> None:
    sentinel = object()
    rw = RwLock(sentinel)
    assert rw.into_inner() is sentinel
    calls: list[Callable[[], object]] = [
        rw.read,
        rw.write,
        rw.upgradable_read,
        rw.try_read,
        rw.try_write,
        rw.into_inner,
        rw.clear_poison,
        lambda: rw.read(timeout=1),
    ]
    for call in calls:
        with pytest.raises(ConsumedError, match=MSG_CONSUMED):
            call()
    assert repr(rw) == "RwLock(<consumed>)"
    assert stats(rw) == idle(rw)


def test_into_inner_of_a_poisoned_lock() -> None:
    rw = RwLock([1])
    with pytest.raises(Boom), rw.write() as w:
        w.value.append(2)
        raise Boom
    with pytest.raises(PoisonError, match=MSG_POISONED) as caught:
        rw.into_inner()
    assert caught.value.into_inner() == [1, 2]
    with pytest.raises(ConsumedError):
        rw.read()


@pytest.mark.parametrize("kind", ["read", "write", "upgradable_read"])
def test_into_inner_while_a_guard_is_alive_refuses(kind: Kind) -> None:
    rw = RwLock(0)
    with acquire(rw, kind), pytest.raises(WouldBlockError, match=MSG_LOCKED_INTO_INNER):
        rw.into_inner()
    with held_elsewhere(rw, kind), pytest.raises(WouldBlockError, match=MSG_LOCKED_INTO_INNER):
        rw.into_inner()
    assert rw.into_inner() == 0


# -- repr and statistics -----------------------------------------------------------------


def test_repr_shows_the_value_when_reading_is_possible() -> None:
    rw = RwLock([1, 2])
    assert repr(rw) == "RwLock([1, 2])"
    with rw.read():
        assert repr(rw) == "RwLock([1, 2])"
    with held_elsewhere(rw, "read"):
        assert repr(rw) == "RwLock([1, 2])"
    with held_elsewhere(rw, "upgradable_read"):
        assert repr(rw) == "RwLock([1, 2])"
    assert stats(rw) == idle(rw)


def test_repr_never_blocks_on_a_writer() -> None:
    rw = RwLock([1, 2])
    with rw.write():
        assert repr(rw) == "RwLock(<locked>)"
    with held_elsewhere(rw, "write"):
        assert repr(rw) == "RwLock(<locked>)"
    with held_elsewhere(rw, "read"):
        writer = Worker(lambda: rw.write().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        assert repr(rw) == "RwLock(<locked>)"  # a waiting writer blocks new readers
    writer.join()
    assert stats(rw) == idle(rw)


def test_repr_by_a_reader_while_a_writer_waits_shows_the_value() -> None:
    rw = RwLock("v")
    with rw.read():
        writer = Worker(lambda: rw.write().unlock())
        wait_until(lambda: stats(rw).waiting_writers == 1, what="writer to block")
        assert repr(rw) == "RwLock('v')"
        assert stats(rw).readers == 1
    writer.join()


def test_repr_shows_poison() -> None:
    rw = RwLock(1)
    poison(rw)
    assert repr(rw) == "RwLock(1, poisoned=True)"
    with pytest.raises(PoisonError) as caught:
        rw.write()
    with caught.value.into_inner():
        assert repr(rw) == "RwLock(<locked>, poisoned=True)"


def test_repr_releases_its_read_even_if_the_value_repr_fails() -> None:
    class Bad:
        def __repr__(self) -> str:
            raise Boom

    rw = RwLock(Bad())
    with pytest.raises(Boom):
        repr(rw)
    assert stats(rw) == idle(rw)


def test_statistics() -> None:
    rw = RwLock(0)
    assert stats(rw) == idle(rw)
    me = threading.get_ident()
    with rw.read(), rw.read():
        assert stats(rw) == RwLockStatistics(2, None, None, 0, 0, False)
    with rw.write():
        assert stats(rw) == RwLockStatistics(0, me, None, 0, 0, False)
    with rw.upgradable_read(), rw.read():
        assert stats(rw) == RwLockStatistics(1, None, me, 0, 0, False)
    with held_elsewhere(rw, "write") as holder:
        waiters = [
            Worker(lambda: rw.read().unlock()),
            Worker(lambda: rw.upgradable_read().unlock()),
            Worker(lambda: rw.write().unlock()),
        ]
        wait_until(
            lambda: stats(rw).waiting_readers == 2 and stats(rw).waiting_writers == 1,
            what="three waiters",
        )
        assert stats(rw) == RwLockStatistics(0, holder.thread.ident, None, 2, 1, False)
    for w in waiters:
        w.join()
    assert stats(rw) == idle(rw)


# -- interrupted and racing waits (a scripted seam) --------------------------------------


class ScriptedLock:
    """A real raw lock whose *bounded* blocking waits are run by a script.

    fearless takes its internal locks with ``acquire()`` (unbounded) and
    waits for a grant with ``acquire(True, timeout)``; with ``timeout=``
    given to the public call, that wait is bounded and the script decides
    how it ends: for real, by a timeout, or by an exception.
    """

    def __init__(self, script: Callable[[Any, float], bool]) -> None:
        self._lock = _thread.allocate_lock()
        self._script = script

    def acquire(self, blocking: bool = True, timeout: float = -1, /) -> bool:
        if blocking and timeout >= 0:
            return self._script(self._lock, timeout)
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()


class ScriptedBackend:
    """The thread backend, but raw locks are :class:`ScriptedLock` s."""

    spins = _seam.ThreadBackend.spins
    snoozes = _seam.ThreadBackend.snoozes
    # One wait per blocking call, so that the script decides how it ends.
    slice = math.inf

    def __init__(self, script: Callable[[Any, float], bool]) -> None:
        self.script = script
        self._real = _seam.ThreadBackend()

    def allocate_lock(self) -> ScriptedLock:
        return ScriptedLock(self.script)

    def allocate_rlock(self) -> _seam.RawRLock:
        return self._real.allocate_rlock()

    def rlock_owner(self, lock: _seam.RawRLock) -> int | None:
        return self._real.rlock_owner(lock)

    def start_thread(self, target: Callable[[], object], name: str | None) -> None:
        self._real.start_thread(target, name)

    def monotonic(self) -> float:
        return self._real.monotonic()

    def pause(self) -> None:
        self._real.pause()

    def snooze(self) -> None:
        self._real.snooze()

    def rotation(self) -> int:
        return self._real.rotation()


def interrupt_at_once(lock: Any, timeout: float) -> bool:
    raise KeyboardInterrupt


class AfterGrant:
    """A script: wait for the grant for real, then end as ``outcome`` says.

    ``blocking`` is set once the waiter sleeps in the scripted wait (past
    the spinning that might otherwise pick the grant up first).
    """

    def __init__(self, outcome: Literal["interrupt", "time out"]) -> None:
        self.outcome = outcome
        self.blocking = threading.Event()

    def __call__(self, lock: Any, timeout: float) -> bool:
        self.blocking.set()
        assert lock.acquire(True, TIMEOUT), "never granted"
        if self.outcome == "interrupt":
            raise KeyboardInterrupt
        return False  # as if the timeout expired just as the grant came


BLOCKERS: list[tuple[Kind, Kind]] = [
    ("write", "read"),
    ("read", "write"),
    ("write", "upgradable_read"),
    ("upgradable_read", "upgradable_read"),
]


@pytest.mark.parametrize(("held", "wanted"), BLOCKERS)
def test_wait_interrupted_before_the_grant_withdraws(held: Kind, wanted: Kind) -> None:
    with _seam.install(ScriptedBackend(interrupt_at_once)):
        rw = RwLock(0)
        with held_elsewhere(rw, held):
            before = stats(rw)
            with pytest.raises(KeyboardInterrupt):
                getattr(rw, wanted)(timeout=TIMEOUT)
            assert stats(rw) == before
        assert stats(rw) == idle(rw)


@pytest.mark.parametrize(("held", "wanted"), BLOCKERS)
def test_wait_interrupted_after_the_grant_gives_it_back(held: Kind, wanted: Kind) -> None:
    script = AfterGrant("interrupt")
    with _seam.install(ScriptedBackend(script)):
        rw = RwLock(0)
        g = acquire(rw, held)
        w = Worker(lambda: pytest.raises(KeyboardInterrupt, getattr(rw, wanted), timeout=TIMEOUT))
        assert script.blocking.wait(TIMEOUT)
        g.unlock()  # grants the waiter, whose wait then raises
        w.join()
        assert stats(rw) == idle(rw)
        rw.try_write().unlock()


@pytest.mark.parametrize(("held", "wanted"), BLOCKERS)
def test_grant_racing_a_timeout_counts_as_granted(held: Kind, wanted: Kind) -> None:
    script = AfterGrant("time out")
    with _seam.install(ScriptedBackend(script)):
        rw = RwLock(0)
        g = acquire(rw, held)

        def take() -> None:
            with acquire_with_timeout(rw, wanted) as got:
                assert got.value == 0

        w = Worker(take)
        assert script.blocking.wait(TIMEOUT)
        g.unlock()
        w.join()
        assert stats(rw) == idle(rw)


def acquire_with_timeout(rw: RwLock[Any], kind: Kind) -> Any:
    return getattr(rw, kind)(timeout=TIMEOUT)


def test_upgrade_interrupted_before_the_grant_stays_upgradable() -> None:
    with _seam.install(ScriptedBackend(interrupt_at_once)):
        rw = RwLock(0)
        with held_elsewhere(rw, "read"), rw.upgradable_read() as u:
            with pytest.raises(KeyboardInterrupt):
                u.upgrade(timeout=TIMEOUT)
            s = stats(rw)
            assert (s.upgradable, s.writer, s.waiting_writers) == (threading.get_ident(), None, 0)
            assert u.value == 0
        assert stats(rw) == idle(rw)


def test_upgrade_interrupted_after_the_grant_stays_upgradable() -> None:
    script = AfterGrant("interrupt")
    with _seam.install(ScriptedBackend(script)):
        rw = RwLock(0)
        reader = rw.read()

        def upgrader() -> None:
            with rw.upgradable_read() as u:
                with pytest.raises(KeyboardInterrupt):
                    u.upgrade(timeout=TIMEOUT)
                s = stats(rw)
                assert (s.upgradable, s.writer) == (threading.get_ident(), None)
                assert u.value == 0

        up = Worker(upgrader)
        assert script.blocking.wait(TIMEOUT)
        reader.unlock()  # grants the upgrade, whose wait then raises
        up.join()
        assert stats(rw) == idle(rw)


def test_upgrade_granted_racing_a_timeout_counts_as_granted() -> None:
    script = AfterGrant("time out")
    with _seam.install(ScriptedBackend(script)):
        rw = RwLock(0)
        reader = rw.read()

        def upgrader() -> None:
            with rw.upgradable_read() as u, u.upgrade(timeout=TIMEOUT) as w:
                w.value = 1

        up = Worker(upgrader)
        assert script.blocking.wait(TIMEOUT)
        reader.unlock()
        up.join()
        assert rw.into_inner() == 1


# -- stress -------------------------------------------------------------------------------


@pytest.mark.stress
def test_readers_never_see_a_half_done_write() -> None:
    # Writers keep two entries equal; every reader checks them, whichever
    # way it got in. Counts are exact at the end.
    rw = RwLock({"a": 0, "b": 0})
    n_iter = 1000 * STRESS
    writes = [0] * 4

    def work(index: int) -> None:
        for i in range(n_iter):
            op = (i + index) % 10
            if op == 0:
                with rw.write() as w:
                    a = w.value["a"]
                    w.value["a"] = a + 1
                    w.value["b"] = a + 1
                    writes[index] += 1
            elif op == 1:
                with rw.upgradable_read() as u:
                    assert u.value["a"] == u.value["b"]
                    if i % 20 < 10:
                        with u.upgrade() as w:
                            w.value["a"] += 1
                            w.value["b"] += 1
                            writes[index] += 1
                            r = w.downgrade()
                            assert r.value["a"] == r.value["b"]
            elif op == 2:
                try:
                    w = rw.try_write()
                except WouldBlockError:
                    continue
                with w:
                    w.value["a"] += 1
                    w.value["b"] += 1
                    writes[index] += 1
            elif op == 3:
                try:
                    r = rw.try_read()
                except WouldBlockError:
                    continue
                with r:
                    assert r.value["a"] == r.value["b"]
            else:
                with rw.read() as r:
                    assert r.value["a"] == r.value["b"]
                    if op == 4:
                        with rw.read() as again:  # reentrant, even with writers waiting
                            assert again.value["a"] == r.value["b"]

    run_concurrently(work, 4)
    assert stats(rw) == idle(rw)
    final = rw.into_inner()
    assert final["a"] == final["b"] == sum(writes)


@pytest.mark.stress
def test_timeouts_under_contention_leave_nothing_behind() -> None:
    # Tiny timeouts make waiters withdraw all the time; the bookkeeping must
    # stay exact and nobody may be left holding or waiting.
    rw = RwLock([0, 0])
    n_iter = 300 * STRESS
    writes = [0] * 4

    def work(index: int) -> None:
        for i in range(n_iter):
            try:
                if (i + index) % 3 == 0:
                    with rw.write(timeout=0.0005) as w:
                        a, b = w.value
                        assert a == b
                        w.value = [a + 1, b + 1]
                        writes[index] += 1
                elif (i + index) % 3 == 1:
                    with rw.upgradable_read(timeout=0.0005) as u, u.upgrade(timeout=0.0005) as w:
                        a, b = w.value
                        w.value = [a + 1, b + 1]
                        writes[index] += 1
                else:
                    with rw.read(timeout=0.0005) as r:
                        a, b = r.value
                        assert a == b
            except TimeoutError:
                pass

    run_concurrently(work, 4)
    assert stats(rw) == idle(rw)
    a, b = rw.into_inner()
    assert a == b == sum(writes)


@pytest.mark.stress
def test_poison_is_seen_by_every_thread() -> None:
    rw = RwLock(0)
    n = 50 * STRESS
    barrier = threading.Barrier(4, timeout=TIMEOUT)

    def work(index: int) -> int:
        seen = 0
        for i in range(n):
            if index == 0 and i == n // 2:
                with pytest.raises(Boom), rw.write():
                    raise Boom
            try:
                if i % 2:
                    with rw.read():
                        pass
                with rw.write() as w:
                    w.value += 1
            except PoisonError as e:
                seen += 1
                guard = e.into_inner()
                if isinstance(guard, RwLockWriteGuard):
                    with guard as w:
                        w.value += 1
                else:
                    guard.unlock()
                    with pytest.raises(PoisonError) as caught:
                        rw.write()
                    with caught.value.into_inner() as w:
                        w.value += 1
        barrier.wait()
        return seen

    results = run_concurrently(work, 4)
    assert rw.is_poisoned()
    assert results[0] >= n // 2 - 1
    assert stats(rw) == idle(rw, poisoned=True)
    with pytest.raises(PoisonError) as caught:
        rw.into_inner()
    assert caught.value.into_inner() == 4 * n


# -- explored with fearless.testing ---------------------------------------------------------
#
# Each program runs under every schedule of fearless.testing's exhaustive search (within its
# preemption bound) and asserts its invariant inside, at every step of every interleaving.
# ``state`` is an atomic (whose operations are switch points) that every holder adds its
# weight to while inside: 1 per reader, UPGRADABLE per upgradable reader, WRITER per writer.

UPGRADABLE = 100
WRITER = 10_000


def test_explored_readers_share_and_writers_exclude() -> None:
    overlaps: set[bool] = set()

    def program() -> None:
        lock = RwLock(0)
        state = AtomicInt(0)

        def reader() -> None:
            with lock.read() as r:
                before = state.fetch_add(1)
                assert before < WRITER, f"a reader got in beside a writer ({before})"
                overlaps.add(before > 0)
                assert r.value in (0, 1)
                state.fetch_sub(1)

        def writer() -> None:
            with lock.write() as w:
                before = state.fetch_add(WRITER)
                assert before == 0, f"a writer got in beside others ({before})"
                w.value += 1
                state.fetch_sub(WRITER)

        with scope() as s:
            s.spawn(reader)
            s.spawn(reader)
            s.spawn(writer)
        assert lock.into_inner() == 1

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 50
    assert overlaps == {False, True}  # readers did hold the lock together in some schedules


def test_explored_negative_control_read_then_write_loses_an_update() -> None:
    # Reading under read() and writing under a separate write() is a check-then-act race;
    # the explorer must find the lost update (upgradable_read() is the fix, tested below).
    def program() -> None:
        lock = RwLock(0)

        def increment() -> None:
            with lock.read() as r:
                seen = r.value
            with lock.write() as w:
                w.value = seen + 1

        with scope() as s:
            s.spawn(increment)
            s.spawn(increment)
        assert lock.into_inner() == 2, "lost update"

    with pytest.raises(ScheduleFailure, match="lost update"):
        explore(program, strategy="exhaustive", preemption_bound=2)


def test_explored_upgradable_reads_exclude_each_other_and_upgrade_without_a_writer_between() -> (
    None
):
    def program() -> None:
        lock = RwLock(0)
        state = AtomicInt(0)

        def increment() -> None:
            with lock.upgradable_read() as u:
                before = state.fetch_add(UPGRADABLE)
                assert before < UPGRADABLE, f"two upgradable guards, or a writer ({before})"
                seen = u.value
                state.fetch_sub(UPGRADABLE)
                with u.upgrade() as w:
                    before = state.fetch_add(WRITER)
                    assert before == 0, f"an upgraded writer got in beside others ({before})"
                    assert w.value == seen, "the value changed during the upgrade"
                    w.value = seen + 1
                    state.fetch_sub(WRITER)

        def reader() -> None:
            with lock.read():
                before = state.fetch_add(1)
                assert before < WRITER, f"a reader got in beside a writer ({before})"
                state.fetch_sub(1)

        with scope() as s:
            s.spawn(increment)
            s.spawn(increment)
            s.spawn(reader)
        assert lock.into_inner() == 2

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 50


def test_explored_downgrade_lets_no_writer_in_between() -> None:
    shared_after_downgrade: set[bool] = set()

    def program() -> None:
        lock = RwLock("initial")
        state = AtomicInt(0)

        def publish() -> None:
            with lock.write() as w:
                state.fetch_add(WRITER)
                w.value = "published"
                state.fetch_sub(WRITER)
                r = w.downgrade()
                before = state.fetch_add(1)  # a switch point while downgraded
                assert before < WRITER, f"a writer got in after the downgrade ({before})"
                assert r.value == "published", f"a writer got in between: {r.value!r}"
                state.fetch_sub(1)

        def overwrite() -> None:
            with lock.write() as w:
                before = state.fetch_add(WRITER)
                assert before == 0, f"a writer got in beside others ({before})"
                w.value = "overwritten"
                state.fetch_sub(WRITER)

        def reader() -> None:
            with lock.read() as r:
                before = state.fetch_add(1)
                assert before < WRITER, f"a reader got in beside a writer ({before})"
                shared_after_downgrade.add(before > 0 and r.value == "published")
                state.fetch_sub(1)

        with scope() as s:
            s.spawn(publish)
            s.spawn(reader)
            s.spawn(overwrite)
        assert lock.into_inner() in ("published", "overwritten")

    result = explore(program, strategy="exhaustive", preemption_bound=1)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert result.schedules > 50
    # A reader shared the lock with the downgraded writer in some schedule.
    assert True in shared_after_downgrade
