"""The implementations the contract suites run over (trio's ``lock_factories``).

A contract is written once, as a test taking one of the kinds below, and
parametrised over every kind that shares it (``tests/test_contract_*.py``),
as trio's ``generic_lock_test`` runs one body over every lock factory. A
kind is a small record of how to make the object and drive it; the tests
never branch on the kind's name. Adding a primitive that shares a contract
means adding one record here.

Also :class:`Held`: a guard taken and held by another thread until the test
lets it go, with handshakes and bounded waits (no sleeps).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest

from _helpers import TIMEOUT, Worker, wait_until
from fearless import (
    Mutex,
    MutexGuard,
    PoisonError,
    RwLock,
    RwLockReadGuard,
    RwLockWriteGuard,
    WouldBlockError,
)
from fearless import RwLockUpgradableReadGuard as UpgradableGuard

# -- the messages, as the code words them ------------------------------------------

MSG_MUTEX_RELEASED = "this guard was released; lock the mutex again to get a new guard"
MSG_RWLOCK_RELEASED = (
    "this guard was released; call read(), write() or upgradable_read() on the rwlock "
    "to get a new guard"
)
MSG_WRONG_THREAD = "this guard belongs to the thread that acquired it; release it there"
MSG_READ_ONLY = (
    "this guard gives read-only access; use a write guard (write() or upgrade()) "
    "to assign the value"
)
MSG_NO_DELETE = "a guard's value cannot be deleted; assign a new value instead"
GUARD_COPY_ADVICE = (
    "a guard is this thread's proof that it holds the lock; "
    "copy the value instead: copy.deepcopy(guard.value)"
)
MSG_MUTEX_POISONED = (
    "mutex is poisoned: a thread failed while holding it; "
    "call into_inner() on this error to use the data anyway, or clear_poison()"
)
MSG_RWLOCK_POISONED = (
    "rwlock is poisoned: a thread failed while holding it for writing; "
    "call into_inner() on this error to use the data anyway, or clear_poison()"
)
MSG_MUTEX_CONSUMED = "this mutex was consumed by into_inner(); it cannot be used any more"
MSG_RWLOCK_CONSUMED = "this rwlock was consumed by into_inner(); it cannot be used any more"


# -- lock families -------------------------------------------------------------


@dataclass(frozen=True)
class LockFamily:
    """What ``Mutex`` and ``RwLock`` share: poison, consumption, statistics, repr."""

    name: str
    make: Callable[..., Any]
    poisoned: str
    consumed: str
    #: Every way to ask for a guard (each refuses a poisoned lock), by name.
    acquires: dict[str, Callable[[Any], Any]]
    #: The names, in ``acquires``, of the exclusive (writing) acquire and its ``try_`` form.
    exclusive: str
    try_exclusive: str
    #: Whether a ``statistics()`` snapshot shows no guard held.
    idle: Callable[[Any], bool] = field(repr=False)
    #: How many threads a ``statistics()`` snapshot shows blocked in an acquire.
    waiting: Callable[[Any], int] = field(repr=False)

    def free(self, lock: Any) -> bool:
        """Whether nothing holds ``lock``.

        Its ``statistics()`` say so, and an exclusive ``try_`` from another
        thread gets in (ignoring the poison, if the lock is poisoned).
        """
        if not self.idle(lock):
            return False
        exclusive = self.acquires[self.try_exclusive]

        def attempt() -> bool:
            try:
                guard = exclusive(lock)
            except PoisonError as poisoned:
                guard = poisoned.into_inner()  # statistics said free: does not block
            except WouldBlockError:
                return False
            guard.unlock()
            return True

        return bool(Worker(attempt).join())


MUTEX = LockFamily(
    name="Mutex",
    make=Mutex,
    poisoned=MSG_MUTEX_POISONED,
    consumed=MSG_MUTEX_CONSUMED,
    acquires={
        "lock": lambda m: m.lock(),
        "lock(timeout)": lambda m: m.lock(timeout=TIMEOUT),
        "try_lock": lambda m: m.try_lock(),
    },
    exclusive="lock",
    try_exclusive="try_lock",
    idle=lambda m: not m.statistics().locked,
    waiting=lambda m: m.statistics().waiting,
)

RWLOCK = LockFamily(
    name="RwLock",
    make=RwLock,
    poisoned=MSG_RWLOCK_POISONED,
    consumed=MSG_RWLOCK_CONSUMED,
    acquires={
        "read": lambda r: r.read(),
        "read(timeout)": lambda r: r.read(timeout=TIMEOUT),
        "try_read": lambda r: r.try_read(),
        "write": lambda r: r.write(),
        "write(timeout)": lambda r: r.write(timeout=TIMEOUT),
        "try_write": lambda r: r.try_write(),
        "upgradable_read": lambda r: r.upgradable_read(),
        "upgradable_read(timeout)": lambda r: r.upgradable_read(timeout=TIMEOUT),
    },
    exclusive="write",
    try_exclusive="try_write",
    idle=lambda r: r.statistics()[:3] == (0, None, None),  # readers, writer, upgradable
    waiting=lambda r: r.statistics().waiting_readers + r.statistics().waiting_writers,
)

FAMILIES = {"Mutex": MUTEX, "RwLock": RWLOCK}


# -- guard kinds -------------------------------------------------------------------


@dataclass(frozen=True)
class GuardKind:
    """One kind of guard: how to take it, and what it promises."""

    cls: type[Any]
    family: LockFamily
    take: Callable[..., Any]
    writable: bool
    poisons: bool
    released: str
    #: Whether the lock's ``repr`` can show the value while this guard is held.
    lock_repr_shows_value: bool
    #: Whether this guard shows in a ``statistics()`` snapshot of its lock.
    counted: Callable[[Any], bool] = field(repr=False)
    #: The thread a ``statistics()`` snapshot names as its holder (None: shared, not named).
    owner: Callable[[Any], int | None] | None = field(repr=False, default=None)

    @property
    def name(self) -> str:
        return self.cls.__name__

    def make(self, value: object) -> Any:
        return self.family.make(value)


def _take_write_via_upgrade(lock: Any, timeout: float | None = None) -> Any:
    # The write guard an upgrade makes: the upgradable guard it came from is
    # retired, so the write guard is the only thing that holds the lock.
    return lock.upgradable_read(timeout=timeout).upgrade(timeout=timeout)


GUARD_KINDS = {
    "MutexGuard": GuardKind(
        cls=MutexGuard,
        family=MUTEX,
        take=lambda m, timeout=None: m.lock(timeout=timeout),
        writable=True,
        poisons=True,
        released=MSG_MUTEX_RELEASED,
        lock_repr_shows_value=False,
        counted=lambda m: m.statistics().locked,
        owner=lambda m: m.statistics().owner,
    ),
    "RwLockReadGuard": GuardKind(
        cls=RwLockReadGuard,
        family=RWLOCK,
        take=lambda r, timeout=None: r.read(timeout=timeout),
        writable=False,
        poisons=False,
        released=MSG_RWLOCK_RELEASED,
        lock_repr_shows_value=True,
        counted=lambda r: r.statistics().readers > 0,
    ),
    "RwLockWriteGuard": GuardKind(
        cls=RwLockWriteGuard,
        family=RWLOCK,
        take=lambda r, timeout=None: r.write(timeout=timeout),
        writable=True,
        poisons=True,
        released=MSG_RWLOCK_RELEASED,
        lock_repr_shows_value=False,
        counted=lambda r: r.statistics().writer is not None,
        owner=lambda r: r.statistics().writer,
    ),
    "RwLockUpgradableReadGuard": GuardKind(
        cls=UpgradableGuard,
        family=RWLOCK,
        take=lambda r, timeout=None: r.upgradable_read(timeout=timeout),
        writable=False,
        poisons=False,
        released=MSG_RWLOCK_RELEASED,
        lock_repr_shows_value=True,
        counted=lambda r: r.statistics().upgradable is not None,
        owner=lambda r: r.statistics().upgradable,
    ),
    "RwLockWriteGuard-from-upgrade": GuardKind(
        cls=RwLockWriteGuard,
        family=RWLOCK,
        take=_take_write_via_upgrade,
        writable=True,
        poisons=True,
        released=MSG_RWLOCK_RELEASED,
        lock_repr_shows_value=False,
        counted=lambda r: r.statistics().writer is not None,
        owner=lambda r: r.statistics().writer,
    ),
    "RwLockReadGuard-from-downgrade": GuardKind(
        cls=RwLockReadGuard,
        family=RWLOCK,
        take=lambda r, timeout=None: r.write(timeout=timeout).downgrade(),
        writable=False,
        poisons=False,
        released=MSG_RWLOCK_RELEASED,
        lock_repr_shows_value=True,
        counted=lambda r: r.statistics().readers > 0,
    ),
}

each_guard_kind = pytest.mark.parametrize("kind", GUARD_KINDS.values(), ids=GUARD_KINDS.keys())
each_family = pytest.mark.parametrize("family", FAMILIES.values(), ids=FAMILIES.keys())


# -- holding on another thread -----------------------------------------------------


class Held:
    """``take()`` run on another thread, its guard held there until :meth:`release`.

    Use as a context manager: the guard is held inside the block, released
    (by its own thread) on exit. Every wait is bounded by ``TIMEOUT``.
    """

    def __init__(self, take: Callable[[], Any]) -> None:
        self._taken = threading.Event()
        self._release = threading.Event()
        self.guard: Any = None

        def run() -> None:
            guard = take()
            self.guard = guard
            self._taken.set()
            try:
                assert self._release.wait(TIMEOUT), "Held: never released"
            finally:
                guard.unlock()

        self._worker = Worker(run)
        wait_until(
            lambda: self._taken.is_set() or not self._worker.thread.is_alive(),
            what="the other thread to take the guard",
        )
        if not self._taken.is_set():
            self._worker.join()  # re-raises what take() raised
            raise AssertionError("Held: take() returned without a guard")

    @property
    def ident(self) -> int | None:
        return self._worker.thread.ident

    def release(self) -> None:
        self._release.set()
        self._worker.join()

    def __enter__(self) -> Held:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def on_other_thread(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on a new thread, join it (bounded), re-raise or return its result."""
    return Worker(fn).join()


def raised_on_other_thread(fn: Callable[[], Any]) -> BaseException:
    """The exception ``fn`` raises on a new thread (it must raise)."""

    def run() -> BaseException:
        try:
            fn()
        except BaseException as exc:
            return exc
        raise AssertionError(f"{fn} raised nothing")

    error = on_other_thread(run)
    assert isinstance(error, BaseException)
    return error
