"""``Condvar``: block a thread until another one says the data changed.

A condition variable is always used together with a :class:`~fearless.Mutex`:
the thread that waits holds a guard of the mutex, and :meth:`Condvar.wait`
releases the mutex while it sleeps and takes it back before returning, so
the guard is still valid and locked afterwards. The thread that changes the
data does so under the same mutex, then calls :meth:`Condvar.notify_one` or
:meth:`Condvar.notify_all`.

>>> import threading
>>> from fearless import Condvar, Mutex
>>> ready = Mutex(False)
>>> changed = Condvar()
>>> def start() -> None:
...     with ready.lock() as guard:
...         guard.value = True
...     changed.notify_one()
>>> thread = threading.Thread(target=start)
>>> thread.start()
>>> with ready.lock() as guard:
...     timed_out = changed.wait_while(guard, lambda is_ready: not is_ready)
...     print(guard.value, timed_out)
True False
>>> thread.join(timeout=30)

The condvar reaches its mutex only through ``_mutex``'s small interface
for it (``guard_lock``, ``guard_poison``, ``guard_unlock``,
``guard_relock``, ``guard_recheck``: Rust's friend
functions ``guard_lock``/``guard_poison``); each waiter parks on a raw lock
of its own from the seam's backend (``_park``: ``waiter``, ``park``).
"""

from __future__ import annotations

import os
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, final

from . import _park, _seam
from ._deadline import Deadline, check_timeout
from ._errors import DeadlockError
from ._mutex import (
    Mutex,
    MutexGuard,
    guard_lock,
    guard_poison,
    guard_recheck,
    guard_relock,
    guard_unlock,
)
from ._util import NotCopyable

T = TypeVar("T")

_MSG_TWO_MUTEXES = (
    "condvar is being waited on with a different mutex by another thread; use one Condvar per Mutex"
)
_MSG_WRONG_THREAD = (
    "this guard belongs to the thread that acquired it; only that thread can wait with it"
)


class CondvarStatistics(NamedTuple):
    """A snapshot of a :class:`Condvar`'s state, from :meth:`Condvar.statistics`.

    It may be stale as soon as it is returned; use it for tests and
    debugging, never for synchronisation.

    Attributes:
        waiting: How many threads were blocked in ``wait()`` and not yet
            notified (a notified thread that is still taking its mutex back
            is no longer counted).
    """

    waiting: int


@final
class Condvar(NotCopyable):
    """A condition variable (Rust's ``Condvar``): wait for a change made under a mutex.

    A thread holding a :class:`~fearless.MutexGuard` calls :meth:`wait`
    (or better :meth:`wait_while`) to release the mutex and sleep until
    another thread calls :meth:`notify_one` or :meth:`notify_all`. Before
    ``wait`` returns, the mutex is locked again and the guard's ``value``
    reloaded, so the guard is valid and locked on return — whether the
    thread was notified or timed out.

    Spurious wakeups:
        As in Rust, :meth:`wait` may return although nobody notified, and a
        notification may be meant for a condition this thread is not
        waiting for. Always re-check the condition in a loop, or let
        :meth:`wait_while` do it.

    Lost notifications:
        A notification reaches only the threads waiting at that moment;
        with no waiter it is lost (Rust's semantics, unlike a semaphore).
        Change the data under the mutex first, then notify: the waiter
        checks the data before it sleeps, so it cannot miss the change.

    One mutex per condvar:
        Waiting with a mutex other than the one another thread is waiting
        with right now raises :class:`~fearless.DeadlockError` (Rust
        panics). Once no thread waits, the condvar may be used with a
        different mutex.

    Poisoning:
        If the mutex is poisoned while a thread waits (another thread's
        ``with`` block failed), the waiting thread takes the mutex back,
        releases it again, marks its guard released, and gets a
        :class:`~fearless.PoisonError`: no exception leaves the lock held.
        The error's ``into_inner()`` locks the mutex again, ignoring the
        poison, and returns a new guard. A mutex that was already poisoned
        when the wait began (a guard from ``PoisonError.into_inner()``)
        does not raise again.

    Example:
        >>> import threading
        >>> from fearless import Condvar, Mutex
        >>> queue = Mutex([])
        >>> not_empty = Condvar()
        >>> def produce() -> None:
        ...     for item in range(3):
        ...         with queue.lock() as guard:
        ...             guard.value.append(item)
        ...         not_empty.notify_one()
        >>> thread = threading.Thread(target=produce)
        >>> thread.start()
        >>> received = []
        >>> while len(received) < 3:
        ...     with queue.lock() as guard:
        ...         _ = not_empty.wait_while(guard, lambda items: not items)
        ...         received.append(guard.value.pop(0))
        >>> received
        [0, 1, 2]
        >>> thread.join(timeout=30)
    """

    _copy_advice = (
        "share the same Condvar between the threads that wait and notify "
        "(a copy would have none of its waiters)"
    )

    __slots__ = ("__weakref__", "_allocate_lock", "_inside", "_lock", "_mutex", "_waiters")

    def __init__(self) -> None:
        # Waiter locks come from the backend in force now, for the condvar's
        # whole life (a scheduler installed later does not take it over).
        self._allocate_lock = _seam.backend.allocate_lock
        # Guards only the registration of a waiter (the one-mutex check);
        # reentrant, so a finaliser that runs inside it cannot deadlock.
        self._lock = _seam.backend.allocate_rlock()
        # Each waiting thread parks on a raw lock of its own, acquired once;
        # a notifier releases it and removes it (threading.Condition's
        # scheme). Every change to these lists is one C call, so an
        # interrupt or a finaliser never finds them half-changed and nothing
        # but registration needs the internal lock: a finaliser that runs
        # inside wait() may call notify_all() or statistics().
        self._waiters: deque[_seam.RawLock] = deque()
        # The waiter locks of every thread inside wait(), notified or not.
        self._inside: list[_seam.RawLock] = []
        # The mutex of the threads inside wait() (stale once none is).
        self._mutex: Mutex[Any] | None = None
        _condvars.add(self)

    # -- waiting ----------------------------------------------------------

    def wait(self, guard: MutexGuard[Any], *, timeout: float | None = None) -> bool:
        """Release the guard's mutex, sleep until notified, lock it again.

        Changes other threads made to the value while this thread slept are
        visible through ``guard.value`` once ``wait`` returns.

        Args:
            guard: A live guard of a :class:`~fearless.Mutex`, held by this
                thread.
            timeout: Seconds to sleep at most; ``None`` sleeps until
                notified. The mutex is locked again even after a timeout,
                which may take longer.

        Returns:
            ``True`` if the timeout passed without a notification, ``False``
            if the thread was notified (even when the timeout passed at the
            same moment) — or woke spuriously, which Rust allows too.

        Raises:
            GuardReleasedError: The guard was already released.
            WrongThreadError: The guard belongs to another thread.
            DeadlockError: Another thread is waiting on this condvar with a
                different mutex.
            PoisonError: The mutex was poisoned while this thread waited.
                The guard is released; the error's ``into_inner()`` returns
                a new guard.
            ValueError: ``timeout`` is negative.
            TypeError: ``guard`` is not a ``MutexGuard``.

        Example:
            >>> from fearless import Condvar, Mutex
            >>> m, cv = Mutex(0), Condvar()
            >>> with m.lock() as guard:
            ...     cv.wait(guard, timeout=0.01)    # nobody notifies
            ...     guard.value += 1                # still locked
            True
            >>> m
            Mutex(1)
        """
        wait = check_timeout(timeout)
        return self._wait(guard, self._check(guard), wait)

    def wait_while(
        self,
        guard: MutexGuard[T],
        predicate: Callable[[T], bool],
        *,
        timeout: float | None = None,
    ) -> bool:
        """Wait as long as ``predicate(guard.value)`` is true.

        Checks the predicate first (without waiting if it is already false)
        and after every wakeup, so spurious wakeups and notifications meant
        for other conditions are absorbed. The predicate always runs with
        the mutex locked.

        Args:
            guard: A live guard of a :class:`~fearless.Mutex`, held by this
                thread.
            predicate: Called with the guarded value; waiting goes on while
                it returns true.
            timeout: Seconds to wait at most, in total; ``None`` waits for
                as long as it takes.

        Returns:
            ``True`` only if the predicate still holds when the time is up;
            ``False`` once it returned false (Rust's ``wait_timeout_while``).

        Raises:
            What :meth:`wait` raises, in the same cases: ``GuardReleasedError``,
            ``WrongThreadError``, ``DeadlockError``, ``PoisonError`` (the guard
            released), ``ValueError`` (a negative ``timeout``) and
            ``TypeError``. An exception from ``predicate`` propagates, the
            guard still holding the mutex.

        Example:
            >>> from fearless import Condvar, Mutex
            >>> m, cv = Mutex(3), Condvar()
            >>> with m.lock() as guard:
            ...     cv.wait_while(guard, lambda n: n > 5)          # false at once
            ...     cv.wait_while(guard, lambda n: n < 5, timeout=0.01)
            False
            True
        """
        wait = check_timeout(timeout)
        mutex = self._check(guard)
        deadline = Deadline(wait)
        while predicate(guard.value):
            remaining = deadline.remaining()
            if remaining == 0:
                return True
            self._wait(guard, mutex, remaining)
        return False

    def _check(self, guard: MutexGuard[Any]) -> Mutex[Any]:
        """The guard's mutex, if the guard is live and this thread's."""
        if not isinstance(guard, MutexGuard):
            raise TypeError(
                f"a condvar waits with a MutexGuard from Mutex.lock(), got {type(guard).__name__}"
            )
        return guard_lock(guard, _MSG_WRONG_THREAD)

    def _wait(self, guard: MutexGuard[Any], mutex: Mutex[Any], wait: float) -> bool:
        """Park until notified or ``wait`` passed; the mutex is held around it.

        Signal safety: every step that changes state is one C call inside
        the try whose handler undoes it, and every undo tolerates the step
        not having happened. If anything is raised once the mutex was
        released, the guard stays released (``guard_relock``'s handler
        releases the raw lock if the re-take got it): an interrupt while
        sleeping or while taking the mutex back leaves the mutex free and
        the guard retired.
        """
        inside = self._inside
        waiters = self._waiters
        waiter = _park.waiter(self._allocate_lock)
        notified = False
        try:
            with self._lock:
                if inside and self._mutex is not mutex:
                    raise DeadlockError(_MSG_TWO_MUTEXES)
                self._mutex = mutex
                inside.append(waiter)
                waiters.append(waiter)
            was_poisoned = guard_poison(mutex)
            guard_unlock(guard, mutex)  # the guard reads as released meanwhile
            # No loop in this frame (see Mutex._acquire_slow).
            notified = _park.park(waiter, Deadline(wait))
        finally:
            try:
                try:
                    waiters.remove(waiter)
                except ValueError:
                    # A notifier removed it (perhaps after the timeout
                    # passed) and releases it: the notification is ours,
                    # so it is not lost.
                    notified = True
            finally:
                try:  # noqa: SIM105 (contextlib.suppress is a Python call: a check point)
                    inside.remove(waiter)
                except ValueError:
                    pass  # never registered (DeadlockError, interrupt)
                # Take the mutex back if it was let go, even when the sleep
                # was cut short by an exception, as threading.Condition
                # does; if that fails, the guard and the mutex stay released.
                guard_relock(guard, mutex)
        guard_recheck(guard, mutex, was_poisoned)
        return not notified

    # -- notifying --------------------------------------------------------

    def notify_one(self) -> None:
        """Wake one thread blocked in :meth:`wait`, if there is one.

        With no thread waiting the notification is lost. Which waiter wakes
        is unspecified.

        Example:
            >>> from fearless import Condvar
            >>> cv = Condvar()
            >>> cv.notify_one()                 # nobody waits: lost
            >>> cv.statistics().waiting
            0
        """
        # An unlocked emptiness check is enough: a waiter registers before
        # it releases its mutex, so a notifier that changed the data under
        # that mutex sees the registration.
        waiters = self._waiters
        while waiters:
            if _wake_first(waiters):
                return

    def notify_all(self) -> None:
        """Wake every thread blocked in :meth:`wait`.

        They take the mutex back one after the other. The threads waiting
        when it is called are the ones woken: a woken thread that waits again
        before ``notify_all`` returns waits for the next notification.

        Example:
            >>> from fearless import Condvar
            >>> Condvar().notify_all()          # nobody waits: nothing happens
        """
        # Only the threads waiting now: a woken thread may wait again before
        # this returns (its predicate still holds), and that wait is for the
        # next notification -- re-checking the list until it is empty would
        # wake it again, for as long as it kept coming back. The oldest
        # waiters are first; each step either wakes the first or finds it
        # taken by someone else (its timeout, another notifier), which is
        # one fewer of those to wake. A thread that came later is woken only
        # if an earlier one left from the middle of the list meanwhile: a
        # spurious wake-up, which wait() allows.
        waiters = self._waiters
        for _ in range(len(waiters)):
            if not waiters:
                return
            _wake_first(waiters)

    # -- introspection ----------------------------------------------------

    def statistics(self) -> CondvarStatistics:
        """A snapshot of how many threads wait to be notified.

        Lets tests see that a thread is blocked in :meth:`wait` without
        sleeping: poll ``statistics().waiting`` up to a deadline.

        Example:
            >>> from fearless import Condvar
            >>> Condvar().statistics()
            CondvarStatistics(waiting=0)
        """
        return CondvarStatistics(waiting=len(self._waiters))

    def __repr__(self) -> str:
        return f"Condvar(<{len(self._waiters)} waiting>)"


#: Every live condvar, so that a child made by os.fork() can forget the
#: waiters of the threads the fork did not copy.
_condvars: weakref.WeakSet[Condvar] = weakref.WeakSet()


def _forget_lost_waiters() -> None:
    """In a forked child: no thread is inside wait() (only the forking thread exists).

    The waiters registered by the parent's other threads would otherwise be
    counted by ``statistics()`` and take notifications meant for the
    child's threads; a registration lock held by one of them would never
    be released.
    """
    for cv in list(_condvars):
        cv._waiters.clear()
        cv._inside.clear()
        cv._lock = _seam.backend.allocate_rlock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_lost_waiters)


def _wake_first(waiters: deque[_seam.RawLock]) -> bool:
    """Wake the first waiter; False if another thread took it off first.

    No internal lock: remove, then release, each one C call with no check
    point between them. Whoever removes a waiter (this notifier, another
    one, or the waiter itself after its timeout) owns its wakeup: a notifier
    that finds it gone tries the next waiter, so a notification is never
    lost to a waiter that already timed out, and never wakes two.
    """
    try:
        waiter = waiters[0]
    except IndexError:
        return True
    try:
        waiters.remove(waiter)
    except ValueError:
        return False
    except RecursionError:
        raise  # nothing done
    except BaseException:
        # Interrupted right after the removal: wake it all the same.
        waiter.release()
        raise
    waiter.release()
    return True
