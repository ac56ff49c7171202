"""The one seam through which fearless blocks, wakes threads and keeps time.

Every primitive is built from the handful of operations below and nothing
else: raw locks (acquire with a timeout, release), the current thread's
identity, starting a thread, the monotonic clock, and a yield point. Normally
they are the ``_thread``/``threading``/``time`` functions themselves — the
only cost on a hot path is the attribute check that chooses the backend when
a raw lock is *created*; acquiring and releasing call the C lock directly.

A deterministic scheduler (``fearless.testing``) installs a
:class:`Backend` of its own with :func:`install`. Its raw locks turn every
acquire and release into a switch point, its threads run one at a time, and
its clock is virtual, so no fearless operation ever blocks the OS thread
behind the scheduler's back. Primitives created while such a backend is
installed use it for their whole life.

This module is internal; its names may change without notice.
"""

from __future__ import annotations

import _thread
import gc
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Protocol, cast

__all__ = [
    "Backend",
    "RawLock",
    "RawRLock",
    "ThreadBackend",
    "allocate_lock",
    "allocate_rlock",
    "backend",
    "collecting",
    "collects_at_allocation",
    "get_ident",
    "install",
    "monotonic",
    "pause",
    "rlock_owner",
    "start_thread",
    "thread_gone",
]


class RawLock(Protocol):
    """What the primitives need of a lock: ``_thread.LockType``'s interface.

    ``with`` included: a critical section entered by a ``with`` statement
    cannot be cut by ``KeyboardInterrupt`` between the acquire and the
    protected block, where one entered by ``acquire()`` can (CPython runs
    signal handlers when a call returns).
    """

    def acquire(self, blocking: bool = ..., timeout: float = ..., /) -> bool: ...

    def release(self) -> None: ...

    def locked(self) -> bool: ...

    def __enter__(self) -> bool: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class RawRLock(Protocol):
    """What the primitives need of a reentrant lock: ``_thread.RLock``'s interface.

    fearless never acquires one recursively; it uses the C lock's ownership
    tracking (``_is_owned``) to detect self-deadlock and wrong-thread
    releases without Python-level bookkeeping on the fast path.
    """

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...

    def release(self) -> None: ...

    def _is_owned(self) -> bool: ...

    def __enter__(self) -> bool: ...

    def __exit__(self, *exc_info: object) -> None: ...


class Backend(Protocol):
    """The operations a backend provides; see the module docstring."""

    #: How many times a contended slow path yields (:meth:`pause`) and
    #: retries before it blocks: parking_lot's adaptive spinning, which
    #: under the GIL avoids lock convoys. The scheduler sets 0: spinning
    #: there only multiplies the schedules to explore.
    spins: int

    #: How many times a channel operation that found no message (or no
    #: room) gives the processor away (:meth:`snooze`) and retries before it
    #: blocks. The other side of a channel usually makes progress within
    #: microseconds, and parking costs a wake-up on both sides. The
    #: scheduler sets 0.
    snoozes: int

    #: The longest single blocking wait, in seconds, of a wait that may be
    #: long (``recv``, ``join``). Between slices the waiting thread runs
    #: Python code again, so finalisers queued for it on free-threaded
    #: CPython run promptly. ``math.inf`` waits in one piece.
    slice: float

    def allocate_lock(self) -> RawLock:
        """A new, unlocked, non-reentrant raw lock."""
        ...

    def allocate_rlock(self) -> RawRLock:
        """A new, unlocked, reentrant raw lock that knows its owner."""
        ...

    def rlock_owner(self, lock: RawRLock) -> int | None:
        """The identity of the thread holding ``lock``, or None (a snapshot)."""
        ...

    def start_thread(self, target: Callable[[], object], name: str | None) -> None:
        """Start a thread that runs ``target()``."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def pause(self) -> None:
        """A point where another thread may run (a switch point)."""
        ...

    def snooze(self) -> None:
        """Give the processor away for a moment: cheaper than :meth:`pause`.

        ``os.sched_yield()``: it releases the GIL and returns within a
        microsecond when no other thread wants the core, where
        ``time.sleep(0)`` costs the kernel's timer slack (about 80 µs here).
        """
        ...

    def rotation(self) -> int:
        """A counter of the calling thread that goes up by one per call.

        ``select`` starts at a different channel each time from it, so that
        no channel starves another; one counter per thread keeps two
        selecting threads from skewing each other's rotation, and keeps it
        deterministic under the scheduler.
        """
        ...


_OWNER = re.compile(r"owner=(\d+) count=(\d+)")


def _sleep0() -> None:
    time.sleep(0)


class ThreadBackend:
    """The real thing: OS threads and ``_thread`` locks."""

    spins = 8
    snoozes = 100
    slice = 0.05
    allocate_lock = staticmethod(_thread.allocate_lock)
    monotonic = staticmethod(time.monotonic)

    @staticmethod
    def allocate_rlock() -> RawRLock:
        return cast(RawRLock, _thread.RLock())

    @staticmethod
    def rlock_owner(lock: RawRLock) -> int | None:
        # ``_thread.RLock`` shows its owner only in its repr:
        # "<locked _thread.RLock object owner=139… count=1 at 0x…>".
        match = _OWNER.search(repr(lock))
        if match is None or match.group(2) == "0":
            return None
        return int(match.group(1))

    @staticmethod
    def start_thread(target: Callable[[], object], name: str | None) -> None:
        if forked_away:
            # A new thread may reuse the identity of one the fork lost.
            def run() -> object:
                _forget_gone(_thread.get_ident())
                return target()

            threading.Thread(target=run, name=name).start()
        else:
            threading.Thread(target=target, name=name).start()

    @staticmethod
    def pause() -> None:
        time.sleep(0)

    # Windows has no sched_yield; its time.sleep(0) is Sleep(0), a yield.
    snooze = staticmethod(getattr(os, "sched_yield", _sleep0))

    @staticmethod
    def rotation() -> int:
        n: int = getattr(_per_thread, "rotation", 0)
        _per_thread.rotation = n + 1
        return n


_per_thread = threading.local()


#: The backend in force. Read it, never assign it: use :func:`install`.
backend: Backend = ThreadBackend()

#: The current thread's identity. The scheduler runs every simulated thread on
#: an OS thread of its own, so this is the same function under every backend.
get_ident: Callable[[], int] = _thread.get_ident

#: The thread running a garbage collection now, on CPython 3.11; None
#: otherwise, and always None from 3.12. On 3.11 an allocation runs a
#: collection at once, finalisers included, wherever it happens: inside a
#: critical section that makes no call, and at the end of every ``with``
#: block on a raw lock (the call to ``__exit__`` builds an argument tuple
#: before it releases). A primitive whose finalisers must not wait for an
#: internal lock their own thread may hold reads this (see
#: ``_RwLockCore._inside``). From 3.12 an allocation only schedules a
#: collection, which runs where the interpreter checks for signals: never
#: inside a section that makes no call, and after the release at the end
#: of a ``with`` block (tests/test_rwlock_faults.py checks both).
collecting: int | None = None

#: Whether an allocation runs a garbage collection at once (CPython 3.11)
#: rather than scheduling one for the next signal check (3.12 and later).
collects_at_allocation = sys.version_info < (3, 12)

if sys.version_info < (3, 12):

    def _note_collection(phase: str, info: dict[str, int]) -> None:
        # A gc.callbacks entry: called on the collecting thread, with
        # phase "start" before anything is collected and "stop" after.
        # Collections do not nest (one that a finaliser asks for while
        # another runs returns at once without calling back).
        global collecting
        collecting = _thread.get_ident() if phase == "start" else None

    gc.callbacks.append(_note_collection)


def allocate_lock() -> RawLock:
    """A new raw lock from the backend in force."""
    return backend.allocate_lock()


def allocate_rlock() -> RawRLock:
    """A new reentrant raw lock from the backend in force."""
    return backend.allocate_rlock()


def rlock_owner(lock: RawRLock) -> int | None:
    """Who holds ``lock`` right now (a snapshot), or None."""
    return backend.rlock_owner(lock)


def start_thread(target: Callable[[], object], name: str | None = None) -> None:
    """Start a thread running ``target()`` on the backend in force."""
    backend.start_thread(target, name)


def monotonic() -> float:
    """The backend's monotonic clock, in seconds."""
    return backend.monotonic()


def pause() -> None:
    """Let another thread run (a switch point under the scheduler)."""
    backend.pause()


# -- fork ------------------------------------------------------------------
#
# ``os.fork()`` copies the process with only the calling thread. A lock that
# another thread held at that moment stays held in the child, by a thread
# that will never run again: waiting for it would hang forever. The hooks
# below remember which threads existed before the fork; in the child, every
# one of them but the survivor is gone, and a primitive about to wait for a
# holder asks :func:`thread_gone` first and raises instead of hanging.

_threads_before_fork: frozenset[int] = frozenset()

#: In a child process made by ``os.fork()``: the identities of the threads
#: of the parent that do not exist here. Empty in a process that never forked.
forked_away: frozenset[int] = frozenset()


def _before_fork() -> None:
    global _threads_before_fork
    _threads_before_fork = frozenset(threading._active)  # type: ignore[attr-defined]


def _after_fork_in_child() -> None:
    global forked_away
    forked_away = (forked_away | _threads_before_fork) - {_thread.get_ident()}


def thread_gone(ident: int | None) -> bool:
    """Whether ``ident`` names a thread lost by ``os.fork()``: it can never run again.

    True only in a forked child, for a thread of the parent that existed at
    the fork and is not the one that forked. A thread started in the child
    may be given a lost thread's identity: :func:`start_thread` forgets it
    then.
    """
    return ident is not None and ident in forked_away


def _forget_gone(ident: int) -> None:
    global forked_away
    if ident in forked_away:
        forked_away = forked_away - {ident}


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


@contextmanager
def install(new: Backend) -> Iterator[Backend]:
    """Put ``new`` in force for the duration of a ``with`` block."""
    global backend
    previous, backend = backend, new
    try:
        yield new
    finally:
        backend = previous
