"""Mutex and Condvar under faults: Ctrl-C, RecursionError, finalisers, dropped guards, fork.

Interrupt and fork tests run in a fresh interpreter (``run_python``),
bounded; the others run here.
"""

from __future__ import annotations

import copy
import gc
import pickle
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest

from _helpers import TIMEOUT, Worker, run_python, wait_until
from fearless import (
    Condvar,
    DeadlockError,
    GuardReleasedError,
    Mutex,
    MutexGuard,
    MutexStatistics,
    WouldBlockError,
    _seam,
)

IDLE = MutexStatistics(locked=False, owner=None, waiting=0, poisoned=False)


def assert_idle(m: Mutex[Any], cv: Condvar | None = None) -> None:
    """Nothing held, nobody counted as waiting, and the mutex fully usable."""
    assert m.statistics() == IDLE
    m.try_lock().unlock()
    with m.lock(timeout=TIMEOUT):
        pass
    if cv is not None:
        assert cv.statistics().waiting == 0
        assert not cv._inside
        assert _seam.rlock_owner(cv._lock) is None


# -- interrupt storms ------------------------------------------------------------------
#
# A helper thread fires SIGINT at the main thread over and over (by
# ``_thread.interrupt_main()``, delivered at Python's next check, or by a real
# signal, which also cuts blocking waits short) while the main thread uses
# the mutex; a second thread contends for it so that the main thread blocks
# too. The handler raises KeyboardInterrupt only while the main thread is
# inside the operation (``ARMED``), so every interrupt is caught by the loop.

STORM_PRELUDE = """
import _thread, gc, random, signal, sys, threading, time
from fearless import Condvar, Mutex, MutexStatistics, WouldBlockError, _seam

MODE = "{mode}"
N = {n}
ARMED = [False]
HITS = [0]
MAIN = threading.get_ident()
sys.setswitchinterval(1e-6)

def in_finaliser(frame):
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False

def on_sigint(signum, frame):
    # CPython reports and drops an exception raised inside a finaliser: a
    # Ctrl-C that lands there is lost whatever the library does, so the
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
        # Pacing, not synchronisation: random, so that the interrupts land
        # anywhere in the operations, not always at their first check.
        time.sleep(random.random() * 0.00005)

def start(target):
    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t

def stop(*threads):
    STOP.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive()

def once(op):
    try:
        ARMED[0] = True
        op()
        ARMED[0] = False
    except KeyboardInterrupt:
        ARMED[0] = False
        HITS[0] += 1
    except (WouldBlockError, TimeoutError):
        ARMED[0] = False

def check(m, cv=None):
    stats = m.statistics()
    assert stats == MutexStatistics(False, None, 0, False), stats
    m.try_lock().unlock()
    with m.lock(timeout=30):
        pass
    if cv is not None:
        assert cv.statistics().waiting == 0, cv.statistics()
        assert not cv._inside, cv._inside
        assert _seam.rlock_owner(cv._lock) is None
"""

MUTEX_STORM = """
m = Mutex(0, poison=False)
def contend():
    while not STOP.is_set():
        try:
            with m.lock(timeout=30):
                time.sleep(0)
        except TimeoutError:
            print("the contender could not get the mutex in 30 s")
            raise
def with_block():
    with m.lock() as g:
        g.value += 1
def with_timeout():
    with m.lock(timeout=5) as g:
        g.value += 1
def lock_unlock():
    m.lock().unlock()
def try_lock():
    m.try_lock().unlock()
ops = [with_block, with_timeout, lock_unlock, try_lock]
contender = start(contend)
stormer = start(storm)
for i in range(N):
    once(ops[i % len(ops)])
stop(stormer, contender)
check(m)
print("ok", HITS[0])
"""

CONDVAR_STORM = """
m = Mutex(0, poison=False)
cv = Condvar()
def notifier():
    while not STOP.is_set():
        with m.lock(timeout=30) as g:
            g.value += 1
        cv.notify_one()
        cv.notify_all()
        time.sleep(0)
def wait():
    with m.lock() as g:
        cv.wait(g, timeout=0.01)
def wait_while():
    with m.lock() as g:
        start_value = g.value
        cv.wait_while(g, lambda v: v == start_value, timeout=0.01)
def notify():
    cv.notify_one()
    cv.notify_all()
ops = [wait, wait_while, notify]
other = start(notifier)
stormer = start(storm)
for i in range(N):
    once(ops[i % len(ops)])
stop(stormer, other)
check(m, cv)
print("ok", HITS[0])
"""


@pytest.mark.parametrize("mode", ["interrupt_main", "signal"])
@pytest.mark.parametrize("storm", ["mutex", "condvar"])
def test_interrupt_storm_leaves_nothing_locked_and_no_waiter(storm: str, mode: str) -> None:
    body = MUTEX_STORM if storm == "mutex" else CONDVAR_STORM
    n = 20000 if storm == "mutex" else 3000
    proc = run_python(STORM_PRELUDE.format(mode=mode, n=n) + body, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok "), proc.stdout + proc.stderr
    assert int(proc.stdout.split()[1]) > 0, "the storm never interrupted an operation"
    assert _stderr_without_lost_finaliser_interrupts(proc.stderr) == ""


def _stderr_without_lost_finaliser_interrupts(stderr: str) -> str:
    """``stderr`` minus reports of an interrupt that struck a guard's finaliser.

    A second Ctrl-C that arrives exactly as a guard abandoned by the first
    one is finalised is raised inside ``__del__``, where Python can only
    report it ("Exception ignored in"); the guard held nothing then (the
    storm never abandons a live guard), so nothing is left locked, which
    the program checked. Any other output fails the test.
    """
    kept: list[str] = []
    for block in re.split(r"(?m)^(?=Exception ignored in)", stderr):
        if re.match(r"Exception ignored in: <function (_Held)?MutexGuard\.__del__", block) and (
            block.rstrip().endswith("KeyboardInterrupt:")
        ):
            continue
        kept.append(block)
    return "".join(kept)


# -- one Ctrl-C while blocked --------------------------------------------------------
#
# The main thread blocks; a helper sees it blocked (statistics), interrupts
# it and times how long the KeyboardInterrupt takes to arrive.

BLOCKED_PRELUDE = """
import _thread, signal, threading, time
from fearless import Condvar, Mutex, MutexStatistics, _seam
signal.signal(signal.SIGINT, signal.default_int_handler)
m = Mutex(0)
cv = Condvar()
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
def hold():
    with m.lock():
        holding.set()
        assert release.wait(30)
def arrived():
    delay = time.monotonic() - fired[0]
    assert delay < 2, delay
"""

BLOCKED = {
    "lock": """
holder = threading.Thread(target=hold); holder.start(); assert holding.wait(30)
interrupt_when(lambda: m.statistics().waiting == 1)
try:
    m.lock()
except KeyboardInterrupt:
    arrived()
else:
    raise AssertionError("no KeyboardInterrupt")
assert m.statistics().waiting == 0
release.set(); holder.join(30)
""",
    "lock_timeout": """
holder = threading.Thread(target=hold); holder.start(); assert holding.wait(30)
interrupt_when(lambda: m.statistics().waiting == 1)
try:
    m.lock(timeout=60)
except KeyboardInterrupt:
    arrived()
else:
    raise AssertionError("no KeyboardInterrupt")
assert m.statistics().waiting == 0
release.set(); holder.join(30)
""",
    "wait": """
interrupt_when(lambda: cv.statistics().waiting == 1)
with m.lock() as g:
    try:
        cv.wait(g)
    except KeyboardInterrupt:
        arrived()
    else:
        raise AssertionError("no KeyboardInterrupt")
    # Interrupted while asleep: the mutex was taken back, the guard is live.
    assert m.statistics().owner == threading.get_ident()
    g.value = 1
""",
    "wait_while": """
interrupt_when(lambda: cv.statistics().waiting == 1)
with m.lock() as g:
    try:
        cv.wait_while(g, lambda v: v == 0, timeout=60)
    except KeyboardInterrupt:
        arrived()
    else:
        raise AssertionError("no KeyboardInterrupt")
    g.value = 1
""",
    "wait_retaking_the_mutex": """
# The main thread waits; another thread takes the mutex, notifies, and keeps
# the mutex, so the main thread blocks taking it back: Ctrl-C there must
# raise KeyboardInterrupt (not WrongThreadError) and leave the guard released.
notified = threading.Event()
def notify_and_hold():
    while cv.statistics().waiting == 0:
        time.sleep(0.001)
    with m.lock():
        cv.notify_one()
        notified.set()
        assert release.wait(30)
t = threading.Thread(target=notify_and_hold); t.start()
interrupt_when(lambda: notified.is_set() and m.statistics().waiting == 1)
with m.lock() as g:
    try:
        cv.wait(g)
    except KeyboardInterrupt:
        arrived()
    else:
        raise AssertionError("no KeyboardInterrupt")
    # The guard is released: the with block's exit has nothing to do.
    try:
        g.value
    except Exception as e:
        assert type(e).__name__ == "GuardReleasedError", e
    else:
        raise AssertionError("the guard should be released")
assert m.statistics().owner != threading.get_ident()
release.set(); t.join(30)
""",
}

BLOCKED_EPILOGUE = """
assert not m.is_poisoned() or m.statistics().owner is None
m.clear_poison()
assert m.statistics() == MutexStatistics(False, None, 0, False), m.statistics()
assert cv.statistics().waiting == 0 and not cv._inside
with m.lock(timeout=30) as g:
    assert cv.wait(g, timeout=0.01) is True
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

    From depths where ``op`` completes to depths where it cannot start, one
    frame at a time, so the RecursionError strikes at every point inside it.
    Returns how many calls hit RecursionError.
    """
    hits = 0
    completed = 0
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with _low_recursion_limit(120) as headroom:
            for n in range(headroom - 60, headroom):
                try:
                    _at_depth(n, op)
                except RecursionError:
                    hits += 1
                else:
                    completed += 1
                gc.collect()
                check()
    assert completed > 0, "op never completed: start further from the limit"
    assert hits > 0, "op never hit the limit"
    return hits


def test_recursion_error_inside_mutex_calls_leaves_nothing_held() -> None:
    m = Mutex(0, poison=False)

    def ops() -> None:
        with m.lock() as g:
            g.value += 1
        m.lock().unlock()
        m.try_lock().unlock()
        with m.lock(timeout=1.0):
            pass
        repr(m)
        g = m.lock()
        del g

    assert _recurse_into(ops, lambda: assert_idle(m)) >= 2


def test_recursion_error_inside_condvar_calls_leaves_nothing_held() -> None:
    m, cv = Mutex(0, poison=False), Condvar()

    def ops() -> None:
        with m.lock() as g:
            cv.wait(g, timeout=0)
            cv.wait_while(g, lambda v: v == 0, timeout=0)
        cv.notify_all()

    assert _recurse_into(ops, lambda: assert_idle(m, cv)) >= 2


def test_recursion_error_while_notifying_a_waiter_loses_no_waiter() -> None:
    m, cv = Mutex(0), Condvar()
    woken = threading.Event()

    def wait() -> None:
        with m.lock() as g:
            assert not cv.wait(g, timeout=TIMEOUT)
        woken.set()

    worker = Worker(wait)
    wait_until(lambda: cv.statistics().waiting == 1, what="the waiter to sleep")
    with _low_recursion_limit(60) as headroom:
        for n in range(headroom):
            try:
                _at_depth(headroom - n, cv.notify_one)
            except RecursionError:
                # Nothing done: the waiter is still registered and asleep.
                assert cv.statistics().waiting == 1
                assert not woken.is_set()
            else:
                break
    worker.join()
    assert woken.is_set()
    assert_idle(m, cv)


# -- finalisers inside an operation ----------------------------------------------------


class _HookedRLock:
    """A raw RLock that runs a callback right after every acquire (a finaliser there)."""

    def __init__(self, backend: _HookBackend) -> None:
        self._inner: Any = _seam.ThreadBackend.allocate_rlock()
        self._backend = backend

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got: bool = self._inner.acquire(blocking, timeout)
        if got:
            self._backend.run_hook()
        return got

    def release(self) -> None:
        self._inner.release()

    def _is_owned(self) -> bool:
        return bool(self._inner._is_owned())

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return repr(self._inner)


class _HookBackend(_seam.ThreadBackend):
    def __init__(self) -> None:
        self.hook: Callable[[], None] | None = None
        self.ran = 0

    def run_hook(self) -> None:
        hook, self.hook = self.hook, None  # once per arming, not recursively
        if hook is not None:
            hook()
            self.ran += 1

    def allocate_rlock(self) -> _seam.RawRLock:  # type: ignore[override]
        return _HookedRLock(self)


def test_finaliser_inside_a_condvar_wait_may_use_the_condvar_and_mutex() -> None:
    backend = _HookBackend()
    with _seam.install(backend):
        m, cv = Mutex(0), Condvar()
    seen: list[object] = []

    def finaliser() -> None:
        # What a __del__ may do on the same objects, inside wait()'s
        # registration and inside the mutex's re-acquire.
        seen.append(cv.statistics())
        seen.append(repr(cv))
        cv.notify_all()
        cv.notify_one()
        seen.append(m.statistics().locked)
        seen.append(repr(m))
        try:
            m.try_lock().unlock()
        except WouldBlockError:
            seen.append("would block")

    with m.lock() as g:
        for _ in range(3):
            backend.hook = finaliser
            cv.wait(g, timeout=0.01)
    assert backend.ran == 3
    assert "would block" in seen
    assert_idle(m, cv)


def test_gc_finalisers_inside_condvar_and_mutex_calls_do_not_deadlock() -> None:
    proc = run_python(
        """
        import gc, threading
        from fearless import Condvar, Mutex, WouldBlockError
        m, cv = Mutex(0), Condvar()
        calls = [0]
        class Finaliser:
            def __init__(self):
                self.cycle = self
            def __del__(self):
                calls[0] += 1
                cv.statistics(); repr(cv); cv.notify_all()
                m.statistics(); repr(m)
                try:
                    m.try_lock().unlock()
                except WouldBlockError:
                    pass
        stop = threading.Event()
        def other():
            while not stop.is_set():
                Finaliser()
                with m.lock() as g:
                    g.value += 1
                cv.notify_one()
        # A collection at (nearly) every allocation. The second threshold 0
        # makes free-threaded CPython schedule it at once instead of scaling
        # it to the number of live objects (its gc_should_collect): the
        # compiled core allocates too little to reach the scaled threshold.
        gc.set_threshold(1, 0)
        t = threading.Thread(target=other)
        t.start()
        for i in range(500):
            Finaliser()
            with m.lock() as g:
                Finaliser()
                cv.wait(g, timeout=0.001)
        stop.set()
        t.join(30)
        gc.set_threshold(700, 10)
        assert calls[0] > 500, calls
        assert cv.statistics().waiting == 0 and not m.statistics().locked
        print("ok")
        """,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "ok\n", proc.stdout + proc.stderr


# -- dropped guards (RAII) -----------------------------------------------------------

MSG_DROPPED = (
    r"^<MutexGuard at 0x[0-9a-f]+ of Mutex at 0x[0-9a-f]+> was never released; it was "
    r"released when garbage-collected \(use 'with mutex\.lock\(\) as guard:' or call "
    r"guard\.unlock\(\)\)$"
)


def test_dropped_guard_releases_without_poisoning_and_warns() -> None:
    m = Mutex(0)
    g = m.lock()
    g.value = 1
    with pytest.warns(ResourceWarning, match=MSG_DROPPED) as record:
        del g
    assert isinstance(record[0].source, MutexGuard)
    assert m.statistics() == IDLE
    assert m.into_inner() == 1


def test_guard_going_out_of_scope_releases() -> None:
    m = Mutex([0])

    def forgetful() -> None:
        guard = m.lock()
        guard.value.append(1)

    with pytest.warns(ResourceWarning, match=MSG_DROPPED):
        forgetful()
    assert m.statistics() == IDLE
    assert m.into_inner() == [0, 1]


def test_guard_in_a_cycle_is_released_by_the_collector() -> None:
    m = Mutex(0)
    holder: list[object] = []
    holder.append(holder)
    holder.append(m.lock())
    del holder
    with pytest.warns(ResourceWarning, match=MSG_DROPPED):
        gc.collect()
    assert m.statistics() == IDLE


def test_release_never_changes_the_guards_class() -> None:
    # On free-threaded CPython a __class__ assignment stops the world, so
    # neither lock() nor a release may do one.
    # (With the compiled core the class is MutexGuard's compiled twin.)
    m = Mutex(0)
    guard = m.lock()
    cls = type(guard)
    assert isinstance(guard, MutexGuard)
    guard.unlock()
    assert type(guard) is cls
    with m.lock() as guard:
        pass
    assert type(guard) is cls


def test_released_guards_warn_nothing() -> None:
    m, cv = Mutex(0), Condvar()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with m.lock() as g:
            cv.wait(g, timeout=0)
        del g
        g2 = m.lock()
        g2.unlock()
        del g2
        m.try_lock().unlock()
        gc.collect()
    assert m.statistics() == IDLE


def test_guard_finalised_on_another_thread_warns_and_leaves_the_mutex_locked() -> None:
    m = Mutex(0)
    handed: list[MutexGuard[int]] = []
    got, done = threading.Event(), threading.Event()

    def owner() -> None:
        handed.append(m.lock())
        got.set()
        assert done.wait(TIMEOUT)
        m._release()  # the guard is gone: clean up behind the test's back

    worker = Worker(owner)
    assert got.wait(TIMEOUT)
    guard = handed.pop()
    owner_ident = m.statistics().owner
    # Run its finaliser here, where it ran when the last reference was
    # dropped on this thread (on the free-threaded build the interpreter may
    # hand a dropped object back to its creating thread instead).
    with pytest.warns(ResourceWarning) as record:
        guard.__del__()
    assert str(record[0].message) == (
        f"<MutexGuard at {id(guard):#x} of Mutex at {id(m):#x}> was never released and "
        "was garbage-collected on another thread; the mutex stays locked, because only "
        f"the thread that locked it (ident {owner_ident}) can release it (use 'with "
        "mutex.lock() as guard:' or call guard.unlock() on that thread)"
    )
    assert m.statistics().owner == owner_ident
    del guard  # already finalised: nothing more
    done.set()
    worker.join()
    assert m.statistics() == IDLE


def test_dropped_guard_warning_says_where_it_was_allocated_with_tracemalloc() -> None:
    proc = run_python(
        """
        import warnings
        from fearless import Mutex
        m = Mutex(0)
        def leak():
            g = m.lock()  # allocated here
        leak()
        assert not m.statistics().locked
        """,
        timeout=60,
        PYTHONTRACEMALLOC="5",
        PYTHONWARNINGS="always::ResourceWarning",
    )
    assert proc.returncode == 0, proc.stderr
    assert "ResourceWarning: <MutexGuard at 0x" in proc.stderr, proc.stderr
    assert "Object allocated at" in proc.stderr, proc.stderr
    # -c code has no source lines to show; line 7 is ``g = m.lock()``.
    assert 'File "<string>", lineno 7' in proc.stderr, proc.stderr


# -- copying and pickling ------------------------------------------------------------


def test_mutex_guard_and_condvar_refuse_copy_and_pickle() -> None:
    m, cv = Mutex([1]), Condvar()
    advice = {
        "Mutex": (
            "share the same Mutex between threads (or wrap it in an Arc); to copy the "
            "data, copy it under the lock (with m.lock() as guard: copy.deepcopy(guard.value)) "
            "or take it out with into_inner()"
        ),
        "MutexGuard": (
            "a guard is this thread's proof that it holds the lock; "
            "copy the value instead: copy.deepcopy(guard.value)"
        ),
        "Condvar": (
            "share the same Condvar between the threads that wait and notify "
            "(a copy would have none of its waiters)"
        ),
    }
    with m.lock() as g:
        for obj in (m, g, cv):
            name = type(obj).__name__
            for verb, do in (
                ("copy", copy.copy),
                ("copy", copy.deepcopy),
                ("pickle", pickle.dumps),
            ):
                with pytest.raises(TypeError) as caught:
                    do(obj)
                assert str(caught.value) == f"cannot {verb} a fearless.{name}: {advice[name]}"
        g.value.append(2)  # the guard is untouched
    assert m.into_inner() == [1, 2]


# -- fork ----------------------------------------------------------------------------

FORK_PRELUDE = """
import os, sys, threading, warnings
warnings.simplefilter("ignore", DeprecationWarning)
from fearless import Condvar, DeadlockError, Mutex, WouldBlockError
MSG = (
    "mutex is held by a thread that os.fork() did not copy into this process, so it can "
    "never be released; create locks after forking, or use the 'forkserver' or 'spawn' "
    "start methods"
)
m = Mutex(0)
held, done = threading.Event(), threading.Event()
def hold():
    with m.lock():
        held.set()
        assert done.wait(60)
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
with m.lock(timeout=5):
    pass
print("child exit", os.waitstatus_to_exitcode(status))
"""

FORK_CHILD = """
expect(DeadlockError, m.lock, MSG)
expect(DeadlockError, lambda: m.lock(timeout=30), MSG)
expect(WouldBlockError, m.try_lock)
assert m.statistics().waiting == 0
# New primitives work, on this thread and on threads started here.
fresh = Mutex(1)
def use():
    with fresh.lock() as g:
        g.value += 1
u = threading.Thread(target=use)
u.start(); u.join(30)
assert fresh.into_inner() == 2
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork()")
def test_lock_in_a_forked_child_raises_instead_of_hanging() -> None:
    code = FORK_PRELUDE.replace(
        "        CHILD", "\n".join("        " + line for line in FORK_CHILD.strip().splitlines())
    )
    proc = run_python(code, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "child exit 0\n", proc.stdout + proc.stderr


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork()")
def test_condvar_in_a_forked_child_forgets_the_lost_waiters() -> None:
    proc = run_python(
        """
        import os, threading, time, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        from fearless import Condvar, Mutex
        m, cv = Mutex(0), Condvar()
        done = threading.Event()
        def wait():
            with m.lock() as g:
                while not done.is_set():
                    cv.wait(g, timeout=30)
        t = threading.Thread(target=wait)
        t.start()
        while cv.statistics().waiting == 0:
            time.sleep(0.001)
        pid = os.fork()
        if pid == 0:
            ok = cv.statistics().waiting == 0 and m.statistics().waiting == 0
            # A thread of the child gets the next notification.
            woken = threading.Event()
            def child_wait():
                with m.lock(timeout=30) as g:
                    cv.wait(g, timeout=30)
                woken.set()
            c = threading.Thread(target=child_wait)
            c.start()
            while cv.statistics().waiting == 0:
                time.sleep(0.001)
            cv.notify_one()
            ok = ok and woken.wait(30)
            c.join(30)
            with m.lock(timeout=5) as g:
                ok = ok and cv.wait(g, timeout=0.01) is True
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        done.set()
        cv.notify_all()
        t.join(30)
        print("child exit", os.waitstatus_to_exitcode(status))
        """,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "child exit 0\n", proc.stdout + proc.stderr


def test_condvar_wait_whose_mutex_a_lost_thread_holds_raises_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in a child made by os.fork(): the thread holding the mutex the
    # waiter must take back does not exist any more (simulated by marking
    # the holder lost, as _seam does after a fork).
    m, cv = Mutex(0), Condvar()
    holding, release = threading.Event(), threading.Event()

    def notify_and_hold() -> None:
        wait_until(lambda: cv.statistics().waiting == 1, what="the waiter to sleep")
        with m.lock():
            monkeypatch.setattr(_seam, "forked_away", frozenset({threading.get_ident()}))
            cv.notify_one()
            holding.set()
            assert release.wait(TIMEOUT)

    with m.lock() as g:
        holder = Worker(notify_and_hold)
        with pytest.raises(DeadlockError, match=r"os\.fork\(\) did not copy"):
            cv.wait(g, timeout=TIMEOUT)
        assert holding.is_set()
        with pytest.raises(GuardReleasedError):
            g.value  # noqa: B018
    monkeypatch.setattr(_seam, "forked_away", frozenset())
    release.set()
    holder.join()
    assert_idle(m, cv)
