"""Parking a thread: one waiter, one wait with a deadline, one backoff.

Every fearless primitive that blocks does it the same way, trio's
``ParkingLot`` and crossbeam's ``Waker``/``Backoff`` written once:

1. :func:`waiter` -- a raw lock from the seam, acquired once so that it is
   held. The primitive registers it where a waker will look (a list, a
   deque, a queue entry) under its own rules.
2. :func:`park` -- block on it in slices of ``_seam.backend.slice``
   seconds until it is released (True), the caller's ``woken()`` re-check
   says the wait is over (True), or the :class:`~fearless._deadline.Deadline`
   passed (False). :func:`park_slice` is one such slice, for the one
   primitive (``RwLock``) whose re-check decides under its internal lock
   whether to stop with or without the lock.
3. Waking is releasing the waiter's lock: whoever takes the waiter out of
   the primitive's registry (its one-shot claim) releases it, once; a
   waiter that already gave up (timed out, interrupted) is not waiting on
   its lock any more, so releasing it then wakes nobody and costs nothing.
   Wake paths call ``lock.release()`` themselves (one C call, no Python
   layer); :func:`unpark_all` releases a list handed over at once.
4. :func:`spin` / :func:`snooze` -- the backoff before blocking: yield a
   few times (``_seam.backend.spins`` / ``snoozes``, both 0 under the
   explorer) while the awaited state is not there yet.

Why slices: between two slices the parked thread runs Python code again,
so a ``KeyboardInterrupt`` sent by ``_thread.interrupt_main()`` (which
wakes no blocked C call), ``faulthandler`` and the finalisers that
free-threaded CPython queues for this thread all get to run; and a wake-up
that an interrupt cut off costs one slice, not a hang, because the caller's
``woken()`` re-checks the state after every slice. An infinite wait
(``Deadline(-1)``) reads no clock at all. The explorer's backend sets
``slice`` to ``math.inf``: one blocking acquire per park (passed on as
``-1``, "forever"), which keeps its schedules small.

Which backend a waiter comes from: the one in force when :func:`waiter`
runs, unless the caller passes the ``allocate_lock`` it captured at
construction (``Condvar``, ``Barrier``, ``Once`` and friends,
``JoinHandle``'s packet: a primitive made under the explorer keeps its
simulated locks for its whole life).

The loops live here, in functions of their own, so an interrupt raised at a
back edge reaches the caller at the ``CALL``, inside its ``try``
(``tests/test_interrupt_safety.py``). Relies on ``_seam`` (raw locks, the
backend's ``slice``/``spins``/``snoozes``, ``pause``/``snooze``) and
``_deadline`` only; nothing here touches ``_thread`` or ``time``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from . import _seam
from ._deadline import Deadline

__all__ = ["FOREVER", "Acquirable", "park", "park_slice", "snooze", "spin", "unpark_all", "waiter"]

_INF = float("inf")


class Acquirable(Protocol):
    """What :func:`park` blocks on: a raw lock or rlock of the seam's."""

    def acquire(self, blocking: bool = ..., timeout: float = ..., /) -> bool: ...


#: The deadline of a wait with no timeout: reads no clock, never expires.
FOREVER = Deadline(-1)


def waiter(allocate_lock: Callable[[], _seam.RawLock] | None = None) -> _seam.RawLock:
    """A new held raw lock to park on; releasing it wakes the parked thread.

    From ``allocate_lock`` if given (a backend's, captured when the
    primitive was made), else from the backend in force now.
    """
    lock = _seam.backend.allocate_lock() if allocate_lock is None else allocate_lock()
    lock.acquire()
    return lock


def park_slice(waiter: _seam.RawLock, remaining: float, slice_: float) -> bool:
    """Block on ``waiter`` for one slice: ``slice_``, or ``remaining`` if shorter.

    ``remaining`` is a deadline's :meth:`~fearless._deadline.Deadline.remaining`
    (``-1``: none). Whether the waiter was released (and is now acquired).
    """
    step = slice_ if remaining < 0 else min(remaining, slice_)
    return waiter.acquire(True, -1 if step == _INF else step)


def park(
    waiter: Acquirable,
    deadline: Deadline,
    woken: Callable[[], bool] | None = None,
    wake_in: Callable[[], float] | None = None,
) -> bool:
    """Block on ``waiter`` until released, ``woken()``, or past ``deadline``.

    True once ``waiter`` was released (it is acquired now) or ``woken()``
    returned true after a slice; False once ``deadline`` passed (checked
    after ``woken()``). ``woken`` may raise: the exception propagates, the
    caller's handler unregisters the waiter. ``wake_in()``, if given,
    shortens a slice to the seconds until the state may change by itself
    (a timer channel; ``-1``: no such time).

    Example:
        >>> lock = waiter()
        >>> park(lock, Deadline(0.01))            # nobody releases it
        False
        >>> lock.release()
        >>> park(lock, FOREVER)                   # released before parking
        True
    """
    slice_ = _seam.backend.slice
    while True:
        remaining = deadline.remaining()
        step = slice_ if remaining < 0 else min(remaining, slice_)
        if wake_in is not None:
            timer = wake_in()
            if 0 <= timer < step:
                step = timer
        if waiter.acquire(True, -1 if step == _INF else step):
            return True
        if woken is not None and woken():
            return True
        if deadline.expired():
            return False


def unpark_all(waiters: Iterable[_seam.RawLock]) -> None:
    """Wake every waiter of a list the caller took over (nobody else holds it)."""
    for lock in waiters:
        lock.release()


def spin(ready: Callable[[], bool]) -> bool:
    """Let other threads run up to ``backend.spins`` times until ``ready()``.

    parking_lot's adaptive spinning, for a lock held a few bytecodes at a
    time: under the GIL a thread that blocks in C is handed the lock while
    the GIL is elsewhere, and every later acquisition then costs two
    context switches (a lock convoy). Pauses first, then looks; whether
    ``ready()`` came true.
    """
    pause = _seam.backend.pause
    for _ in range(_seam.backend.spins):
        pause()
        if ready():
            return True
    return False


def snooze(ready: Callable[[], bool], times: int | None = None) -> bool:
    """Give the processor away up to ``times`` times while not ``ready()``.

    ``times`` defaults to the backend's ``snoozes``.

    crossbeam's ``Backoff::snooze``: the other side of a channel usually
    makes progress within microseconds, and parking costs a wake-up on both
    sides. Looks first, then yields; whether ``ready()`` came true (False
    also when the snoozes ran out without a last look).
    """
    backend = _seam.backend
    yield_ = backend.snooze
    for _ in range(backend.snoozes if times is None else times):
        if ready():
            return True
        yield_()
    return False
