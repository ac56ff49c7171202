"""RwLock under faults: Ctrl-C, RecursionError, finalisers, dropped guards, copies, fork.

Interrupt and fork tests run in a fresh interpreter (``run_python``),
bounded; the others run here.
"""

from __future__ import annotations

import copy
import gc
import math
import os
import pickle
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from types import FrameType
from typing import Any

import pytest

from _helpers import TIMEOUT, Worker, reference, run_python, wait_until
from _native_helpers import compiled, needs_core
from fearless import (
    RwLock,
    RwLockStatistics,
    RwLockWriteGuard,
    WouldBlockError,
    _seam,
)

IDLE = RwLockStatistics(
    readers=0, writer=None, upgradable=None, waiting_readers=0, waiting_writers=0, poisoned=False
)


def assert_idle(rw: RwLock[Any]) -> None:
    """Nothing held, nobody counted as waiting, and the lock fully usable."""
    assert rw.statistics() == IDLE
    assert not rw._lock.locked()
    assert rw._holder is None and not rw._deferred
    rw.try_write().unlock()
    rw.try_read().unlock()
    with rw.write(timeout=TIMEOUT):
        pass
    with rw.upgradable_read(timeout=TIMEOUT) as u:
        u.upgrade(timeout=TIMEOUT).downgrade()
    assert rw.statistics() == IDLE


# -- interrupt storms ------------------------------------------------------------------
#
# A helper thread fires SIGINT at the main thread over and over (by
# ``_thread.interrupt_main()``, delivered at Python's next check, or by a real
# signal, which also cuts blocking waits short) while the main thread uses
# the lock; a second thread contends for it so that the main thread blocks
# too. The handler raises KeyboardInterrupt only while the main thread is
# inside the operation (``ARMED``), so every interrupt is caught by the loop.

STORM = """
import _thread, signal, sys, threading, time, warnings
from fearless import RwLock, RwLockStatistics, WouldBlockError

warnings.simplefilter("ignore", ResourceWarning)  # an interrupted read() drops its guard
MODE = "{mode}"
N = {n}
ARMED = [False]
HITS = [0]
MAIN = threading.get_ident()
sys.setswitchinterval(1e-5)

def in_finaliser(frame):
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False

def on_sigint(signum, frame):
    # CPython reports and drops an exception raised inside a finaliser:
    # a Ctrl-C that lands there is lost whatever the library does, so the
    # storm spares finalisers (the guards' RAII release among them).
    if ARMED[0] and not in_finaliser(frame):
        raise KeyboardInterrupt

signal.signal(signal.SIGINT, on_sigint)
STOP = threading.Event()

def storm():
    while not STOP.is_set():
        if MODE == "signal":
            signal.pthread_kill(MAIN, signal.SIGINT)
        else:
            _thread.interrupt_main()
        STOP.wait(0.0002)  # pacing, not synchronisation

def start(target):
    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t

rw = RwLock(0, poison=False)

def contend():
    i = 0
    while not STOP.is_set():
        i += 1
        if i % 3:
            with rw.write(timeout=30) as g:
                g.value += 1
                time.sleep(0)
        else:
            with rw.read(timeout=30):
                time.sleep(0)

def read_block():
    with rw.read() as g:
        g.value
def read_timeout():
    with rw.read(timeout=5) as g:
        g.value
def write_block():
    with rw.write() as g:
        g.value += 1
def write_timeout():
    with rw.write(timeout=5) as g:
        g.value += 1
def upgrade_downgrade():
    with rw.upgradable_read() as u:
        with rw.read():
            pass
        w = u.upgrade()
        w.value += 1
        r = w.downgrade()
        r.value
def upgrade_timeout():
    with rw.upgradable_read(timeout=5) as u:
        with u.upgrade(timeout=5) as w:
            w.value += 1
def tries():
    rw.try_read().unlock()
    rw.try_write().unlock()
def unlocks():
    rw.read().unlock()
    rw.write().unlock()
    rw.upgradable_read().unlock()
def dropped():
    g = rw.read()
    del g
    g = rw.write()
    del g
def introspect():
    rw.statistics()
    repr(rw)

ops = [read_block, read_timeout, write_block, write_timeout, upgrade_downgrade,
       upgrade_timeout, tries, unlocks, dropped, introspect]
contender = start(contend)
stormer = start(storm)
for i in range(N):
    try:
        ARMED[0] = True
        ops[i % len(ops)]()
        ARMED[0] = False
    except KeyboardInterrupt:
        ARMED[0] = False
        HITS[0] += 1
    except (WouldBlockError, TimeoutError):
        ARMED[0] = False
STOP.set()
for t in (stormer, contender):
    t.join(40)
    assert not t.is_alive(), (rw.statistics(), rw._readers, rw._deferred, MAIN)
stats = rw.statistics()
assert stats == RwLockStatistics(0, None, None, 0, 0, False), stats
assert not rw._lock.locked() and rw._holder is None and not rw._deferred
rw.try_write().unlock()
with rw.write(timeout=30):
    pass
with rw.upgradable_read(timeout=30) as u:
    u.upgrade(timeout=30).downgrade()
print("ok", HITS[0])
"""


@pytest.mark.parametrize("mode", ["interrupt_main", "signal"])
def test_interrupt_storm_leaves_nothing_locked_and_no_waiter(mode: str) -> None:
    proc = run_python(STORM.format(mode=mode, n=3000), timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok "), proc.stdout + proc.stderr
    assert int(proc.stdout.split()[1]) > 0, "the storm never interrupted an operation"
    assert proc.stderr == ""


# -- one Ctrl-C while blocked --------------------------------------------------------
#
# The main thread blocks; a helper sees it blocked (statistics), interrupts
# it and times how long the KeyboardInterrupt takes to arrive.

BLOCKED_PRELUDE = """
import _thread, signal, threading, time
from fearless import RwLock, RwLockStatistics
signal.signal(signal.SIGINT, signal.default_int_handler)
rw = RwLock(0)
fired = []
def interrupt_when(blocked):
    def run():
        deadline = time.monotonic() + 30
        while not blocked():
            assert time.monotonic() < deadline, "never blocked"
            time.sleep(0.001)
        fired.append(time.monotonic())
        _thread.interrupt_main()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t
holding = threading.Event()
release = threading.Event()
def hold(how):
    def run():
        with getattr(rw, how)():
            holding.set()
            assert release.wait(30)
    t = threading.Thread(target=run)
    t.start()
    assert holding.wait(30)
    return t
def expect_interrupt(call):
    try:
        call()
    except KeyboardInterrupt:
        delay = time.monotonic() - fired[0]
        assert delay < 2, delay
    else:
        raise AssertionError("no KeyboardInterrupt")
"""

WAITING_READER = "lambda: rw.statistics().waiting_readers == 1"
WAITING_WRITER = "lambda: rw.statistics().waiting_writers == 1"

BLOCKED = {
    "read": f"""
holder = hold("write"); interrupt_when({WAITING_READER})
expect_interrupt(rw.read)
""",
    "read_timeout": f"""
holder = hold("write"); interrupt_when({WAITING_READER})
expect_interrupt(lambda: rw.read(timeout=60))
""",
    "write": f"""
holder = hold("read"); interrupt_when({WAITING_WRITER})
expect_interrupt(rw.write)
""",
    "write_timeout": f"""
holder = hold("read"); interrupt_when({WAITING_WRITER})
expect_interrupt(lambda: rw.write(timeout=60))
""",
    "upgradable_read": f"""
holder = hold("upgradable_read"); interrupt_when({WAITING_READER})
expect_interrupt(rw.upgradable_read)
""",
    "upgradable_read_timeout": f"""
holder = hold("write"); interrupt_when({WAITING_READER})
expect_interrupt(lambda: rw.upgradable_read(timeout=60))
""",
    "upgrade": f"""
holder = hold("read"); interrupt_when({WAITING_WRITER})
with rw.upgradable_read() as u:
    expect_interrupt(u.upgrade)
    assert u.value == 0  # still an upgradable read
    assert rw.statistics().upgradable == threading.get_ident()
""",
    "upgrade_timeout": f"""
holder = hold("read"); interrupt_when({WAITING_WRITER})
with rw.upgradable_read() as u:
    expect_interrupt(lambda: u.upgrade(timeout=60))
    assert u.value == 0
""",
}

BLOCKED_EPILOGUE = """
stats = rw.statistics()
assert stats.waiting_readers == 0 and stats.waiting_writers == 0, stats
release.set(); holder.join(30)
assert rw.statistics() == RwLockStatistics(0, None, None, 0, 0, False), rw.statistics()
with rw.write(timeout=30) as g:
    g.value += 1
with rw.read(timeout=30) as g:
    assert g.value == 1
print("ok")
"""


@pytest.mark.parametrize("where", sorted(BLOCKED))
def test_ctrl_c_while_blocked_arrives_promptly_and_leaves_it_usable(where: str) -> None:
    proc = run_python(BLOCKED_PRELUDE + BLOCKED[where] + BLOCKED_EPILOGUE, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "ok\n", proc.stdout + proc.stderr
    assert proc.stderr == ""


# -- RecursionError ------------------------------------------------------------------


def _at_depth(n: int, op: Callable[[], object]) -> object:
    if n:
        return _at_depth(n - 1, op)
    return op()


@contextmanager
def _low_recursion_limit(headroom: int) -> Iterator[int]:
    """Set the limit ``headroom`` frames above the current depth; yield that many."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + headroom)
    try:
        yield headroom
    finally:
        sys.setrecursionlimit(old)


def _recurse_into(op: Callable[[], object], check: Callable[[], None]) -> int:
    """Call ``op`` ever closer to the recursion limit; ``check`` after each.

    Returns how many calls hit RecursionError: every point inside ``op``
    is reached by one of the depths.
    """
    hits = 0
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with _low_recursion_limit(120) as headroom:
            for n in range(headroom - 60, headroom):
                try:
                    _at_depth(n, op)
                except RecursionError:
                    hits += 1
                gc.collect()
                check()
    return hits


def test_recursion_error_inside_rwlock_calls_leaves_nothing_held() -> None:
    rw = RwLock(0, poison=False)

    def ops() -> None:
        with rw.read() as r:
            assert r.value >= 0
        with rw.read(timeout=1.0), rw.read():
            pass
        with rw.write() as w:
            w.value += 1
        with rw.write(timeout=1.0) as w:
            w.value += 1
        rw.try_read().unlock()
        rw.try_write().unlock()
        with rw.upgradable_read(timeout=1.0) as u, u.upgrade(timeout=1.0) as w:
            w.value += 1
            w.downgrade()
        with rw.upgradable_read() as u:
            u.upgrade().downgrade().unlock()
        rw.statistics()
        repr(rw)
        g = rw.read()
        del g

    hits = _recurse_into(ops, lambda: assert_idle(rw))
    assert hits >= 3  # one per Python frame the deepest call goes through


@pytest.mark.parametrize("make", [RwLock, partial(reference, RwLock)], ids=["RwLock", "reference"])
def test_recursion_error_in_a_releasing_thread_loses_no_waiter(
    make: Callable[[int], RwLock[int]],
) -> None:
    rw = make(0)
    # With a timeout, read() takes the reference's path: on the compiled
    # twin too, its release runs Python code (its hand-over), which a
    # RecursionError can interrupt. (A compiled fast reader's release runs
    # none while the writer waits in C for it.)
    reader = rw.read(timeout=TIMEOUT)
    writer = Worker(lambda: rw.write(timeout=TIMEOUT).unlock())
    wait_until(lambda: rw.statistics().waiting_writers == 1, what="the writer to queue")
    hits = 0
    with _low_recursion_limit(60) as headroom:
        for n in range(headroom):
            try:
                _at_depth(headroom - n, reader.unlock)
            except RecursionError:
                hits += 1
                if rw.statistics().readers == 1:
                    continue  # nothing done: the reader still holds it
            break
    assert hits > 0
    writer.join()  # woken by the release, or by its own next slice
    assert_idle(rw)


# -- finalisers inside an operation ----------------------------------------------------


@pytest.mark.parametrize("make", [RwLock, partial(reference, RwLock)], ids=["RwLock", "reference"])
def test_finaliser_inside_an_rwlock_operation_may_use_the_same_lock(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[int], RwLock[int]]
) -> None:
    rw = make(0)
    seen: list[object] = []
    dropped = [rw.read()]
    armed = [True]
    regate = type(rw)._regate
    # The compiled twin's read fast path takes no internal lock: inside this
    # thread's own operation, try_read() still gets a guard there.
    try_read = 0 if compiled(dropped[0]) else "would block"

    def finaliser() -> None:
        # What a __del__ may do on the same lock, run inside read()'s
        # critical section (internal lock held by this very thread).
        seen.append(rw.statistics().readers)
        seen.append(repr(rw))
        for attempt in (rw.try_read, rw.try_write):
            try:
                guard = attempt()
            except WouldBlockError:
                seen.append("would block")
            else:
                seen.append(guard.value)
                guard.unlock()
        with pytest.warns(ResourceWarning, match="was never released; it was released"):
            dropped.clear()  # the last reference to a held read guard of this lock

    def hooked(self: RwLock[Any]) -> None:
        regate(self)
        if armed:
            armed.pop()
            finaliser()

    monkeypatch.setattr(type(rw), "_regate", hooked)
    with rw.read(timeout=TIMEOUT) as r:  # the slow path: it registers, then regates
        assert seen == [2, "RwLock(<locked>)", try_read, "would block"]
        assert rw.statistics().readers == 1  # the dropped guard is released already
        assert r.value == 0
    monkeypatch.undo()
    assert_idle(rw)


def test_gc_finalisers_inside_rwlock_calls_do_not_deadlock() -> None:
    proc = run_python(
        """
        import gc, threading
        from fearless import RwLock, WouldBlockError
        rw = RwLock(0)
        calls = [0]
        class Finaliser:
            def __init__(self):
                self.cycle = self
            def __del__(self):
                calls[0] += 1
                rw.statistics(); repr(rw)
                for attempt in (rw.try_read, rw.try_write):
                    try:
                        attempt().unlock()
                    except WouldBlockError:
                        pass
        stop = threading.Event()
        def other():
            while not stop.is_set():
                Finaliser()
                with rw.write() as g:
                    g.value += 1
                with rw.read(timeout=5):
                    Finaliser()
        gc.set_threshold(1)
        t = threading.Thread(target=other)
        t.start()
        for i in range(2000):
            Finaliser()
            with rw.read() as r:
                Finaliser()
            with rw.write(timeout=5) as w:
                w.value += 1
            with rw.upgradable_read() as u:
                Finaliser()
                u.upgrade().downgrade()
        stop.set()
        t.join(30)
        gc.set_threshold(700)
        assert calls[0] > 100, calls
        print("ok", rw.statistics())
        """,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == (
        "ok RwLockStatistics(readers=0, writer=None, upgradable=None, "
        "waiting_readers=0, waiting_writers=0, poisoned=False)\n"
    ), proc.stdout + proc.stderr


def test_a_collection_inside_the_internal_lock_runs_where_the_holder_cannot_be_recorded() -> None:
    # The premise of the finaliser rules (``_RwLockCore._inside``). On 3.11
    # an allocation runs a garbage collection at once: inside a critical
    # section that makes no call (the fast paths), and at the end of every
    # ``with`` block on the internal lock, whose ``__exit__`` call builds an
    # argument tuple before it releases. From 3.12 an allocation only
    # schedules one, for the next point where the interpreter checks for
    # signals: after the release. The body below allocates with the
    # collector armed and a finaliser in the youngest generation; it
    # records whether it ran with the lock held.
    proc = run_python(
        """
        import _thread, gc
        lock = _thread.allocate_lock()
        seen = []
        class Finaliser:
            def __init__(self):
                self.cycle = self
            def __del__(self):
                seen.append(lock.locked())
        gc.collect()
        gc.set_threshold(1)
        for i in range(100):
            gc.disable()  # keeps the finaliser young until the body
            f = Finaliser()
            with lock:
                gc.enable()
                del f
                a = {i}; b = {i}; c = {i}
        gc.set_threshold(700)
        gc.collect()
        print(seen.count(True), seen.count(False))
        """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    inside = "100 0\n" if sys.version_info < (3, 12) else "0 100\n"
    assert proc.stdout == inside, proc.stdout + proc.stderr


def test_a_finaliser_run_by_a_collection_inside_a_section_that_records_no_holder() -> None:
    # What 3.11 does at the end of a fast path's ``with`` block (see the test
    # above): a collection runs while this thread holds the internal lock
    # and ``_holder`` says nobody. The finaliser must not wait for the lock:
    # it answers as inside this thread's own operation (a snapshot, would
    # block, <locked>; a dropped guard is queued), and the next operation
    # releases the dropped guard. From 3.12 the same program runs the
    # finalisers after the release, where the lock is simply free.
    proc = run_python(
        """
        import gc
        from fearless import RwLock, WouldBlockError
        rw = RwLock(0)
        held = []
        seen = []
        class Finaliser:
            def __init__(self):
                self.cycle = self
            def __del__(self):
                if held:
                    held.pop()  # the last reference to a held write guard
                    seen.append(rw.statistics().writer is None)
                    return
                seen.append(rw.statistics().readers)
                for attempt in (rw.try_read, rw.try_write):
                    try:
                        attempt().unlock()
                        seen.append("took")
                    except WouldBlockError:
                        seen.append("would block")
                seen.append(repr(rw))
        def section():
            gc.disable()  # keeps the finaliser young until the body
            f = Finaliser()
            with rw._lock:
                gc.enable()
                del f
                a = {0}; b = {0}; c = {0}
        gc.collect()
        gc.set_threshold(1)
        section()
        gc.collect()  # where an allocation did not collect (free-threaded)
        held.append(rw.write())
        section()
        gc.collect()
        gc.set_threshold(700)
        print(seen)
        print(rw.statistics())
        with rw.write(timeout=5) as w:
            w.value += 1
        print(rw)
        """,
        timeout=60,
        PYTHONWARNINGS="always::ResourceWarning",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if sys.version_info < (3, 12):  # inside the section: the guard is queued
        # (The compiled core's try_read() needs no internal lock.)
        try_read = "took" if compiled(RwLock(0)) else "would block"
        during = f"[0, '{try_read}', 'would block', 'RwLock(<locked>)', False]"
    else:  # after the release
        during = "[0, 'took', 'took', 'RwLock(0)', True]"
    assert proc.stdout.splitlines() == [
        during,
        "RwLockStatistics(readers=0, writer=None, upgradable=None, "
        "waiting_readers=0, waiting_writers=0, poisoned=False)",
        "RwLock(1)",
    ], proc.stdout + proc.stderr
    assert "was never released; it was released when garbage-collected" in proc.stderr


# -- dropped guards (RAII) -----------------------------------------------------------

HOW = {"read": "read", "write": "write", "upgradable_read": "upgradable_read"}
GUARD = {
    "read": "RwLockReadGuard",
    "write": "RwLockWriteGuard",
    "upgradable_read": "RwLockUpgradableReadGuard",
}


def dropped_message(how: str) -> str:
    return (
        rf"^<{GUARD[how]} at 0x[0-9a-f]+ of RwLock at 0x[0-9a-f]+> was never released; it "
        rf"was released when garbage-collected \(use 'with lock\.{how}\(\) as guard:' or "
        r"call guard\.unlock\(\)\)$"
    )


@pytest.mark.parametrize("how", sorted(HOW))
def test_dropped_guard_releases_without_poisoning_and_warns(how: str) -> None:
    rw = RwLock([0])
    g = getattr(rw, how)()
    with pytest.warns(ResourceWarning, match=dropped_message(how)) as record:
        del g
    assert type(record[0].source).__name__ == GUARD[how]
    assert_idle(rw)
    assert rw.into_inner() == [0]


def test_dropped_write_guard_keeps_what_was_assigned() -> None:
    rw = RwLock(0)
    g = rw.write()
    g.value = 5
    with pytest.warns(ResourceWarning, match=dropped_message("write")):
        del g
    assert not rw.is_poisoned()
    assert rw.into_inner() == 5


@pytest.mark.parametrize("how", sorted(HOW))
def test_guard_going_out_of_scope_releases(how: str) -> None:
    rw = RwLock(0)

    def forgetful() -> None:
        guard = getattr(rw, how)()
        assert guard.value == 0

    with pytest.warns(ResourceWarning, match=dropped_message(how)):
        forgetful()
    assert_idle(rw)


def test_guard_in_a_cycle_is_released_by_the_collector() -> None:
    rw = RwLock(0)
    holder: list[object] = []
    holder.append(holder)
    holder.append(rw.write())
    del holder
    with pytest.warns(ResourceWarning, match=dropped_message("write")):
        gc.collect()
    assert_idle(rw)


def test_upgraded_and_downgraded_guards_dropped_release_what_they_hold() -> None:
    rw = RwLock(0)
    u = rw.upgradable_read()
    w = u.upgrade()
    del u  # released by the upgrade, its successor w still referenced here
    w.value = 1
    r = w.downgrade()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del w  # released by the downgrade; r still referenced here
    with pytest.warns(ResourceWarning, match=dropped_message("read")):
        del r
    assert_idle(rw)
    assert rw.into_inner() == 1


def test_released_guards_warn_nothing() -> None:
    rw = RwLock(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with rw.read():
            pass
        with rw.write():
            pass
        g = rw.upgradable_read()
        g.upgrade().downgrade().unlock()
        del g
        rw.try_read().unlock()
        with rw.write(), pytest.raises(WouldBlockError):
            rw.try_read()  # a guard made but never granted: nothing to say
        gc.collect()
    assert_idle(rw)


def test_guard_finalised_on_another_thread_warns_and_leaves_the_lock_held() -> None:
    rw = RwLock(0)
    handed: list[RwLockWriteGuard[int]] = []
    got, done = threading.Event(), threading.Event()

    def owner() -> None:
        handed.append(rw.write())
        got.set()
        assert done.wait(TIMEOUT)
        handed.pop().unlock()  # the owner can still release it

    worker = Worker(owner)
    assert got.wait(TIMEOUT)
    guard = handed.pop()
    owner_ident = rw.statistics().writer
    # Run its finaliser here, where it runs when the last reference is
    # dropped on this thread (on the free-threaded build the interpreter may
    # hand a dropped object back to its creating thread instead).
    with pytest.warns(ResourceWarning) as record:
        guard.__del__()
    assert str(record[0].message) == (
        f"<RwLockWriteGuard at {id(guard):#x} of RwLock at {id(rw):#x}> was never released "
        "and was garbage-collected on another thread; the rwlock stays locked, because only "
        f"the thread that locked it (ident {owner_ident}) can release it (use 'with "
        "lock.write() as guard:' or call guard.unlock() on that thread)"
    )
    assert rw.statistics().writer == owner_ident
    with pytest.raises(TimeoutError):
        rw.read(timeout=0)
    handed.append(guard)
    del guard
    done.set()
    worker.join()
    assert_idle(rw)


def test_dropped_guard_warning_says_where_it_was_allocated_with_tracemalloc() -> None:
    proc = run_python(
        """
        from fearless import RwLock
        rw = RwLock(0)
        def leak():
            g = rw.read()  # allocated here
        leak()
        assert rw.statistics().readers == 0
        """,
        timeout=60,
        PYTHONTRACEMALLOC="5",
        PYTHONWARNINGS="always::ResourceWarning",
    )
    assert proc.returncode == 0, proc.stderr
    assert "ResourceWarning: <RwLockReadGuard at 0x" in proc.stderr, proc.stderr
    assert "Object allocated at" in proc.stderr, proc.stderr
    # The program comes from -c: its frames show without their source lines.
    assert proc.stderr.count('File "<string>", lineno') == 2, proc.stderr


# -- copying and pickling ------------------------------------------------------------


def test_rwlock_and_guards_refuse_copy_and_pickle() -> None:
    rw = RwLock([1])
    lock_advice = (
        "share the same RwLock between threads (or wrap it in an Arc); to copy the "
        "data, copy it under a read guard (with lock.read() as guard: "
        "copy.deepcopy(guard.value)) or take it out with into_inner()"
    )
    guard_advice = (
        "a guard is this thread's proof that it holds the lock; "
        "copy the value instead: copy.deepcopy(guard.value)"
    )
    with rw.upgradable_read() as u:
        r = rw.read()
        objects: list[Any] = [rw, u, r]
        r.unlock()
        with u.upgrade() as w:
            objects.append(w)
            for obj in objects:
                name = type(obj).__name__
                advice = lock_advice if name == "RwLock" else guard_advice
                for verb, do in (
                    ("copy", copy.copy),
                    ("copy", copy.deepcopy),
                    ("pickle", pickle.dumps),
                ):
                    with pytest.raises(TypeError) as caught:
                        do(obj)
                    assert str(caught.value) == f"cannot {verb} a fearless.{name}: {advice}"
            w.value.append(2)  # the guard is untouched
    assert_idle(rw)
    assert rw.into_inner() == [1, 2]


# -- fork ----------------------------------------------------------------------------

FORK_PRELUDE = """
import os, sys, threading, time, warnings
warnings.simplefilter("ignore", DeprecationWarning)
from fearless import DeadlockError, RwLock, WouldBlockError
MSG = (
    "rwlock is held (or waited for) by a thread that os.fork() did not copy into this "
    "process, so it can never be released; create locks after forking, or use the "
    "'forkserver' or 'spawn' start methods"
)
rw = RwLock(0)
held, done = threading.Event(), threading.Event()
def hold():
    HOLD
t = threading.Thread(target=hold)
t.start()
assert held.wait(30)
def expect(exc_type, call, message=None):
    try:
        call()
    except exc_type as e:
        assert message is None or str(e) == message, str(e)
    else:
        raise AssertionError(f"{call} did not raise {exc_type}")
pid = os.fork()
if pid == 0:
    try:
        CHILD
    except BaseException:
        import traceback
        traceback.print_exc()
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(pid, 0)
done.set()
t.join(30)
with rw.write(timeout=5):
    pass
print("child exit", os.waitstatus_to_exitcode(status))
"""

FORK_HOLD = {
    "read": "with rw.read():\n        held.set()\n        assert done.wait(60)",
    "write": "with rw.write():\n        held.set()\n        assert done.wait(60)",
    "upgradable_read": (
        "with rw.upgradable_read():\n        held.set()\n        assert done.wait(60)"
    ),
    # The internal lock itself, as if the fork caught a thread mid-operation.
    "internal": "with rw._lock:\n        held.set()\n        assert done.wait(60)",
}

FORK_CHILD = {
    "read": """
with rw.read(timeout=1) as r:   # readers share: no need to wait for the lost one
    assert r.value == 0
expect(DeadlockError, rw.write, MSG)
expect(DeadlockError, lambda: rw.write(timeout=30), MSG)
expect(WouldBlockError, rw.try_write)
with rw.upgradable_read(timeout=1) as u:
    expect(DeadlockError, u.upgrade, MSG)
    expect(DeadlockError, lambda: u.upgrade(timeout=30), MSG)
assert rw.statistics().waiting_writers == 0
""",
    "write": """
expect(DeadlockError, rw.read, MSG)
expect(DeadlockError, lambda: rw.read(timeout=30), MSG)
expect(DeadlockError, rw.write, MSG)
expect(DeadlockError, lambda: rw.upgradable_read(timeout=30), MSG)
expect(WouldBlockError, rw.try_read)
stats = rw.statistics()
assert stats.waiting_readers == 0 and stats.waiting_writers == 0, stats
""",
    "upgradable_read": """
with rw.read(timeout=1):
    pass
expect(DeadlockError, rw.write, MSG)
expect(DeadlockError, lambda: rw.upgradable_read(timeout=30), MSG)
""",
    "internal": """
start = time.monotonic()
if type(rw).__mro__[1].__name__ == "RwLockCore":
    # The compiled twin's readers need no internal lock while no writer
    # holds or waits: they read on.
    with rw.read() as r, rw.try_read() as s:
        assert r.value == s.value == 0
else:
    expect(DeadlockError, rw.read, MSG)
    expect(DeadlockError, rw.try_read, MSG)
expect(DeadlockError, lambda: rw.write(timeout=30), MSG)
expect(DeadlockError, lambda: rw.read(timeout=30), MSG)
assert time.monotonic() - start < 10
""",
}

FORK_COMMON = """
fresh = RwLock(1)
def use():
    with fresh.write() as g:
        g.value += 1
u = threading.Thread(target=use)
u.start(); u.join(30)
assert fresh.into_inner() == 2
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork()")
@pytest.mark.parametrize("held", sorted(FORK_HOLD))
def test_blocking_in_a_forked_child_raises_instead_of_hanging(held: str) -> None:
    child = FORK_CHILD[held] + FORK_COMMON
    code = FORK_PRELUDE.replace("HOLD", FORK_HOLD[held]).replace(
        "        CHILD", "\n".join("        " + line for line in child.strip().splitlines())
    )
    proc = run_python(code, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "child exit 0\n", proc.stdout + proc.stderr


def test_a_lost_hand_over_is_redone_by_the_waiter() -> None:
    # A release whose hand-over an exception cut short (here: skipped on
    # purpose) leaves the waiter queued; its next slice redoes it.
    rw = reference(RwLock, 0)
    reader = rw.read()
    writer = Worker(lambda: rw.write(timeout=TIMEOUT).unlock())
    wait_until(lambda: rw.statistics().waiting_writers == 1, what="the writer to queue")
    with rw._lock:
        # What RwLockReadGuard.__exit__ does before its hand-over.
        del rw._readers[threading.get_ident()]
        del reader._value
        reader._rwlock = None
    writer.join()
    assert_idle(rw)
    assert math.isfinite(_seam.backend.slice)


@needs_core
def test_a_compiled_reader_dropped_before_a_waiting_writer_lets_it_in() -> None:
    # The compiled read guard's finaliser releases in C and runs no Python
    # code, so it does not hand over: the waiting writer's next slice does.
    rw = RwLock(0)
    reader = rw.read()
    assert compiled(reader)  # a fast reader, lock-free
    writer = Worker(lambda: rw.write(timeout=TIMEOUT).unlock())
    wait_until(lambda: rw.statistics().waiting_writers == 1, what="the writer to queue")
    with pytest.warns(ResourceWarning, match=dropped_message("read")):
        del reader
    writer.join()
    assert_idle(rw)
