"""``RwLock[T]``: many readers or one writer, handed out through guards.

What lives here: the public :class:`RwLock` -- its requests (``read``,
``write``, ``upgradable_read`` and their ``try_`` forms), poison,
``into_inner``, statistics and ``repr`` -- and the re-exported guards and
statistics. The uncontended ``read()`` and ``write()`` run inline here,
``try_read()`` and ``try_write()`` share one critical section
(``_try_take``); everything that waits, hands over or releases lives in ``_rwlock_core``
(the lock's base class, which owns the state), the guards in
``_rwlock_guards``. Relies on ``_poison`` for poison and consumed state.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar, final

from . import _poison
from ._errors import ConsumedError, DeadlockError, WouldBlockError
from ._poison import CONSUMED as _CONSUMED
from ._poison import POISONED as _POISONED
from ._rwlock_core import (
    _BUSY,
    _G,
    _LOCKED,
    _READ,
    _RECOVER,
    _SAYS,
    _UPGRADABLE,
    _WRITE,
    RwLockStatistics,
    _get_ident,
    _new_guard,
    _RwLockCore,
)
from ._rwlock_guards import RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard
from ._util import Twinned

__all__ = [
    "RwLock",
    "RwLockReadGuard",
    "RwLockStatistics",
    "RwLockUpgradableReadGuard",
    "RwLockWriteGuard",
]

T = TypeVar("T")

#: What try_read() and try_write() say when they would block (by kind of request).
_MSG_WOULD_BLOCK = (
    "rwlock is write-locked or a writer is waiting; try again later or call read() to wait",
    "rwlock is locked; try again later or call write() to wait for it",
)
_MSG_LOCKED_INTO_INNER = "rwlock is locked; into_inner() needs every guard released first"


@final
class RwLock(_RwLockCore[T], metaclass=Twinned):
    """A reader-writer lock that owns the value it protects (Rust's ``RwLock<T>``).

    Any number of threads may read the value at once through
    :class:`RwLockReadGuard` s, or one thread may write it through an
    :class:`RwLockWriteGuard`. Guards are context managers; their ``with``
    block releases the lock however it ends. Read guards' ``value`` is
    read-only (assigning it is a type error, and an ``AttributeError`` at
    run time); write guards can replace it. ``repr(lock)`` never blocks: it
    shows the value when a read guard could be had at once, and
    ``RwLock(<locked>)`` while a writer holds the lock or waits for it.

    Args:
        value: The data to protect. The lock owns it from now on: keep no
            other reference to it if you want the lock to mean something.
        poison: Whether a failing write block poisons the lock (``True``, as
            in Rust) or not.

    Fairness:
        Writer-preferring, so writers never starve: while a writer waits,
        new readers block — except a thread that already holds a read (or
        upgradable) guard, which may take another read guard at once, since
        making it wait for the writer, who waits for it, would deadlock.
        Readers never starve either: when a writer releases the lock (or
        downgrades), every reader waiting at that moment gets in before the
        next writer (a phase-fair hand-off). Waiting writers get the lock
        in arrival order.

    Upgradable reads:
        :meth:`upgradable_read` (from ``parking_lot``) returns a read guard
        that coexists with plain readers but excludes writers and other
        upgradable guards; its ``upgrade()`` waits for the readers to leave
        and returns a write guard, with no writer in between.

    Poisoning:
        Only writers poison: if the ``with`` block of a write guard exits by
        an exception, the lock is poisoned and the exception propagates
        unchanged; failing read blocks change nothing. Afterwards every way
        of acquiring raises :class:`~fearless.PoisonError` (holding nothing)
        until :meth:`clear_poison`; the error's ``into_inner()`` acquires
        anyway. ``RwLock(value, poison=False)`` never poisons.

    Deadlocks:
        Requests that could never be granted to the thread making them raise
        :class:`~fearless.DeadlockError` at once: ``write()`` or
        ``upgradable_read()`` while holding a read guard, anything but a
        further read while holding an upgradable guard, anything while
        holding the write guard, and ``upgrade()`` while the same thread
        still holds read guards. ``try_read()`` and ``try_write()`` never
        raise it: they raise :class:`~fearless.WouldBlockError`.

    Example:
        >>> from fearless import RwLock
        >>> config = RwLock({"debug": False})
        >>> with config.read() as a, config.read() as b:   # readers share
        ...     print(a.value["debug"], b.value["debug"])
        False False
        >>> with config.write() as guard:
        ...     guard.value["debug"] = True
        >>> config
        RwLock({'debug': True})
    """

    __slots__ = ()  # the state lives in _RwLockCore

    #: The compiled twin, when the core is in use (``fearless._rwlock_twins``):
    #: ``Twinned`` makes its objects.
    _native_twin: ClassVar[type | None] = None

    _copy_advice = (
        "share the same RwLock between threads (or wrap it in an Arc); to copy the "
        "data, copy it under a read guard (with lock.read() as guard: "
        "copy.deepcopy(guard.value)) or take it out with into_inner()"
    )

    # -- reading ------------------------------------------------------------

    def read(self, *, timeout: float | None = None) -> RwLockReadGuard[T]:
        """Block until no writer holds or waits for the lock; return a read guard.

        A thread that already holds a read (or upgradable) guard gets
        another one at once, even while a writer waits.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever. A
                timeout beyond ``threading.TIMEOUT_MAX`` waits as long as
                the platform allows.

        Returns:
            A read guard; use it in a ``with`` block.

        Raises:
            DeadlockError: This thread holds the write lock.
            PoisonError: The lock is poisoned; nothing is held. Its
                ``into_inner()`` blocks for a read guard and returns it.
            TimeoutError: The lock was not available within ``timeout``.
            ConsumedError: :meth:`into_inner` consumed the lock.
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import RwLock
            >>> names = RwLock(["ada", "grace"])
            >>> with names.read(timeout=1.0) as guard:
            ...     print(len(guard.value))
            2
        """
        # The fast path: one internal lock round trip, no call inside it;
        # the guard is built before the lock is taken to keep the hold short.
        # Inlined copy of _acquire_slow(guard, _READ, None, False) while the
        # gate is down: keep in step (tests/test_lock_fast_paths.py).
        guard: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        me = guard._owner = _get_ident()
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                if not self._gate and timeout is None:
                    readers = self._readers
                    if me in readers:
                        readers[me] += 1
                    else:
                        readers[me] = 1
                    guard._value = self._data
                    guard._rwlock = self
                    return guard
        except DeadlockError:
            raise  # nothing taken (or the internal lock lost by os.fork())
        except BaseException:
            # Inline, not a call: nothing can come between the exception and
            # the guard queued for release (if it holds anything).
            with lock:
                self._holder = me
                try:
                    self._deferred.append(guard)
                finally:
                    try:
                        self._apply_deferred()
                    finally:
                        self._holder = None
            raise
        return self._acquire_slow(guard, _READ, timeout, False)

    def try_read(self) -> RwLockReadGuard[T]:
        """Take a read guard if one is available right now, without blocking.

        Returns:
            A read guard.

        Raises:
            WouldBlockError: A writer holds the lock (this thread included:
                ``try_read`` never raises ``DeadlockError``) or waits for it.
            PoisonError: The lock is poisoned; nothing is held.
            ConsumedError: :meth:`into_inner` consumed the lock.

        Example:
            >>> from fearless import RwLock, WouldBlockError
            >>> lock = RwLock(1)
            >>> with lock.try_read() as guard:
            ...     guard.value
            1
            >>> with lock.write():
            ...     try:
            ...         lock.try_read()
            ...     except WouldBlockError:
            ...         print("a writer holds it")
            a writer holds it
        """
        guard: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        return self._try_take(guard, _READ)

    # -- writing ------------------------------------------------------------

    def write(self, *, timeout: float | None = None) -> RwLockWriteGuard[T]:
        """Block until the lock is free, take it exclusively, return a write guard.

        A waiting writer blocks new readers from other threads, so it gets
        in as soon as the current readers leave.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever. A
                timeout beyond ``threading.TIMEOUT_MAX`` waits as long as
                the platform allows.

        Returns:
            A write guard; use it in a ``with`` block.

        Raises:
            DeadlockError: This thread holds a read, upgradable or write
                guard of this lock.
            PoisonError: The lock is poisoned; nothing is held. Its
                ``into_inner()`` blocks for a write guard and returns it.
            TimeoutError: The lock was not free within ``timeout``.
            ConsumedError: :meth:`into_inner` consumed the lock.
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import RwLock
            >>> hits = RwLock(0)
            >>> with hits.write(timeout=1.0) as guard:
            ...     guard.value += 1
            >>> hits
            RwLock(1)
        """
        # The fast path, as in read(). Inlined copy of _acquire_slow(guard,
        # _WRITE, None, False) while the lock is free: keep in step
        # (tests/test_lock_fast_paths.py).
        guard: RwLockWriteGuard[T] = _new_guard(RwLockWriteGuard)
        guard._then = None
        me = guard._owner = _get_ident()
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                if not self._gate and timeout is None:
                    # The gate first, then the readers (see _RwLockCore.__init__).
                    self._gate = _BUSY
                    if not (self._readers or self._fast or self._upgrader is not None):
                        self._writer = me
                        guard._value = self._data
                        guard._rwlock = self
                        return guard
                    self._gate = 0
        except DeadlockError:
            raise  # nothing taken (or the internal lock lost by os.fork())
        except BaseException:
            # Inline, not a call: nothing can come between the exception and
            # the guard queued for release (if it holds anything).
            with lock:
                self._holder = me
                try:
                    self._deferred.append(guard)
                finally:
                    try:
                        self._apply_deferred()
                    finally:
                        self._holder = None
            raise
        return self._acquire_slow(guard, _WRITE, timeout, False)

    def try_write(self) -> RwLockWriteGuard[T]:
        """Take the write lock if it is free right now, without blocking.

        Returns:
            A write guard.

        Raises:
            WouldBlockError: A reader, an upgradable reader or a writer
                holds the lock (this thread included: ``try_write`` never
                raises ``DeadlockError``).
            PoisonError: The lock is poisoned; nothing is held.
            ConsumedError: :meth:`into_inner` consumed the lock.

        Example:
            >>> from fearless import RwLock, WouldBlockError
            >>> lock = RwLock("v1")
            >>> with lock.read():
            ...     try:
            ...         lock.try_write()
            ...     except WouldBlockError as e:
            ...         print(e)
            rwlock is locked; try again later or call write() to wait for it
            >>> with lock.try_write() as guard:
            ...     guard.value = "v2"
        """
        guard: RwLockWriteGuard[T] = _new_guard(RwLockWriteGuard)
        guard._then = None
        return self._try_take(guard, _WRITE)

    def _try_take(self, guard: _G, kind: int) -> _G:  # noqa: PLR0912, PLR0915 - the section and its handler share one frame (interrupt safety)
        """Make ``guard`` hold ``kind`` of the lock if it is free now: try_read(), try_write().

        ``kind`` is ``_READ`` or ``_WRITE``. Never waits and never raises
        ``DeadlockError``: whatever stands in the way is a ``WouldBlockError``
        (a finaliser inside this thread's own operation on the lock
        included). The critical section records ``_holder`` first (it calls);
        the handler shares its frame, as in ``_acquire_slow``.
        """
        me = guard._owner = _get_ident()
        if self._inside(me):
            # A finaliser inside this thread's own operation on this lock.
            raise WouldBlockError(_MSG_WOULD_BLOCK[kind])
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    # Inline, no call but _readable() on the success path.
                    trouble = self._trouble
                    if trouble & _CONSUMED:
                        raise ConsumedError(_SAYS.consumed)
                    readers = self._readers
                    gate = self._gate
                    if kind == _READ:
                        free = (
                            me in readers
                            or self._fast_mine
                            or self._upgrader == me
                            or self._readable()
                        )
                    else:
                        # The gate first, then the readers (see _RwLockCore.__init__).
                        self._gate = gate | _BUSY
                        free = (
                            self._writer is None
                            and not readers
                            and not self._fast
                            and self._upgrader is None
                        )
                        if not free or trouble:
                            self._gate = gate
                    if not free:  # a try never waits: nothing here is a deadlock
                        raise WouldBlockError(_MSG_WOULD_BLOCK[kind])
                    if trouble:
                        raise _poison.refusal(_POISONED, _SAYS, _RECOVER[kind](self))
                    if kind == _WRITE:
                        self._writer = me
                    elif me in readers:
                        readers[me] += 1
                    else:
                        readers[me] = 1
                    guard._value = self._data
                    guard._rwlock = self
                finally:
                    try:
                        if self._deferred:
                            self._apply_deferred()
                    finally:
                        self._holder = None
        except DeadlockError:
            raise  # nothing taken (or the internal lock lost by os.fork())
        except BaseException:
            # Inline, not a call: nothing can come between the exception and
            # the guard queued for release (if it holds anything).
            with lock:
                self._holder = me
                try:
                    self._deferred.append(guard)
                finally:
                    try:
                        self._apply_deferred()
                    finally:
                        self._holder = None
            raise
        return guard

    # -- upgradable reads -----------------------------------------------------

    def upgradable_read(self, *, timeout: float | None = None) -> RwLockUpgradableReadGuard[T]:
        """Block for an upgradable read guard: shared with readers, upgradable later.

        At most one upgradable guard exists at a time, and never beside a
        writer. Its ``upgrade()`` waits for the plain readers to leave and
        turns it into a write guard, with no writer in between — read,
        decide, then write, without a window where the data can change.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever.

        Returns:
            An upgradable read guard; use it in a ``with`` block.

        Raises:
            DeadlockError: This thread holds a read, upgradable or write
                guard of this lock (an upgrade could never succeed).
            PoisonError: The lock is poisoned; nothing is held. Its
                ``into_inner()`` blocks for an upgradable guard and returns it.
            TimeoutError: The lock was not available within ``timeout``.
            ConsumedError: :meth:`into_inner` consumed the lock.
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import RwLock
            >>> cache = RwLock({})
            >>> with cache.upgradable_read() as guard:
            ...     if "answer" not in guard.value:
            ...         with guard.upgrade() as writer:
            ...             writer.value["answer"] = 42
            >>> cache
            RwLock({'answer': 42})
        """
        guard: RwLockUpgradableReadGuard[T] = _new_guard(RwLockUpgradableReadGuard)
        guard._then = None
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _UPGRADABLE, timeout, False)

    # -- poison -------------------------------------------------------------

    def is_poisoned(self) -> bool:
        """Whether a thread failed while holding the lock for writing.

        A snapshot: another thread may poison the lock right after this
        returns.

        Example:
            >>> from fearless import RwLock
            >>> RwLock(0).is_poisoned()
            False
        """
        return bool(self._trouble & _POISONED)

    def clear_poison(self) -> None:
        """Mark the lock healthy again, after you repaired its data.

        Raises:
            ConsumedError: :meth:`into_inner` consumed the lock.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock(0)
            >>> try:
            ...     with lock.write():
            ...         raise RuntimeError("failed")
            ... except RuntimeError:
            ...     pass
            >>> lock.is_poisoned()
            True
            >>> lock.clear_poison()
            >>> lock.is_poisoned()
            False
        """

        def clear() -> None:
            _poison.refuse_if_consumed(self._trouble, _SAYS)
            self._trouble = 0
            self._regate()

        self._run_locked(_get_ident(), clear)

    # -- consuming ----------------------------------------------------------

    def into_inner(self) -> T:
        """Consume the lock and return its value.

        Rust's ``into_inner(self)`` moves the lock; here it is marked
        consumed and every later use raises :class:`~fearless.ConsumedError`.

        Returns:
            The protected value.

        Raises:
            PoisonError: The lock is poisoned; it is consumed all the same
                and the error's ``into_inner()`` returns the value.
            WouldBlockError: A guard of this lock is alive (in this thread
                or another); release it first.
            ConsumedError: The lock was already consumed.

        Example:
            >>> from fearless import RwLock
            >>> RwLock([1, 2]).into_inner()
            [1, 2]
        """

        def take() -> tuple[int, T]:
            trouble = self._trouble
            _poison.refuse_if_consumed(trouble, _SAYS)
            # The gate first, then the readers (see _RwLockCore.__init__).
            self._gate = trouble | _BUSY
            if (
                self._writer is not None
                or self._readers
                or self._fast
                or self._upgrader is not None
            ):
                self._regate()
                raise WouldBlockError(_MSG_LOCKED_INTO_INNER)
            value = self._data
            self._trouble = _CONSUMED
            self._gate = _CONSUMED
            del self._data
            return trouble, value

        trouble, value = self._run_locked(_get_ident(), take)
        return _poison.into_inner(trouble, value, _SAYS)

    # -- introspection ------------------------------------------------------

    def statistics(self) -> RwLockStatistics:
        """A snapshot of who holds the lock and who waits for it.

        Lets tests see that a thread is blocked without sleeping: poll
        ``statistics().waiting_writers`` up to a deadline.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock(0)
            >>> with lock.read(), lock.read():
            ...     lock.statistics()
            RwLockStatistics(readers=2, writer=None, upgradable=None,
                             waiting_readers=0, waiting_writers=0, poisoned=False)
            >>> with lock.write():
            ...     lock.statistics().writer is not None
            True
        """
        me = _get_ident()
        if self._inside(me):
            # A finaliser inside this thread's own operation on this lock:
            # nobody else can change the state meanwhile.
            return self._snapshot()
        return self._run_locked(me, self._snapshot)

    def __repr__(self) -> str:
        # Never blocks (Rust's Debug uses try_read): the value is shown when
        # a read guard could be had at once, else <locked>.
        me = _get_ident()
        if self._inside(me):
            return "RwLock(<locked>)"  # a finaliser inside this thread's own operation
        guard: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        guard._owner = me

        def peek() -> int:
            # A read guard if one can be had at once (_LOCKED if not).
            trouble = self._trouble
            readers = self._readers
            if not trouble & _CONSUMED:
                if me in readers:
                    readers[me] += 1
                elif self._fast_mine or self._upgrader == me or self._readable():
                    readers[me] = 1
                else:
                    trouble |= _LOCKED
                if not trouble & _LOCKED:
                    guard._value = self._data
                    guard._rwlock = self
            return trouble

        try:
            trouble = self._run_locked(me, peek)
            if trouble & (_CONSUMED | _LOCKED):
                return _poison.describe("RwLock", trouble, None)
            return _poison.describe("RwLock", trouble, repr(guard._value))
        finally:
            self._give_back(guard)
