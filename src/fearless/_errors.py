"""Every exception fearless raises lives here.

Each error says what happened and what to do about it, in one sentence.
Errors that have a standard-library twin subclass it, so existing ``except``
clauses keep working: :class:`DeadlockError` and friends are
:class:`RuntimeError` s, timeouts are the built-in :class:`TimeoutError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class FearlessError(Exception):
    """Base class of every error defined by fearless.

    Example:
        >>> import fearless
        >>> issubclass(fearless.PoisonError, fearless.FearlessError)
        True
    """


class PoisonError(FearlessError, Generic[T]):
    """A lock was poisoned: a thread failed while holding it for writing.

    Rust's ``PoisonError<T>``: the lock's data may be half-updated, so the
    lock refuses to hand it out until you say you know. The error holds
    nothing; :meth:`into_inner` acquires the lock anyway (ignoring the
    poison) and returns what Rust's ``PoisonError::into_inner`` returns — a
    guard for ``lock()``/``read()``/``write()``, the value for
    ``Mutex.into_inner()``.

    Example:
        >>> from fearless import Mutex, PoisonError
        >>> m = Mutex([1, 2, 3])
        >>> try:
        ...     with m.lock() as g:
        ...         g.value.append(4)
        ...         raise ValueError("oops")
        ... except ValueError:
        ...     pass
        >>> try:
        ...     m.lock()
        ... except PoisonError as poisoned:
        ...     with poisoned.into_inner() as g:
        ...         print("Recovered:", g.value)
        Recovered: [1, 2, 3, 4]
    """

    def __init__(self, message: str, recover: Callable[[], T]) -> None:
        super().__init__(message)
        self._recover = recover

    def into_inner(self) -> T:
        """Ignore the poison and get what the failed call would have returned.

        For ``lock()``, ``read()`` and ``write()`` this blocks until the lock
        is available and returns a guard; for ``into_inner()`` it returns the
        value.

        Returns:
            The guard (or value) the poisoned call refused to give.

        Example:
            >>> from fearless import Mutex, PoisonError
            >>> m = Mutex(0)
            >>> try:
            ...     with m.lock() as g:
            ...         g.value = 1
            ...         raise KeyError
            ... except KeyError:
            ...     pass
            >>> try:
            ...     m.into_inner()
            ... except PoisonError as e:
            ...     print(e.into_inner())
            1
        """
        return self._recover()


class WouldBlockError(FearlessError):
    """A ``try_*`` operation could not proceed without blocking.

    Raised by ``try_lock()``, ``try_read()`` and ``try_write()`` whenever the
    lock is not available, whoever holds it (Rust's
    ``TryLockError::WouldBlock``). These calls never block and never raise
    :class:`DeadlockError`.

    Example:
        >>> from fearless import Mutex, WouldBlockError
        >>> m = Mutex(0)
        >>> with m.lock():
        ...     try:
        ...         m.try_lock()
        ...     except WouldBlockError as e:
        ...         print(e)
        mutex is locked; try again later or call lock() to wait for it
    """


class DeadlockError(FearlessError, RuntimeError):
    """The call would deadlock the current thread, so it was refused at once.

    Raised instead of hanging when a thread locks a mutex it already holds,
    asks for a write lock while it holds a read lock of the same
    :class:`~fearless.RwLock` (or the reverse), or waits on one
    :class:`~fearless.Condvar` with two different mutexes. Rust would
    deadlock or panic in these cases.

    Example:
        >>> from fearless import Mutex, DeadlockError
        >>> m = Mutex(0)
        >>> with m.lock():
        ...     try:
        ...         m.lock()
        ...     except DeadlockError as e:
        ...         print(e)
        mutex is already locked by this thread; locking it again would deadlock
    """


class GuardReleasedError(FearlessError, RuntimeError):
    """A guard was used after it was released.

    Stands in for the borrow checker: once a guard's ``with`` block ended or
    its ``unlock()`` was called, reading or writing ``value`` (or unlocking
    again) raises. Take a new guard instead.

    Example:
        >>> from fearless import Mutex, GuardReleasedError
        >>> m = Mutex(0)
        >>> with m.lock() as g:
        ...     pass
        >>> try:
        ...     g.value
        ... except GuardReleasedError as e:
        ...     print(e)
        this guard was released; lock the mutex again to get a new guard
    """


class WrongThreadError(FearlessError, RuntimeError):
    """A guard was released (or waited on) by a thread that does not own it.

    In Rust guards are not ``Send``: they cannot leave the thread that
    acquired the lock. fearless checks this at run time.

    Example:
        >>> import threading
        >>> from fearless import Mutex, WrongThreadError
        >>> g = Mutex(0).lock()
        >>> errors = []
        >>> def other():
        ...     try:
        ...         g.unlock()
        ...     except WrongThreadError as e:
        ...         errors.append(str(e))
        >>> t = threading.Thread(target=other); t.start(); t.join(5)
        >>> print(errors[0])
        this guard belongs to the thread that acquired it; release it there
        >>> g.unlock()
    """


class ConsumedError(FearlessError, RuntimeError):
    """An object was used after ``into_inner()``, ``join()`` or ``drop()`` consumed it.

    Rust's ``into_inner(self)`` moves the lock, ``JoinHandle::join(self)``
    the handle and ``drop(arc)`` the :class:`~fearless.Arc` handle; in Python
    the object is still reachable, so fearless marks it consumed and every
    later use raises.

    Example:
        >>> from fearless import Mutex, ConsumedError
        >>> m = Mutex("data")
        >>> m.into_inner()
        'data'
        >>> try:
        ...     m.lock()
        ... except ConsumedError as e:
        ...     print(e)
        this mutex was consumed by into_inner(); it cannot be used any more
    """


class ScopeClosedError(FearlessError, RuntimeError):
    """A thread was spawned on a scope outside the scope's ``with`` block.

    Scoped threads are joined when their ``with scope() as s:`` block ends,
    so ``s.spawn()`` works only while the scope is open: inside the block,
    or from the scope's own threads. Rust's lifetimes make this a compile
    error; call :func:`~fearless.scope` again for a new scope.

    Example:
        >>> from fearless import ScopeClosedError, scope
        >>> with scope() as s:
        ...     pass
        >>> try:
        ...     s.spawn(print, "too late")
        ... except ScopeClosedError as e:
        ...     print(e)
        this scope has ended; spawn scoped threads inside its with block
    """


class NotUniqueError(FearlessError, RuntimeError):
    """An operation needed the only strong handle of an :class:`~fearless.Arc`.

    Raised by :meth:`Arc.try_unwrap <fearless.Arc.try_unwrap>` when other
    strong handles exist (Rust returns ``Err(this)``); the handle stays
    alive and unchanged. Drop the other handles first, or use
    ``into_inner()``, which hands the value to whichever handle is last.

    Example:
        >>> from fearless import Arc, NotUniqueError
        >>> a = Arc(1)
        >>> b = a.clone()
        >>> try:
        ...     a.try_unwrap()
        ... except NotUniqueError as e:
        ...     print(e)
        2 strong handles share this Arc; drop the others first, or use into_inner()
    """
