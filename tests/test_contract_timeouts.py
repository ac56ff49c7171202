"""The timeout contract, once, over every blocking call that must wait (DESIGN.md).

``tests/test_timeouts.py`` checks which numbers every call accepts where it
need not wait. Here each call is made where it *must* wait -- a lock held
by another thread, an empty channel, a barrier short of parties, a thread
still running -- and the contract is: a timeout that runs out gives the
documented result (the built-in ``TimeoutError`` or its documented
subclass with the documented message, or ``True`` for a condvar), ``0``
polls, ``None``/``inf``/a timeout beyond ``threading.TIMEOUT_MAX`` wait as
long as it takes, a refused timeout registers nothing, and after any of
these nothing is left behind: no waiter counted, the holder releases as
usual, and the same request then succeeds at once. Under
``fearless.testing.explore`` (virtual time), every interleaving of a holder
and a timed lock request shows the request giving up only while the lock
was held, and leaving nothing held or registered. A test checks that
every public call with a ``timeout`` parameter has a scenario here.
"""

from __future__ import annotations

import inspect
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

import fearless
from _contracts import MUTEX, RWLOCK, Held, LockFamily
from _helpers import TIMEOUT, Worker, wait_until
from fearless import Barrier, Condvar, Mutex, RwLock, mpsc, scope, spawn
from fearless.atomic import AtomicInt
from fearless.mpsc import Empty, RecvTimeoutError, SendTimeoutError, channel, select, sync_channel
from fearless.testing import explore


def _nothing() -> None:
    return None


@dataclass
class Scenario:
    """A call that must wait, and how to end the wait."""

    #: Make the blocking call with this timeout; it releases whatever it took.
    call: Callable[[Any], object]
    #: The error an expired timeout raises (exactly this type), or None if it returns True.
    expiry: type[BaseException] | None
    #: The error's message; ``{}`` is the timeout as passed.
    message: str
    #: Let a call that is waiting (and registered as such, if observable) through.
    unblock: Callable[[], object]
    #: End the blocking state after a call gave up (harmless if nothing waits).
    cleanup: Callable[[], object]
    #: Once cleaned up: the same request succeeds (polling with 0 where it can).
    follow: Callable[[], object]
    #: How many callers wait, when the primitive can tell (its statistics()).
    waiting: Callable[[], int] | None = None
    #: What the call returns once unblocked.
    unblocked: object = None
    #: Checked after calls gave up, before cleanup: they changed nothing.
    unchanged: Callable[[], object] = _nothing


def _mutex_lock() -> Scenario:
    lock = Mutex(0)
    held = Held(lock.lock)
    return Scenario(
        call=lambda t: lock.lock(timeout=t).unlock(),
        expiry=TimeoutError,
        message="mutex was not free within {} seconds",
        unblock=held.release,
        cleanup=held.release,
        follow=lambda: lock.lock(timeout=0).unlock(),
        waiting=lambda: lock.statistics().waiting,
    )


def _rwlock(wanted: str, holding: str, noun: str) -> Callable[[], Scenario]:
    def make() -> Scenario:
        lock = RwLock(0)
        held = Held(getattr(lock, holding))
        request = getattr(lock, wanted)

        def waiting() -> int:
            stats = lock.statistics()
            return stats.waiting_readers + stats.waiting_writers

        return Scenario(
            call=lambda t: request(timeout=t).unlock(),
            expiry=TimeoutError,
            message=f"rwlock was not available for {noun} within {{}} seconds",
            unblock=held.release,
            cleanup=held.release,
            follow=lambda: request(timeout=0).unlock(),
            waiting=waiting,
        )

    return make


def _upgrade() -> Scenario:
    lock = RwLock(0)
    held = Held(lock.read)

    def call(timeout: Any) -> None:
        upgradable = lock.upgradable_read(timeout=0)
        try:
            write = upgradable.upgrade(timeout=timeout)
        except TimeoutError:
            assert upgradable.value == 0, "the guard is still an upgradable read"
            upgradable.unlock()
            raise
        except BaseException:
            upgradable.unlock()
            raise
        write.unlock()

    return Scenario(
        call=call,
        expiry=TimeoutError,
        message="readers did not leave within {} seconds; the guard is still an upgradable read",
        unblock=held.release,
        cleanup=held.release,
        follow=lambda: lock.upgradable_read(timeout=0).upgrade(timeout=0).unlock(),
        waiting=lambda: lock.statistics().waiting_writers,
    )


def _condvar(method: str) -> Callable[[], Scenario]:
    def make() -> Scenario:
        mutex, cv = Mutex(False), Condvar()

        def call(timeout: Any) -> bool:
            guard = mutex.lock()
            try:  # not a with block: a refused timeout must not poison the mutex
                if method == "wait":
                    timed_out = cv.wait(guard, timeout=timeout)
                else:
                    timed_out = cv.wait_while(guard, lambda go: not go, timeout=timeout)
                # "The guard stays valid and locked on return."
                assert mutex.statistics().owner == threading.get_ident()
                guard.value = guard.value
            finally:
                guard.unlock()
            return timed_out

        def unblock() -> None:
            with mutex.lock() as guard:
                guard.value = True
                cv.notify_all()

        return Scenario(
            call=call,
            expiry=None,
            message="",
            unblock=unblock,
            cleanup=_nothing,
            follow=lambda: mutex.lock(timeout=0).unlock(),
            waiting=lambda: cv.statistics().waiting,
            unblocked=False,
        )

    return make


def _barrier() -> Scenario:
    barrier = Barrier(2)

    def full_generation() -> None:
        other = Worker(lambda: barrier.wait(timeout=TIMEOUT).is_leader)
        leaders = [barrier.wait(timeout=TIMEOUT).is_leader, other.join()]
        assert sorted(leaders) == [False, True]

    def call(timeout: Any) -> None:
        barrier.wait(timeout=timeout)

    return Scenario(
        call=call,
        expiry=TimeoutError,
        message="barrier: 1 of 2 threads arrived within {} seconds",
        unblock=lambda: barrier.wait(timeout=TIMEOUT),
        cleanup=_nothing,
        follow=full_generation,
        waiting=lambda: barrier.statistics().waiting,
    )


def _join() -> Scenario:
    go = threading.Event()
    handle = spawn(go.wait, TIMEOUT)
    joined: list[bool] = []

    def call(timeout: Any) -> bool:
        joined.append(handle.join(timeout=timeout))
        return joined[-1]

    def follow() -> None:
        if not joined:  # the handle stayed joinable
            assert handle.join(timeout=TIMEOUT) is True

    return Scenario(
        call=call,
        expiry=TimeoutError,
        message="thread did not finish within {} seconds; the handle stays joinable",
        unblock=go.set,
        cleanup=go.set,
        follow=follow,
        unblocked=True,
    )


def _recv(how: str) -> Callable[[], Scenario]:
    def make() -> Scenario:
        tx, rx = channel[int]()
        if how == "recv":
            receive: Callable[[Any], object] = lambda t: rx.recv(timeout=t)  # noqa: E731
            message = "no message arrived within {} seconds"
        else:
            receive = lambda t: select(rx, timeout=t).value  # noqa: E731
            message = "select() received nothing within {} seconds from its 1 channel"

        def follow() -> None:
            tx.send(7)
            assert receive(0) == 7

        return Scenario(
            call=receive,
            expiry=RecvTimeoutError,
            message=message,
            unblock=lambda: tx.send(5),
            cleanup=_nothing,
            follow=follow,
            unblocked=5,
        )

    return make


def _bounded_send() -> Scenario:
    tx, rx = sync_channel[int](1)
    tx.send(1)

    def unchanged() -> None:
        # The messages that timed out were not delivered.
        assert list(rx.try_iter()) == [1]
        tx.send(1)

    def follow() -> None:
        list(rx.try_iter())
        tx.send(3, timeout=0)
        assert rx.recv(timeout=0) == 3

    return Scenario(
        call=lambda t: tx.send(2, timeout=t),
        expiry=SendTimeoutError,
        message="the channel stayed full for {} seconds; the message is returned in .value",
        unblock=lambda: rx.recv(timeout=TIMEOUT),
        cleanup=_nothing,
        follow=follow,
        unchanged=unchanged,
    )


def _rendezvous_send() -> Scenario:
    tx, rx = sync_channel[int](0)

    def unchanged() -> None:
        with pytest.raises(Empty):
            rx.try_recv()  # the messages that timed out were not delivered

    def follow() -> None:
        receiver = Worker(lambda: rx.recv(timeout=TIMEOUT))
        tx.send(3, timeout=TIMEOUT)
        assert receiver.join() == 3

    return Scenario(
        call=lambda t: tx.send(2, timeout=t),
        expiry=SendTimeoutError,
        message="no receiver took the message within {} seconds; it is returned in .value",
        unblock=lambda: rx.recv(timeout=TIMEOUT),
        cleanup=_nothing,
        follow=follow,
        unchanged=unchanged,
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "Mutex.lock": _mutex_lock,
    "RwLock.read-beside-writer": _rwlock("read", "write", "reading"),
    "RwLock.write-beside-reader": _rwlock("write", "read", "writing"),
    "RwLock.upgradable_read-beside-upgradable": _rwlock(
        "upgradable_read", "upgradable_read", "an upgradable read"
    ),
    "RwLockUpgradableReadGuard.upgrade-beside-reader": _upgrade,
    "Condvar.wait": _condvar("wait"),
    "Condvar.wait_while": _condvar("wait_while"),
    "Barrier.wait": _barrier,
    "JoinHandle.join": _join,
    "Receiver.recv": _recv("recv"),
    "mpsc.select": _recv("select"),
    "SyncSender.send-full": _bounded_send,
    "SyncSender.send-rendezvous": _rendezvous_send,
}

each_scenario = pytest.mark.parametrize("make", SCENARIOS.values(), ids=SCENARIOS.keys())


def _public_calls_taking_a_timeout() -> set[str]:
    found = set()
    for module in (fearless, mpsc):
        for name in module.__all__:
            obj = getattr(module, name)
            owner = obj.__qualname__ if inspect.isclass(obj) else None
            members = inspect.getmembers(obj) if owner else [(name, obj)]
            for member, value in members:
                if member.startswith("_") or not callable(value):
                    continue
                try:
                    parameters = inspect.signature(value).parameters
                except (TypeError, ValueError):
                    continue
                if "timeout" in parameters:
                    prefix = owner or module.__name__.removeprefix("fearless.")
                    found.add(f"{prefix}.{member}")
    return found


def test_every_public_call_taking_a_timeout_has_a_scenario() -> None:
    covered = {name.split("-")[0] for name in SCENARIOS}
    assert covered == _public_calls_taking_a_timeout()


@contextmanager
def scenario(make: Callable[[], Scenario]) -> Iterator[Scenario]:
    """The scenario; its blocking state ended on the way out, whatever happened."""
    made = make()
    try:
        yield made
    finally:
        made.cleanup()


def expire(made: Scenario, timeout: object) -> object:
    """Make the call with ``timeout``, which must run out; return what it raised or returned."""
    if made.expiry is None:
        return made.call(timeout)
    with pytest.raises(made.expiry) as raised:
        made.call(timeout)
    return raised.value


@pytest.mark.parametrize("timeout", [0, 0.001, 0.02], ids=["poll-0", "1ms", "20ms"])
@each_scenario
def test_a_timeout_that_runs_out_gives_the_documented_result(
    make: Callable[[], Scenario], timeout: float
) -> None:
    with scenario(make) as made:
        outcome = expire(made, timeout)
        if made.expiry is None:
            assert outcome is True, "True when timed out"
            return
        assert type(outcome) is made.expiry
        assert isinstance(outcome, TimeoutError)
        assert str(outcome) == made.message.format(timeout)
        if isinstance(outcome, SendTimeoutError):
            assert outcome.value == 2, "the message comes back in .value"


@each_scenario
def test_nothing_is_left_behind_after_a_timeout(make: Callable[[], Scenario]) -> None:
    with scenario(make) as made:
        for timeout in (0, 0.001):
            expire(made, timeout)
            if made.waiting is not None:
                assert made.waiting() == 0, "a caller that gave up is not counted as waiting"
        made.unchanged()
    made.follow()
    if made.waiting is not None:
        assert made.waiting() == 0


REFUSED: dict[str, tuple[object, type[Exception]]] = {
    "negative": (-1, ValueError),
    "nan": (math.nan, ValueError),
    "str": ("1", TypeError),
    "bool": (True, TypeError),
}


@pytest.mark.parametrize(("bad", "error"), REFUSED.values(), ids=REFUSED.keys())
@each_scenario
def test_a_refused_timeout_waits_for_nothing_and_registers_nothing(
    make: Callable[[], Scenario], bad: object, error: type[Exception]
) -> None:
    with scenario(make) as made:
        with pytest.raises(error, match=r"^timeout must be"):
            made.call(bad)
        if made.waiting is not None:
            assert made.waiting() == 0
    made.follow()


FOREVER: dict[str, object] = {
    "None": None,
    "inf": math.inf,
    "beyond-TIMEOUT_MAX": threading.TIMEOUT_MAX * 2,
}


@pytest.mark.parametrize("timeout", FOREVER.values(), ids=FOREVER.keys())
@each_scenario
def test_no_timeout_waits_until_unblocked(make: Callable[[], Scenario], timeout: object) -> None:
    with scenario(make) as made:
        waiter = Worker(made.call, timeout)
        if made.waiting is not None:
            wait_until(lambda: made.waiting() == 1, what="the call to wait")  # type: ignore[misc]
        assert waiter.thread.is_alive()
        made.unblock()
        assert waiter.join() == made.unblocked
    made.follow()


# -- explored: a timeout gives up only while the request really had to wait ----------


def _upgrade_request(lock: Any, timeout: float) -> Any:
    upgradable = lock.upgradable_read()
    try:
        return upgradable.upgrade(timeout=timeout)
    except BaseException:
        upgradable.unlock()
        raise


#: The lock's family, the guard a holder takes, and a request that must wait while it is held.
EXPLORED: dict[str, tuple[LockFamily, str, Callable[[Any, float], Any]]] = {
    "Mutex.lock-beside-lock": (MUTEX, "lock", lambda m, t: m.lock(timeout=t)),
    "RwLock.read-beside-write": (RWLOCK, "write", lambda r, t: r.read(timeout=t)),
    "RwLock.write-beside-read": (RWLOCK, "read", lambda r, t: r.write(timeout=t)),
    "RwLock.upgradable_read-beside-upgradable": (
        RWLOCK,
        "upgradable_read",
        lambda r, t: r.upgradable_read(timeout=t),
    ),
    "upgrade-beside-read": (RWLOCK, "read", _upgrade_request),
}


@pytest.mark.parametrize(("family", "holding", "wanted"), EXPLORED.values(), ids=EXPLORED.keys())
def test_explored_a_timeout_gives_up_only_while_the_lock_is_held(
    family: LockFamily, holding: str, wanted: Callable[[Any, float], Any]
) -> None:
    # Time is virtual: the timeout fires when every thread is blocked, i.e.
    # while the holder waits for a message only the impatient thread sends.
    outcomes: set[str] = set()

    def program() -> None:
        lock = family.make(0)
        inside = AtomicInt(0)
        tx, rx = channel[None]()

        def holder() -> None:
            with family.acquires[holding](lock):
                inside.fetch_add(1)
                rx.recv()
                inside.fetch_sub(1)

        def impatient() -> None:
            try:
                with wanted(lock, 1.0):
                    assert inside.load() == 0, "got in beside the holder"
                    outcomes.add("got in")
            except TimeoutError:
                assert inside.load() == 1, "timed out on a lock nobody held"
                outcomes.add("timed out")
            tx.send(None)

        with scope() as s:
            s.spawn(holder)
            s.spawn(impatient)
        assert family.idle(lock), "a timeout left the lock held"
        assert family.waiting(lock) == 0, "a timeout left a waiter registered"

    result = explore(program, strategy="exhaustive", preemption_bound=2)
    assert result.stopped_by in (None, "preemption_bound")  # every schedule within the bound
    assert outcomes == {"got in", "timed out"}
