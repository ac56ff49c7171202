"""``Mutex[T]``: a lock that owns its data, handed out through guards.

What lives here: :class:`Mutex` (a reentrant raw lock from the seam, the
data, and the ``_trouble`` bits of :mod:`fearless._poison`), its
:class:`MutexGuard`, and the small interface :class:`~fearless.Condvar`
reaches a mutex through (``guard_lock``, ``guard_poison`` and friends, at
the end: Rust's friend functions of the same names). ``lock()`` is written
inline; every other way a guard comes to hold its mutex (``try_lock``,
``PoisonError.into_inner()``, Condvar's re-take, ``repr`` and
``into_inner`` through ``_guard_if_free``) is one step, ``_lock_into``.
Relies on ``_seam`` for the raw lock, waiting and thread identity, on
``_poison`` for what poison and consumption mean and say, and on
``_deadline`` for timeouts.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Generic, NamedTuple, Self, TypeVar, final

from . import _park, _poison, _seam
from ._deadline import Deadline, check_timeout
from ._errors import (
    DeadlockError,
    GuardReleasedError,
    WouldBlockError,
    WrongThreadError,
)
from ._poison import CONSUMED as _CONSUMED
from ._poison import POISONED as _POISONED
from ._util import NotCopyable, Twinned, TwinnedNoPublicConstructor

T = TypeVar("T")


#: What a poisoned or consumed mutex says (``Mutex._trouble`` holds the bits).
_SAYS = _poison.messages("mutex", "while holding it")

_MSG_DEADLOCK = "mutex is already locked by this thread; locking it again would deadlock"
_MSG_WOULD_BLOCK = "mutex is locked; try again later or call lock() to wait for it"
_MSG_RELEASED = "this guard was released; lock the mutex again to get a new guard"
_MSG_WRONG_THREAD = "this guard belongs to the thread that acquired it; release it there"
_MSG_LOCKED_INTO_INNER = "mutex is locked; into_inner() needs every guard released first"
_MSG_FORKED = (
    "mutex is held by a thread that os.fork() did not copy into this process, so it can "
    "never be released; create locks after forking, or use the 'forkserver' or 'spawn' "
    "start methods"
)


class MutexStatistics(NamedTuple):
    """A snapshot of a :class:`Mutex`'s state, from :meth:`Mutex.statistics`.

    It may be stale as soon as it is returned; use it for tests and
    debugging, never for synchronisation.

    Attributes:
        locked: Whether some thread held the mutex.
        owner: The ``threading.get_ident()`` of that thread, or None.
        waiting: How many threads were blocked in ``lock()``.
        poisoned: Whether the mutex was poisoned.
    """

    locked: bool
    owner: int | None
    waiting: int
    poisoned: bool


@final
class Mutex(NotCopyable, Generic[T], metaclass=Twinned):
    """A mutual-exclusion lock that owns the value it protects (Rust's ``Mutex<T>``).

    The value is reachable only through a :class:`MutexGuard`, which
    :meth:`lock` returns once the lock is held. The guard is a context
    manager; its ``with`` block releases the lock on the way out, however
    the block ends.

    Args:
        value: The data to protect. The mutex owns it from now on: keep no
            other reference to it if you want the lock to mean something.
        poison: Whether a failing ``with`` block poisons the mutex
            (``True``, as in Rust) or not.

    Poisoning:
        If a ``with`` block on a guard exits by an exception, the mutex is
        poisoned — the data may be half-updated — and the exception
        propagates unchanged. Afterwards :meth:`lock` and :meth:`try_lock`
        raise :class:`~fearless.PoisonError` (holding nothing) until
        :meth:`clear_poison` is called; the error's ``into_inner()`` gives a
        guard anyway. ``Mutex(value, poison=False)`` never poisons.

    Deadlocks:
        Locking a mutex the current thread already holds raises
        :class:`~fearless.DeadlockError` at once instead of hanging.

    Example:
        >>> from fearless import Mutex
        >>> m = Mutex([1, 2])
        >>> with m.lock() as guard:
        ...     guard.value.append(3)
        >>> m
        Mutex([1, 2, 3])
        >>> with m.lock() as guard:
        ...     guard.value = []       # replace the value outright
        >>> m.into_inner()
        []
    """

    _copy_advice = (
        "share the same Mutex between threads (or wrap it in an Arc); to copy the "
        "data, copy it under the lock (with m.lock() as guard: "
        "copy.deepcopy(guard.value)) or take it out with into_inner()"
    )

    __slots__ = (
        "__weakref__",
        "_acquire",
        "_data",
        "_is_owned",
        "_lock",
        "_poison",
        "_release",
        "_trouble",
        "_waiting",
    )

    #: The compiled core's class, when the core is in use (``fearless._mutex_twins``);
    #: ``Twinned`` makes its objects.
    _native_twin: ClassVar[type | None] = None

    def __init__(self, value: T, *, poison: bool = True) -> None:
        lock = _seam.allocate_rlock()
        self._lock = lock
        self._acquire = lock.acquire
        self._release = lock.release
        self._is_owned = lock._is_owned
        self._data = value
        self._poison = bool(poison)
        self._trouble = 0
        self._waiting: list[int] = []

    # -- acquiring --------------------------------------------------------

    def lock(self, *, timeout: float | None = None) -> MutexGuard[T]:
        """Block until the mutex is free, lock it, and return a guard.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever. A
                timeout beyond ``threading.TIMEOUT_MAX`` waits as long as
                the platform allows.

        Returns:
            A guard holding the lock; use it in a ``with`` block.

        Raises:
            DeadlockError: This thread already holds the mutex.
            PoisonError: The mutex is poisoned; nothing is held. Its
                ``into_inner()`` blocks for the lock and returns a guard.
            TimeoutError: The mutex was not free within ``timeout``.
            ConsumedError: :meth:`into_inner` consumed the mutex.
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import Mutex
            >>> counter = Mutex(0)
            >>> with counter.lock(timeout=1.0) as guard:
            ...     guard.value += 1
            >>> counter
            Mutex(1)
        """
        # No Python call on the hot path (tests/test_lock_fast_paths.py checks
        # it behaves as the shared steps, _lock_into and the refusal). The
        # guard exists before the acquire (built first, too, so the lock is
        # held across as few bytecodes as possible). Whatever interrupts from
        # there on (KeyboardInterrupt, RecursionError) is caught below and
        # releases the lock if this call took it: release-if-held is one C
        # call, so there is no window between learning and acting.
        if self._is_owned():
            raise DeadlockError(_MSG_DEADLOCK)
        guard: MutexGuard[T] = _new_guard(MutexGuard)
        guard._mutex = self
        try:
            if timeout is not None or not self._acquire(False):
                self._acquire_slow(timeout)
            if self._trouble:
                self._refuse(guard)
        except BaseException:
            guard._mutex = None
            try:
                self._release()
            except RecursionError:
                guard._mutex = self  # the finaliser releases it
            except RuntimeError:
                pass  # not taken: this thread did not hold it before the call
            raise
        return guard

    def try_lock(self) -> MutexGuard[T]:
        """Lock the mutex if it is free right now, without blocking.

        Returns:
            A guard holding the lock.

        Raises:
            WouldBlockError: The mutex is held, by any thread (this one
                included: ``try_lock`` never raises ``DeadlockError``).
            PoisonError: The mutex is poisoned; nothing is held.
            ConsumedError: :meth:`into_inner` consumed the mutex.

        Example:
            >>> from fearless import Mutex, WouldBlockError
            >>> m = Mutex("free")
            >>> with m.try_lock() as guard:
            ...     print(guard.value)
            free
        """
        # _guard_if_free() written out (a try is a lock path: one Python
        # call, not two); tests/test_lock_fast_paths.py checks both agree.
        guard: MutexGuard[T] = _new_guard(MutexGuard)
        guard._mutex = None
        if self._is_owned() or not _lock_into(guard, self, False):
            self._refuse_busy()
        if self._trouble:
            self._refuse(guard)
        return guard

    def _acquire_slow(self, timeout: float | None) -> None:
        """Wait for the lock (the raw lock is not held on entry).

        Spins a few times, yielding the processor (and the GIL) between
        tries, before blocking on the raw lock — parking_lot's adaptive
        strategy. Under the GIL this matters: a thread that blocks in C is
        handed the lock while the GIL is elsewhere, and every later
        acquisition then costs two context switches (a lock convoy).
        """
        wait = check_timeout(timeout)
        if self._acquire(False):
            return
        _poison.refuse_if_consumed(self._trouble, _SAYS)
        if _seam.forked_away and _seam.thread_gone(self._owner):
            raise DeadlockError(_MSG_FORKED)
        if wait == 0:
            raise TimeoutError(f"mutex was not free within {timeout} seconds")
        deadline = Deadline(wait)
        me = _seam.get_ident()
        waiting = self._waiting
        try:
            # Inside the try: an interrupt after append returned is undone
            # by the finally; none can arrive before append ran.
            waiting.append(me)
            # The loops live in a function of their own: on free-threaded
            # CPython 3.13 an interrupt raised at a loop's backward jump
            # skips the handlers of the frame that loops (the finally here
            # would not run); raised inside a callee, it is caught here.
            if self._wait_for_lock(deadline):
                return
        finally:
            waiting.remove(me)
        raise TimeoutError(f"mutex was not free within {timeout} seconds")

    def _wait_for_lock(self, deadline: Deadline) -> bool:
        """Spin, then block in slices, until the lock is taken or the deadline passed."""
        for _ in range(_seam.backend.spins):
            _seam.pause()
            if self._acquire(False):
                return True
            if deadline.expired():
                return False
        # Then block in slices (see fearless._park), the raw lock itself the waiter.
        return _park.park(self._lock, deadline)

    @property
    def _owner(self) -> int | None:
        """The identity of the thread holding the mutex, or None (a snapshot)."""
        return _seam.rlock_owner(self._lock)

    def _refuse_busy(self) -> None:
        """``try_lock`` found the mutex held: refuse a consumed one, else would block."""
        _poison.refuse_if_consumed(self._trouble, _SAYS)
        raise WouldBlockError(_MSG_WOULD_BLOCK)

    def _refuse(self, guard: MutexGuard[T]) -> None:
        """The raw lock is held but the mutex is poisoned or consumed: give it back."""
        trouble = self._trouble
        guard._mutex = None
        self._release()
        raise _poison.refusal(trouble, _SAYS, self._lock_ignoring_poison)

    def _guard_if_free(self) -> MutexGuard[T] | None:
        """A guard holding the mutex if it is free right now, whatever its poison; else None.

        What ``repr`` and :meth:`into_inner` look through (Rust's ``Debug``
        uses ``try_lock``); they decide what poison and consumption mean.
        Never waits: None while any thread holds the mutex, this one
        included.
        """
        guard = self._released_guard()
        if self._is_owned() or not _lock_into(guard, self, False):
            return None
        return guard

    def _released_guard(self) -> MutexGuard[T]:
        """A new guard that holds nothing yet, of the kind :meth:`lock` returns."""
        guard: MutexGuard[T] = _new_guard(MutexGuard)
        guard._mutex = None
        return guard

    def _lock_ignoring_poison(self) -> MutexGuard[T]:
        """What ``PoisonError.into_inner()`` returns for :meth:`lock`: a guard, whatever the poison.

        Blocks, refusing only a consumed mutex (or a deadlock), through the
        same step as :meth:`try_lock` and Condvar's re-take (:func:`_lock_into`).
        """
        if self._is_owned():
            raise DeadlockError(_MSG_DEADLOCK)
        guard = self._released_guard()
        _lock_into(guard, self, True)
        if self._trouble & _CONSUMED:
            self._refuse(guard)
        return guard

    # -- poison -----------------------------------------------------------

    def is_poisoned(self) -> bool:
        """Whether a thread failed while holding the mutex.

        A snapshot: another thread may poison the mutex right after this
        returns.

        Example:
            >>> from fearless import Mutex
            >>> Mutex(0).is_poisoned()
            False
        """
        return bool(self._trouble & _POISONED)

    def clear_poison(self) -> None:
        """Mark the mutex healthy again, after you repaired its data.

        Example:
            >>> from fearless import Mutex
            >>> m = Mutex(0)
            >>> try:
            ...     with m.lock():
            ...         raise RuntimeError("failed")
            ... except RuntimeError:
            ...     pass
            >>> m.is_poisoned()
            True
            >>> m.clear_poison()
            >>> m.is_poisoned()
            False
        """
        _poison.refuse_if_consumed(self._trouble, _SAYS)
        self._trouble = 0

    # -- consuming --------------------------------------------------------

    def into_inner(self) -> T:
        """Consume the mutex and return its value.

        Rust's ``into_inner(self)`` moves the mutex; here it is marked
        consumed and every later use raises :class:`~fearless.ConsumedError`.

        Returns:
            The protected value.

        Raises:
            PoisonError: The mutex is poisoned; the mutex is consumed all the
                same and the error's ``into_inner()`` returns the value.
            WouldBlockError: A guard of this mutex is alive (in this thread
                or another); release it first.
            ConsumedError: The mutex was already consumed.

        Example:
            >>> from fearless import Mutex
            >>> Mutex({"a": 1}).into_inner()
            {'a': 1}
        """
        guard = self._guard_if_free()
        if guard is None:
            _poison.refuse_if_consumed(self._trouble, _SAYS)
            raise WouldBlockError(_MSG_LOCKED_INTO_INNER)
        try:
            trouble = self._trouble
            _poison.refuse_if_consumed(trouble, _SAYS)
            value = self._data
            self._trouble = _CONSUMED
            del self._data
        finally:
            guard.unlock()
        return _poison.into_inner(trouble, value, _SAYS)

    # -- introspection ----------------------------------------------------

    def statistics(self) -> MutexStatistics:
        """A snapshot of who holds the mutex and who waits for it.

        Lets tests see that a thread is blocked without sleeping: poll
        ``statistics().waiting`` up to a deadline.

        Example:
            >>> from fearless import Mutex
            >>> m = Mutex(0)
            >>> m.statistics()
            MutexStatistics(locked=False, owner=None, waiting=0, poisoned=False)
            >>> with m.lock():
            ...     stats = m.statistics()
            >>> stats.locked, stats.owner is not None
            (True, True)
        """
        owner = self._owner
        waiting = len(self._waiting)
        if _seam.forked_away:
            # In a forked child, threads lost by the fork wait no more.
            waiting = sum(1 for ident in list(self._waiting) if not _seam.thread_gone(ident))
        return MutexStatistics(
            locked=owner is not None,
            owner=owner,
            waiting=waiting,
            poisoned=bool(self._trouble & _POISONED),
        )

    def __repr__(self) -> str:
        # Never blocks (Rust's Debug uses try_lock): a mutex held by anyone
        # shows as <locked>.
        trouble = self._trouble
        guard = None if trouble & _CONSUMED else self._guard_if_free()
        if guard is None:
            return _poison.describe("Mutex", trouble, None)
        try:
            return _poison.describe("Mutex", trouble, repr(self._data))
        finally:
            guard.unlock()


_new_guard: Any = object.__new__


@final
class MutexGuard(NotCopyable, Generic[T], metaclass=TwinnedNoPublicConstructor):
    """Proof that the current thread holds a :class:`Mutex`; the way to its value.

    Returned by :meth:`Mutex.lock` and :meth:`Mutex.try_lock`, already
    holding the lock. Use it in a ``with`` block, or call :meth:`unlock`.
    Guards cannot be built directly.

    Release:
        The ``with`` block releases the lock on exit; if it exits by an
        exception the mutex is also poisoned (see :class:`Mutex`). A guard
        must be released by the thread that acquired it (Rust's guards are
        not ``Send``); another thread gets
        :class:`~fearless.WrongThreadError`.

    Dropped guards:
        As in Rust, a guard whose last reference disappears unreleased
        (``g = m.lock(); del g``, or a guard that goes out of scope) releases
        the lock, without poisoning, when the garbage collector finalises it
        on the thread that holds the lock — and emits a
        :class:`ResourceWarning` the way an unclosed file does (shown with
        ``python -X dev`` or ``-W default``; with :mod:`tracemalloc` on, it
        says where the guard was allocated). Finalised on another thread, it
        cannot release a lock it does not hold: the mutex stays locked and
        the warning says so. Do not rely on this: use ``with``.

    Example:
        >>> from fearless import Mutex
        >>> m = Mutex(10)
        >>> guard = m.lock()
        >>> guard.value *= 2
        >>> guard.unlock()
        >>> m
        Mutex(20)
    """

    _copy_advice = (
        "a guard is this thread's proof that it holds the lock; "
        "copy the value instead: copy.deepcopy(guard.value)"
    )

    # ``_mutex`` is the mutex while the guard may hold it (set just before
    # the raw acquire, so that an interrupt right after the acquire finds a
    # guard that knows), None once released. Only the owning thread reads
    # or writes it.
    __slots__ = ("_mutex",)

    _mutex: Mutex[T] | None
    #: The compiled core's guard class, which its ``Mutex.lock()`` returns
    #: (set by ``fearless._mutex_twins``).
    _native_twin: ClassVar[type | None] = None

    @property
    def value(self) -> T:
        """The protected value, readable and assignable while the guard is held.

        Raises:
            GuardReleasedError: The guard was released.

        Example:
            >>> from fearless import Mutex
            >>> with Mutex("old").lock() as guard:
            ...     guard.value = guard.value.replace("old", "new")
            ...     print(guard.value)
            new
        """
        try:
            return self._mutex._data  # type: ignore[union-attr]
        except AttributeError:
            raise GuardReleasedError(_MSG_RELEASED) from None

    @value.setter
    def value(self, value: T) -> None:
        mutex = self._mutex
        if mutex is None:
            raise GuardReleasedError(_MSG_RELEASED)
        mutex._data = value

    @value.deleter
    def value(self) -> None:
        if self._mutex is None:
            raise GuardReleasedError(_MSG_RELEASED)
        raise AttributeError("a guard's value cannot be deleted; assign a new value instead")

    def __enter__(self) -> Self:
        if self._mutex is None:
            raise GuardReleasedError(_MSG_RELEASED)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        mutex = self._mutex
        if mutex is None:
            return  # unlock() was called inside the block: nothing to release
        # Inlined copy of MutexGuard.unlock() plus Rust's Flag::done (set
        # POISONED on failure): keep in step (tests/test_lock_fast_paths.py checks
        # both behave the same). No Python call: a RecursionError could cut
        # one short. The guard is marked released before the (C,
        # uninterruptible) release, so an interrupt after it cannot leave a
        # guard that claims a lock.
        trouble = mutex._trouble
        if exc_type is not None and mutex._poison:
            mutex._trouble = trouble | _POISONED
        self._mutex = None
        try:
            mutex._release()
        except RecursionError:
            self._mutex = mutex  # still held: the finaliser releases it
            raise
        except RuntimeError:
            self._mutex = mutex
            mutex._trouble = trouble
            raise WrongThreadError(_MSG_WRONG_THREAD) from None

    def unlock(self) -> None:
        """Release the lock now, before the end of the ``with`` block.

        Rust's ``drop(guard)``. Using the guard afterwards raises
        :class:`~fearless.GuardReleasedError`; the ``with`` block's exit
        then does nothing.

        Raises:
            GuardReleasedError: The guard was already released.
            WrongThreadError: Called from a thread that does not hold the
                lock.

        Example:
            >>> from fearless import Mutex
            >>> m = Mutex(0)
            >>> with m.lock() as guard:
            ...     guard.value = 1
            ...     guard.unlock()
            ...     m.try_lock().unlock()    # free for others already
        """
        mutex = self._mutex
        if mutex is None:
            raise GuardReleasedError(_MSG_RELEASED)
        self._mutex = None
        try:
            mutex._release()
        except RecursionError:
            self._mutex = mutex
            raise
        except RuntimeError:
            self._mutex = mutex
            raise WrongThreadError(_MSG_WRONG_THREAD) from None

    def __repr__(self) -> str:
        mutex = self._mutex
        if mutex is None:
            return "<MutexGuard (released)>"
        return f"<MutexGuard value={mutex._data!r}>"

    def __del__(self) -> None:
        # RAII: the last reference to the guard is gone. A released guard
        # costs this one test. (A finaliser is a point where CPython runs
        # signal handlers and reports what they raise as "Exception ignored":
        # a Ctrl-C that lands exactly here is lost, whatever the code.)
        try:
            mutex = self._mutex
        except AttributeError:
            return  # interrupted before lock() set it up: holds nothing
        if mutex is not None:
            _drop_unreleased(self)


def _drop_unreleased(guard: MutexGuard[Any]) -> None:
    """Finalise a guard whose last reference disappeared while it held its mutex."""
    mutex = guard._mutex
    if mutex is None:
        return
    name = f"<MutexGuard at {id(guard):#x} of Mutex at {id(mutex):#x}>"
    guard._mutex = None
    try:
        mutex._release()
    except RecursionError:
        guard._mutex = mutex
        raise
    except RuntimeError:
        # Not held by this thread: the lock() that built the guard never
        # took it (nothing to say), or another thread holds it.
        owner = mutex._owner
        if owner is None:
            return
        warnings.warn(
            f"{name} was never released and was garbage-collected on another thread; "
            f"the mutex stays locked, because only the thread that locked it (ident {owner}) "
            "can release it (use 'with mutex.lock() as guard:' or call guard.unlock() "
            "on that thread)",
            ResourceWarning,
            source=guard,
            stacklevel=3,
        )
        return
    warnings.warn(
        f"{name} was never released; it was released when garbage-collected "
        "(use 'with mutex.lock() as guard:' or call guard.unlock())",
        ResourceWarning,
        source=guard,
        stacklevel=3,
    )


# -- Condvar's interface ---------------------------------------------------------
#
# Rust's Condvar reaches its mutex through two friend functions of
# ``sync/mutex.rs``: ``guard_lock`` (the raw lock behind a guard) and
# ``guard_poison`` (its poison flag). fearless's Condvar uses these, and no
# other private name of Mutex or MutexGuard. Each step that changes state is
# the same straight-line code Condvar used to run inline: C calls only
# between the checks, so an interrupt finds the guard and the raw lock
# agreeing (see ``Condvar._wait``).


def guard_lock(guard: MutexGuard[Any], wrong_thread: str) -> Mutex[Any]:
    """The mutex ``guard`` holds for this thread.

    Raises:
        GuardReleasedError: The guard was released.
        WrongThreadError: Another thread holds it (``wrong_thread`` says why
            that matters to the caller).
    """
    mutex = guard._mutex
    if mutex is None:
        raise GuardReleasedError(_MSG_RELEASED)
    if not mutex._is_owned():
        raise WrongThreadError(wrong_thread)
    return mutex


def guard_poison(mutex: Mutex[Any]) -> int:
    """Whether the mutex is poisoned right now (its ``POISONED`` bit; held by this thread)."""
    return mutex._trouble & _POISONED


def guard_unlock(guard: MutexGuard[Any], mutex: Mutex[Any]) -> None:
    """Release the mutex for a wait: the guard reads as released meanwhile."""
    guard._mutex = None
    mutex._release()


def guard_relock(guard: MutexGuard[Any], mutex: Mutex[Any]) -> None:
    """After a wait: take the mutex back (whatever its poison) if the guard let it go.

    If anything is raised meanwhile (an interrupt, a mutex held by a thread
    lost by fork...), the guard stays released and so does the mutex (see
    :func:`_lock_into`).
    """
    if guard._mutex is None:
        _lock_into(guard, mutex, True)


def _lock_into(guard: MutexGuard[Any], mutex: Mutex[Any], blocking: bool) -> bool:
    """Make the released ``guard`` hold ``mutex``, whatever its poison; False if it would block.

    Not for a thread that holds the mutex already (its raw lock is
    reentrant). The one way, besides :meth:`Mutex.lock`, that a guard comes
    to hold a mutex: :meth:`Mutex.try_lock` (``blocking`` False),
    ``PoisonError.into_inner()`` and Condvar's re-take after a wait
    (:func:`guard_relock`). The guard is marked holding only once the raw
    lock is taken; if anything is raised meanwhile (an interrupt, a mutex
    held by a thread lost by fork...), the guard stays released and so does
    the mutex: the handler releases what the acquire may have got, one C
    call after the check.
    """
    try:
        if not mutex._acquire(False):
            if not blocking:
                return False
            mutex._acquire_slow(None)
        guard._mutex = mutex
    except BaseException:
        if guard._mutex is None:
            try:
                mutex._release()
            except RecursionError:
                raise
            except RuntimeError:
                pass  # not taken
        raise
    return True


def guard_recheck(guard: MutexGuard[Any], mutex: Mutex[Any], was_poisoned: int) -> None:
    """After a wait (mutex held): refuse if it was consumed, or poisoned meanwhile.

    Never leaves the lock held by an exception: it releases the mutex and
    retires the guard; ``PoisonError.into_inner()`` locks again.
    """
    trouble = mutex._trouble
    if trouble & _CONSUMED or (trouble & _POISONED and not was_poisoned):
        guard._mutex = None
        mutex._release()
        raise _poison.refusal(trouble, _SAYS, mutex._lock_ignoring_poison)
