"""Every exception fearless raises lives here.

Each error says what happened and what to do about it, in one sentence.
Errors that have a standard-library twin subclass it, so existing ``except``
clauses keep working: :class:`DeadlockError` and friends are
:class:`RuntimeError` s, timeouts are the built-in :class:`TimeoutError`.
"""

from __future__ import annotations

import queue
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

    Typing:
        ``PoisonError`` is generic over what :meth:`into_inner` returns:
        ``Mutex[T].lock()`` raises a ``PoisonError[MutexGuard[T]]``,
        ``Mutex[T].into_inner()`` a ``PoisonError[T]`` (``RwLock`` likewise
        with its guards). An ``except`` clause cannot name the type
        argument, so annotate the caught error to have it checked::

            try:
                guard = m.lock()
            except PoisonError as e:
                poisoned: PoisonError[MutexGuard[list[int]]] = e
                guard = poisoned.into_inner()   # MutexGuard[list[int]]

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
        >>> from fearless import Mutex
        >>> m = Mutex(0)
        >>> guard = m.lock()
        >>> m.try_lock()                    # held by this very thread: no DeadlockError
        Traceback (most recent call last):
        ...
        fearless.WouldBlockError: mutex is locked; try again later or call lock() to wait for it
        >>> guard.unlock()
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
        >>> from fearless import Arc
        >>> a = Arc(1)
        >>> b = a.clone()
        >>> a.try_unwrap()
        Traceback (most recent call last):
        ...
        fearless.NotUniqueError: 2 strong handles share this Arc; drop the others first,
        or use into_inner()
        >>> a.strong_count()                # unchanged: still two owners
        2
    """


# -- channels (fearless.mpsc) ---------------------------------------------------


class SendError(FearlessError, Generic[T]):
    """A message could not be sent because the channel's receiver is gone.

    Rust's ``SendError<T>``: the message is handed back in :attr:`value`,
    never silently dropped.

    Example:
        >>> from fearless.mpsc import SendError, channel
        >>> tx, rx = channel[str]()
        >>> rx.close()
        >>> try:
        ...     tx.send("lost?")
        ... except SendError as e:
        ...     print(repr(e.value))
        'lost?'
    """

    def __init__(self, message: str, value: T) -> None:
        super().__init__(message)
        #: The message that was not sent.
        self.value = value


class SendTimeoutError(FearlessError, TimeoutError, Generic[T]):
    """A bounded send found no room (or no receiver) in time; a :class:`TimeoutError`.

    Raised by ``SyncSender.send(value, timeout=...)``; the message was not
    sent and is handed back in :attr:`value`.

    Example:
        >>> from fearless.mpsc import SendTimeoutError, sync_channel
        >>> tx, rx = sync_channel[int](0)
        >>> try:
        ...     tx.send(1, timeout=0.001)
        ... except TimeoutError as e:
        ...     print(type(e).__name__, e.value)
        SendTimeoutError 1
    """

    def __init__(self, message: str, value: T) -> None:
        super().__init__(message)
        #: The message that was not sent.
        self.value = value


class Full(FearlessError, queue.Full, Generic[T]):
    """``try_send`` found the channel full; a :class:`queue.Full`.

    The message was not sent and is handed back in :attr:`value` (Rust's
    ``TrySendError::Full(value)``).

    Example:
        >>> import queue
        >>> from fearless.mpsc import sync_channel
        >>> tx, rx = sync_channel[int](1)
        >>> tx.try_send(1)
        >>> try:
        ...     tx.try_send(2)
        ... except queue.Full as e:
        ...     print(e.value)
        2
    """

    def __init__(self, message: str, value: T) -> None:
        super().__init__(message)
        #: The message that was not sent.
        self.value = value


class Empty(FearlessError, queue.Empty):
    """``try_recv`` found no message queued; a :class:`queue.Empty`.

    Rust's ``TryRecvError::Empty``. When the channel is also disconnected,
    ``try_recv`` raises :class:`RecvError` instead.

    Example:
        >>> import queue
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[int]()
        >>> try:
        ...     rx.try_recv()
        ... except queue.Empty as e:
        ...     print(type(e).__name__)
        Empty
    """


class RecvError(FearlessError):
    """Every sender is gone and no message is left: nothing will ever arrive.

    Rust's ``RecvError`` (and ``TryRecvError::Disconnected``). Messages
    sent before the last sender went are always received first. Iterating
    a receiver stops here instead of raising.

    Example:
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[int]()
        >>> tx.send(1)
        >>> tx.close()
        >>> list(rx)                        # iteration stops at the disconnection
        [1]
        >>> rx.recv()
        Traceback (most recent call last):
        ...
        fearless.mpsc.RecvError: every sender is gone and the channel is empty; no message
        will ever arrive
    """


class RecvTimeoutError(FearlessError, TimeoutError):
    """No message arrived within the timeout; a :class:`TimeoutError`.

    Rust's ``RecvTimeoutError::Timeout``; raised by ``recv(timeout=...)``
    and ``select(..., timeout=...)``.

    Example:
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[int]()
        >>> try:
        ...     rx.recv(timeout=0.001)
        ... except TimeoutError as e:
        ...     print(type(e).__name__)
        RecvTimeoutError
    """


class ConcurrentRecvError(FearlessError, RuntimeError):
    """Two threads (or tasks) received from one channel at the same time.

    A channel has a single consumer: Rust's ``Receiver`` is not ``Sync``,
    so sharing one between threads is a compile error. fearless detects it
    when a receive has to wait while another is in progress. Receive in
    one place and hand the messages on (or give each consumer a channel).

    Example:
        >>> import threading
        >>> from fearless.mpsc import ConcurrentRecvError, channel
        >>> tx, rx = channel[int]()
        >>> waiting = threading.Thread(target=lambda: rx.recv(timeout=30))
        >>> waiting.start()
        >>> while not rx._busy:                 # wait until the thread is receiving
        ...     pass
        >>> try:
        ...     rx.recv(timeout=1)
        ... except ConcurrentRecvError as e:
        ...     print(e)
        another thread or task is already receiving on this Receiver; a channel has a single
        consumer (Rust's Receiver is not Sync): receive in one place and hand the messages on
        >>> tx.send(1); waiting.join()
    """


# -- parallelism (par_map, par_iter, pools) -------------------------------------


class WorkerDiedError(FearlessError, RuntimeError):
    """A worker process died while running an item of a parallel call.

    Raised by ``par_map`` and friends on the ``"processes"`` backend when a
    worker ends abruptly (``os._exit``, a crash, SIGKILL) instead of hanging;
    the message names the item it was running and its exit code. The pool
    starts new workers on next use. Its ``__cause__`` is the
    :class:`concurrent.futures.process.BrokenProcessPool` the pool reported.
    On a Dask cluster (``backend=client``) it is raised when the workers
    running a chunk died and Dask gave up on the chunk; its ``__cause__`` is
    Dask's ``KilledWorker``.

    Example:
        >>> import os
        >>> from fearless import WorkerDiedError, par_map
        >>> try:
        ...     par_map(os._exit, [3], backend="processes")
        ... except WorkerDiedError as e:
        ...     print(e)
        a worker process died (exit code 3) while running item 0;
        the pool starts new workers on next use
    """


class PoolClosedError(FearlessError, RuntimeError):
    """A :class:`~fearless.ThreadPool` or :class:`~fearless.ProcessPool` was used after ``close()``.

    Pools are closed by ``close()`` or at the end of their ``with`` block;
    make a new pool instead.

    Example:
        >>> from fearless import PoolClosedError, ThreadPool
        >>> with ThreadPool(2) as pool:
        ...     pool.par_map(abs, [-1, -2])
        [1, 2]
        >>> try:
        ...     pool.par_map(abs, [-3])
        ... except PoolClosedError as e:
        ...     print(e)
        this pool was closed; create a new pool to run more work
    """


class BackendUnavailableError(FearlessError, RuntimeError):
    """The parallel backend asked for does not exist in this interpreter.

    ``backend="interpreters"`` needs Python 3.14's
    ``concurrent.futures.InterpreterPoolExecutor``; the message names the
    version needed and the alternatives.

    Example:
        >>> from fearless import BackendUnavailableError, par_map
        >>> try:
        ...     result = par_map(abs, [-1], backend="interpreters")
        ... except BackendUnavailableError:
        ...     result = par_map(abs, [-1], backend="threads")
        >>> result
        [1]
    """
