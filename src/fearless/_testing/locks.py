"""Simulated raw locks: every acquire a switch point, every wait a decision (internal).

While a run is in charge of the seam (see :mod:`.takeover`), the raw locks
fearless's primitives allocate -- and ``threading.Lock``/``RLock`` made by
simulated threads -- are :class:`SimLock` and :class:`SimRLock`. Acquiring
one is a switch point (:func:`_take_turn`); a thread that finds it held
blocks in the scheduler, never in the kernel, and a release wakes it. Each
lock has a key (who made it, and how many it had made before) that names it
in every run, for the partial-order search. Used after its run (a
finaliser, a handle the test kept), a lock works as a plain lock among the
live threads that use it (:func:`_wait_outside`); one still held by a
thread of a run in progress is refused. Taken by a thread of a later run, a
free one becomes that run's (:func:`_adopt`). Relies on
:class:`.scheduler.Scheduler`, and on :mod:`.takeover` for the run in progress.
"""

from __future__ import annotations

import _thread
import threading
from typing import Final

from .scheduler import OUTSIDE, Scheduler, SimThread

__all__ = ["SimLock", "SimRLock"]

_get_ident: Final = _thread.get_ident
_TIMEOUT_MAX: Final = threading.TIMEOUT_MAX

#: Outside runs, the simulated locks' state changes under this real lock:
#: several live threads may use one at once there (free-threaded
#: finalisers, threads of the test's own that kept a handle).
_outside: Final = OUTSIDE
#: (lock, waiter) for each thread outside runs waiting for a lock that
#: another live thread holds; the release wakes it (``_outside`` held).
_outside_waits: list[tuple[object, _thread.LockType]] = []


def _wait_outside(lock: object) -> None:
    """Wait until ``lock`` is released, outside runs (``_outside`` held; released meanwhile)."""
    waiter = _thread.allocate_lock()
    waiter.acquire()
    _outside_waits.append((lock, waiter))
    _outside.release()
    try:
        waiter.acquire()  # released by _wake_outside
    finally:
        _outside.acquire()


def _wake_outside(lock: object) -> None:
    """Wake the threads outside runs waiting for ``lock`` (``_outside`` held)."""
    for entry in [entry for entry in _outside_waits if entry[0] is lock]:
        _outside_waits.remove(entry)
        entry[1].release()


class _SimLockBase:
    """What both simulated locks share: the key, the label and the release protocol."""

    __slots__ = ("_sched", "key", "label")

    def __init__(self, sched: Scheduler, label: str) -> None:
        self._sched = sched
        self.key = sched.new_key()
        self.label = label

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        raise NotImplementedError

    def _release(self) -> bool:
        """Release once under the scheduler; True when the lock is free now."""
        raise NotImplementedError

    def release(self) -> None:
        if self._sched.running_me() is not None:
            self._release()
            return
        with _outside:
            if self._release():
                _wake_outside(self)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


class SimLock(_SimLockBase):
    """A raw lock whose waits are decisions of the scheduler."""

    __slots__ = ("held", "owner")

    def __init__(self, sched: Scheduler, label: str) -> None:
        self.held = False
        self.owner: SimThread | None = None
        super().__init__(sched, label)
        sched.locks.append(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        sched = self._sched
        if sched.running_me() is None:
            if _adopt(self):
                return self.acquire(blocking, timeout)
            return self._acquire_outside(blocking)
        if not _take_turn(sched, self, blocking, timeout):
            return False
        self.held = True
        self.owner = sched.current
        return True

    def _acquire_outside(self, blocking: bool) -> bool:
        # Held with no owner: by a live thread outside runs, which releases it.
        with _outside:
            while self.held:
                if self.owner is not None or not blocking:
                    return _refuse_outside(self.label, blocking)
                _wait_outside(self)
            self.held = True
            return True

    def _release(self) -> bool:
        if not self.held:
            raise RuntimeError("release unlocked lock")
        self.held = False
        self.owner = None
        self._sched.touch(self)
        self._sched.wake(self)
        return True

    def locked(self) -> bool:
        return self.held

    def drop_dead_owner(self) -> None:
        """The run is over and its thread still holds this lock: free it (see Scheduler.close)."""
        self.held = False
        self.owner = None

    def describe_wait(self) -> str:
        """What a thread blocked on this lock waits for, in a deadlock report.

        Often a signal (a join, a wake-up), not a lock: its label says which.
        """
        return self.label

    def __repr__(self) -> str:
        return f"<{'locked' if self.held else 'unlocked'} simulated lock {self.label}>"


class SimRLock(_SimLockBase):
    """A reentrant raw lock under the scheduler; knows its owner like ``_thread.RLock``."""

    __slots__ = ("count", "owner")

    def __init__(self, sched: Scheduler, label: str) -> None:
        #: The simulated thread holding it; outside runs, a real thread's ident.
        self.owner: SimThread | int | None = None
        self.count = 0
        super().__init__(sched, label)
        sched.locks.append(self)

    @property
    def held(self) -> bool:
        return self.count > 0

    def _caller(self) -> SimThread | int:
        me = self._sched.running_me()
        return _get_ident() if me is None else me

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        sched = self._sched
        me = sched.running_me()
        if me is None:
            if _adopt(self):
                return self.acquire(blocking, timeout)
            return self._acquire_outside(blocking)
        if self.owner is me:
            self.count += 1
            return True
        if not _take_turn(sched, self, blocking, timeout):
            return False
        self.owner = me
        self.count = 1
        return True

    def _acquire_outside(self, blocking: bool) -> bool:
        # Used after its run (a finaliser, a handle kept by the test): a
        # plain reentrant lock among live threads; one held by a thread of
        # a run (a SimThread) is refused.
        me = _get_ident()
        with _outside:
            while True:
                owner = self.owner
                if owner == me or not self.count:
                    self.owner = me
                    self.count += 1
                    return True
                if isinstance(owner, SimThread) or not blocking:
                    return _refuse_outside(self.label, blocking)
                _wait_outside(self)

    def _release(self) -> bool:
        if self.owner is None or self.owner != self._caller():
            raise RuntimeError("cannot release un-acquired lock")
        self.count -= 1
        if self.count:
            return False
        self.owner = None
        self._sched.touch(self)
        self._sched.wake(self)
        return True

    def _is_owned(self) -> bool:
        return self.owner is not None and self.owner == self._caller()

    def drop_dead_owner(self) -> None:
        """The run is over and its thread still holds this lock: free it (see Scheduler.close)."""
        self.count = 0
        self.owner = None

    # threading.Condition uses these to wait on a recursively held RLock.
    def _release_save(self) -> tuple[int, SimThread | int | None]:
        if not self._is_owned():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self.count, self.owner)
        self.count = 1
        self.release()
        return state

    def _acquire_restore(self, state: tuple[int, SimThread | int | None]) -> None:
        self.acquire()
        self.count, self.owner = state

    def describe_wait(self) -> str:
        """What a thread blocked on this lock waits for (a mutex, an Arc's counts: a real owner)."""
        owner = self.owner
        held = f", held by T{owner.index} {owner.name!r}" if isinstance(owner, SimThread) else ""
        return f"{self.label}{held}"

    def __repr__(self) -> str:
        return f"<{'locked' if self.count else 'unlocked'} simulated rlock {self.label}>"


def _take_turn(sched: Scheduler, lock: SimLock | SimRLock, blocking: bool, timeout: float) -> bool:
    """The switch point of an acquire, then wait while ``lock`` is held: False if given up."""
    first = sched.step_mark()
    sched.switch(f"acquire {lock.label}")
    sched.touch(lock)
    if lock.held:
        deadline = _deadline(sched, blocking, timeout)
        while lock.held:
            if deadline == 0:
                return False
            sched.pure_wait(first)
            if not sched.block(lock, deadline if deadline != -1 else None):
                return False
    return True


def _adopt(lock: SimLock | SimRLock) -> bool:
    """Make a free lock of an earlier run the lock of the run whose thread takes it.

    A module first imported during a run makes its module-level locks then
    (a registry's, a cache's), and every later run uses them too. Adopted,
    such a lock belongs to the run that uses it -- its waits are the
    scheduler's decisions -- rather than working as a plain lock outside
    any run, which one simulated thread would block on in the kernel while
    the one holding it waits for its turn. A lock held outside runs stays
    where it is.
    """
    from .takeover import running_here  # noqa: PLC0415 - takeover imports this module

    current = running_here()
    if current is None or current is lock._sched:
        return False
    with _outside:
        if lock.held:
            return False
        lock._sched = current
        lock.key = current.new_key()
        current.locks.append(lock)
    return True


def _refuse_outside(label: str, blocking: bool) -> bool:
    """An acquire outside any run of a lock held by a thread of a finished run."""
    if blocking:
        raise RuntimeError(
            f"{label} was made under fearless.testing and is held by a thread of a "
            "run that is over; it cannot be waited for outside that run"
        )
    return False


def _deadline(sched: Scheduler, blocking: bool, timeout: float) -> float:
    """0: do not wait; -1: wait forever; else the virtual time to give up at."""
    if not blocking or timeout == 0:
        return 0
    if timeout < 0 or timeout >= _TIMEOUT_MAX:
        return -1
    return sched.clock + timeout
