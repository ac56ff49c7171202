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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, final

from . import _seam
from ._deadline import Deadline, check_timeout
from ._errors import ConsumedError, DeadlockError, GuardReleasedError, PoisonError, WrongThreadError
from ._mutex import (
    _CONSUMED,
    _MSG_CONSUMED,
    _MSG_POISONED,
    _MSG_RELEASED,
    _POISONED,
    Mutex,
    MutexGuard,
)

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
class Condvar:
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

    __slots__ = ("__weakref__", "_allocate_lock", "_lock", "_mutex", "_users", "_waiters")

    def __init__(self) -> None:
        # Waiter locks come from the backend in force now, for the condvar's
        # whole life (a scheduler installed later does not take it over).
        self._allocate_lock = _seam.backend.allocate_lock
        self._lock = self._allocate_lock()
        # Each waiting thread parks on a raw lock of its own, acquired once;
        # a notifier pops it and releases it (threading.Condition's scheme).
        self._waiters: deque[_seam.RawLock] = deque()
        # The mutex the threads inside wait() use, while there are any.
        self._mutex: Mutex[Any] | None = None
        self._users = 0

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
            GuardReleasedError: The guard was already released.
            WrongThreadError: The guard belongs to another thread.
            DeadlockError: Another thread is waiting on this condvar with a
                different mutex.
            PoisonError: The mutex was poisoned while this thread waited;
                see :meth:`wait`.
            ValueError: ``timeout`` is negative.
            TypeError: ``guard`` is not a ``MutexGuard``.

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
        mutex = guard._mutex
        if mutex is None:
            raise GuardReleasedError(_MSG_RELEASED)
        if not mutex._is_owned():
            raise WrongThreadError(_MSG_WRONG_THREAD)
        return mutex

    def _wait(self, guard: MutexGuard[Any], mutex: Mutex[Any], wait: float) -> bool:
        """Park until notified or ``wait`` passed; the mutex is held around it."""
        lock = self._lock
        waiter = self._allocate_lock()
        waiter.acquire()
        lock.acquire()
        current = self._mutex
        if current is not None and current is not mutex:
            lock.release()
            raise DeadlockError(_MSG_TWO_MUTEXES)
        self._mutex = mutex
        self._users += 1
        self._waiters.append(waiter)
        lock.release()

        was_poisoned = mutex._trouble & _POISONED
        mutex._release()
        notified = False
        try:
            notified = waiter.acquire(True, wait)
        finally:
            lock.acquire()
            if not notified:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    # A notifier popped this waiter after the timeout passed
                    # but before we got here: the notification is ours, so it
                    # is not lost (and no other waiter was woken for it).
                    notified = True
            self._users -= 1
            if not self._users:
                self._mutex = None
            lock.release()
            _relock(mutex)

        trouble = mutex._trouble
        if trouble & _CONSUMED or (trouble & _POISONED and not was_poisoned):
            # Never leave the lock held by an exception: release it and
            # retire the guard; PoisonError.into_inner() locks again.
            mutex._release()
            guard._mutex = None
            if trouble & _CONSUMED:
                raise ConsumedError(_MSG_CONSUMED)
            raise PoisonError(_MSG_POISONED, mutex._lock_ignoring_poison)
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
        if not self._waiters:
            return
        lock = self._lock
        lock.acquire()
        if self._waiters:
            self._waiters.popleft().release()
        lock.release()

    def notify_all(self) -> None:
        """Wake every thread blocked in :meth:`wait`.

        They take the mutex back one after the other.

        Example:
            >>> from fearless import Condvar
            >>> Condvar().notify_all()          # nobody waits: nothing happens
        """
        if not self._waiters:
            return
        lock = self._lock
        lock.acquire()
        waiters = self._waiters
        while waiters:
            waiters.popleft().release()
        lock.release()

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


def _relock(mutex: Mutex[Any]) -> None:
    """Take the mutex's raw lock back after a wait (never a deadlock)."""
    if mutex._acquire(False):
        return
    me = _seam.get_ident()
    waiting = mutex._waiting
    waiting.append(me)
    try:
        mutex._acquire()
    finally:
        waiting.remove(me)
