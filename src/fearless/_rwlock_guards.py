"""The guards of ``RwLock``: read, write and upgradable read.

A held guard has its ``_value`` slot set and ``_rwlock`` pointing to its
lock; a released one has neither (see :class:`_Guard`). Each guard's
``__exit__`` is an inline copy of ``_RwLockCore._release`` for its kind (no
Python call on the hot path; ``tests/test_lock_fast_paths.py`` checks each
against it); everything else -- spinning for the internal lock, the
hand-over to waiters, upgrades, dropped guards -- calls the lock's private
methods in ``_rwlock_core``. Relies on ``_seam`` for thread identity and on
``_poison`` for the bit a failed write sets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar, final

from . import _seam
from ._errors import GuardReleasedError, WrongThreadError
from ._poison import POISONED as _POISONED
from ._util import NoPublicConstructor, NotCopyable, TwinnedNoPublicConstructor

if TYPE_CHECKING:
    from ._rwlock_core import _RwLockCore

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

# The seam promises one identity function under every backend.
_get_ident = _seam.get_ident

_MSG_RELEASED = (
    "this guard was released; call read(), write() or upgradable_read() on the rwlock "
    "to get a new guard"
)
_MSG_DOWNGRADED = "this write guard was downgraded; use the read guard that downgrade() returned"
_MSG_UPGRADED = "this upgradable guard was upgraded; use the write guard that upgrade() returned"
_MSG_WRONG_THREAD = "this guard belongs to the thread that acquired it; release it there"
_MSG_WRONG_THREAD_CHANGE = (
    "this guard belongs to the thread that acquired it; upgrade or downgrade it there"
)

_new_guard: Any = object.__new__

# How guards are released: the ``_value`` slot is deleted. The ``value``
# property turns the resulting AttributeError into GuardReleasedError (the
# ``try`` costs nothing while the guard is live). Guards never change their
# ``__class__``: on free-threaded CPython that assignment stops the world.

_MSG_READ_ONLY = (
    "this guard gives read-only access; use a write guard (write() or upgrade()) "
    "to assign the value"
)
_MSG_NO_DELETE = "a guard's value cannot be deleted; assign a new value instead"


def _get_shared_value(guard: _SharedGuard[T]) -> T:
    try:
        return guard._value
    except AttributeError:
        raise guard._gone() from None


def _refuse_shared_assignment(guard: Any, *value: object) -> None:
    if not hasattr(guard, "_value"):
        raise guard._gone()
    raise AttributeError(_MSG_READ_ONLY)


_SHARED_VALUE_DOC = """The protected value, read-only.

Assigning it is a type error, and raises AttributeError at run time. Any
use after the guard is released raises
:class:`~fearless.GuardReleasedError`.
"""


class _Guard(NotCopyable):
    """What the three guards share.

    A held guard has its ``_value`` slot set and ``_rwlock`` pointing to its
    lock; a released one has no ``_value`` and ``_rwlock`` None; both change
    together, under the lock's internal lock, with nothing in between where
    an exception could arrive.
    """

    __slots__ = ()

    _value: Any
    _rwlock: Any
    _owner: int

    _copy_advice = (
        "a guard is this thread's proof that it holds the lock; "
        "copy the value instead: copy.deepcopy(guard.value)"
    )

    def __del__(self) -> None:
        # RAII: the last reference to a held guard is gone. A released
        # guard costs this one test.
        try:
            rwlock = self._rwlock
        except AttributeError:
            return  # never held
        if rwlock is not None:
            # First, in one C call, queue it for release (which keeps it
            # alive): if anything interrupts the rest, the lock's next
            # critical section releases it.
            rwlock._deferred.append(self)
            rwlock._finalise(self)

    def _gone(self) -> GuardReleasedError:
        raise NotImplementedError

    def __repr__(self) -> str:
        # The guard classes are final: the name is the public one.
        try:
            return f"<{type(self).__name__} value={self._value!r}>"
        except AttributeError:
            return f"<{type(self).__name__} (released)>"

    def __enter__(self) -> Self:
        try:
            _ = self._value
        except AttributeError:
            raise self._gone() from None
        return self


class _SharedGuard(_Guard, Generic[T_co]):
    """What the read and upgradable read guards share: the value, read-only."""

    __slots__ = ()

    _value: T_co

    if TYPE_CHECKING:

        @property
        def value(self) -> T_co:
            """The protected value, read-only."""
            ...

    else:
        value = property(
            _get_shared_value,
            _refuse_shared_assignment,
            _refuse_shared_assignment,
            _SHARED_VALUE_DOC,
        )


@final
class RwLockReadGuard(_SharedGuard[T_co], metaclass=TwinnedNoPublicConstructor):
    """Shared read access to an :class:`RwLock`'s value.

    Returned by :meth:`RwLock.read`, :meth:`RwLock.try_read` and
    :meth:`RwLockWriteGuard.downgrade`, already holding a read lock. Use it
    in a ``with`` block, or call :meth:`unlock`. Guards cannot be built
    directly.

    Attributes:
        value: The protected value, read-only: assigning it is a type error
            (and an ``AttributeError`` at run time). Reading it after
            release raises :class:`~fearless.GuardReleasedError`.

    Release:
        The ``with`` block releases the read lock on exit; a failing read
        block does not poison the lock. A guard must be released by the
        thread that acquired it; another thread gets
        :class:`~fearless.WrongThreadError`.

    Dropped without release:
        When the last reference to a held guard disappears (``del guard``,
        a guard that goes out of scope, a ``read()`` interrupted after it
        took the lock), the guard is released as Rust drops it, and a
        :class:`ResourceWarning` says so, as for an unclosed file (with
        :mod:`tracemalloc` on, Python shows where the guard was made). If
        the garbage collector drops it on another thread, the lock stays
        held (only the owning thread may release it) and the warning says
        that instead. Release guards explicitly: ``with`` or :meth:`unlock`.

    Example:
        >>> from fearless import RwLock
        >>> lock = RwLock((1, 2))
        >>> guard = lock.read()
        >>> sum(guard.value)
        3
        >>> guard.unlock()
        >>> lock.statistics().readers
        0
    """

    __slots__ = ("_owner", "_rwlock", "_value")

    _rwlock: _RwLockCore[Any] | None
    _owner: int
    _value: Any

    #: The compiled twin (``fearless._rwlock_twins``): what a compiled
    #: RwLock's readers get while no writer holds or waits for the lock.
    _native_twin: ClassVar[type | None] = None

    def _gone(self) -> GuardReleasedError:
        return GuardReleasedError(_MSG_RELEASED)

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        me = self._owner
        rwlock = self._rwlock
        if _get_ident() != me:
            if rwlock is not None:
                raise WrongThreadError(_MSG_WRONG_THREAD)
            return
        if rwlock is None:
            return  # unlock() was called inside the block: nothing to release
        lock = rwlock._lock
        if lock.locked():
            rwlock._spin()
        with lock:
            # Inlined copy of _RwLockCore._release for a read guard: keep in
            # step (tests/test_lock_fast_paths.py checks both behave the
            # same). No call in here but the hand-over (see
            # _RwLockCore.__init__).
            readers = rwlock._readers
            count = readers[me]
            del self._value
            self._rwlock = None
            if count != 1:
                readers[me] = count - 1
            else:
                del readers[me]
                if rwlock._gate and not readers and not rwlock._fast:
                    rwlock._holder = me
                    try:
                        rwlock._dispatch()
                    finally:
                        try:
                            if rwlock._deferred:
                                rwlock._apply_deferred()
                        finally:
                            rwlock._holder = None

    def unlock(self) -> None:
        """Release the read lock now, before the end of the ``with`` block.

        Like :meth:`MutexGuard.unlock <fearless.MutexGuard.unlock>` (Rust's
        ``drop(guard)``): any later use of the guard raises
        :class:`~fearless.GuardReleasedError`, and the ``with`` block's exit
        does nothing.

        Raises:
            GuardReleasedError: The guard was already released.
            WrongThreadError: Called from a thread that does not hold it.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock(0)
            >>> with lock.read() as guard:
            ...     guard.unlock()
            ...     lock.try_write().unlock()    # free for writers already
        """
        if self._rwlock is None:
            raise self._gone()
        self.__exit__(None, None, None)


@final
class RwLockWriteGuard(_Guard, Generic[T], metaclass=NoPublicConstructor):
    """Exclusive access to an :class:`RwLock`'s value.

    Returned by :meth:`RwLock.write`, :meth:`RwLock.try_write` and
    :meth:`RwLockUpgradableReadGuard.upgrade`, already holding the write
    lock. Use it in a ``with`` block, or call :meth:`unlock`. Guards cannot
    be built directly.

    Attributes:
        value: The protected value, readable and assignable while the guard
            is held; an assignment is stored in the lock on release. Any
            access after release raises
            :class:`~fearless.GuardReleasedError`.

    Release:
        The ``with`` block releases the lock on exit; if it exits by an
        exception the lock is also poisoned (see :class:`RwLock`). If the
        guard was turned into a read guard by :meth:`downgrade` inside the
        block and that read guard is still held when the block ends, the
        block releases it (without poisoning: the write was complete). A
        guard must be released by the thread that acquired it; another
        thread gets :class:`~fearless.WrongThreadError`.

    Example:
        >>> from fearless import RwLock
        >>> lock = RwLock([3, 1, 2])
        >>> guard = lock.write()
        >>> guard.value.sort()
        >>> guard.value = [*guard.value, 4]
        >>> guard.unlock()
        >>> lock
        RwLock([1, 2, 3, 4])
    """

    __slots__ = ("_owner", "_rwlock", "_then", "_value")

    _rwlock: _RwLockCore[T] | None
    _owner: int
    _then: RwLockReadGuard[T] | None  # the read guard downgrade() made
    _value: T

    @property
    def value(self) -> T:
        """The protected value, readable and assignable while the guard is held.

        Any use after release raises :class:`~fearless.GuardReleasedError`.
        """
        try:
            return self._value
        except AttributeError:
            raise self._gone() from None

    @value.setter
    def value(self, value: T) -> None:
        if not hasattr(self, "_value"):
            raise self._gone()
        self._value = value

    @value.deleter
    def value(self) -> None:
        if not hasattr(self, "_value"):
            raise self._gone()
        raise AttributeError(_MSG_NO_DELETE)

    def _gone(self) -> GuardReleasedError:
        return GuardReleasedError(_MSG_RELEASED if self._then is None else _MSG_DOWNGRADED)

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        me = self._owner
        rwlock = self._rwlock
        if _get_ident() != me:
            if rwlock is not None:
                raise WrongThreadError(_MSG_WRONG_THREAD)
            return
        if rwlock is None:
            # Released inside the block, by unlock() or downgrade(); the
            # block also covers the read guard a downgrade made.
            successor = self._then
            if successor is not None:
                self._then = None
                successor.__exit__(exc_type, exc, tb)
            return
        lock = rwlock._lock
        if lock.locked():
            rwlock._spin()
        with lock:
            # Inlined copy of _RwLockCore._release for a write guard: keep in
            # step (tests/test_lock_fast_paths.py checks both behave the
            # same). The release itself runs no call (see
            # _RwLockCore.__init__); the hand-over to waiters comes after it.
            rwlock._data = self._value
            del self._value
            self._rwlock = None
            if exc_type is not None and rwlock._poison:
                rwlock._trouble |= _POISONED
                rwlock._gate |= _POISONED
            rwlock._writer = None
            rwlock._holder = me
            try:
                rwlock._admit_readers()
                rwlock._dispatch()
            finally:
                try:
                    if rwlock._deferred:
                        rwlock._apply_deferred()
                finally:
                    rwlock._holder = None

    def unlock(self) -> None:
        """Release the write lock now, before the end of the ``with`` block.

        Like :meth:`MutexGuard.unlock <fearless.MutexGuard.unlock>` (Rust's
        ``drop(guard)``), and it never poisons: any later use of the guard
        raises :class:`~fearless.GuardReleasedError`, and the ``with``
        block's exit does nothing.

        Raises:
            GuardReleasedError: The guard was already released.
            WrongThreadError: Called from a thread that does not hold it.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock(0)
            >>> try:
            ...     with lock.write() as guard:
            ...         guard.value = 1
            ...         guard.unlock()     # the write is in, the lock free
            ...         raise ValueError("after the unlock")
            ... except ValueError:
            ...     pass
            >>> lock.is_poisoned(), lock
            (False, RwLock(1))
        """
        if self._rwlock is None:
            raise self._gone()
        self.__exit__(None, None, None)

    def downgrade(self) -> RwLockReadGuard[T]:
        """Turn the write lock into a read lock atomically.

        No writer can get in between: the value this thread just wrote is
        the value it reads. Readers that were waiting are let in beside it.
        This guard is released; use the returned one.

        Returns:
            A read guard of the same lock, held by this thread.

        Raises:
            GuardReleasedError: The guard was already released.
            WrongThreadError: Called from a thread that does not hold it.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock("draft")
            >>> with lock.write() as writer:
            ...     writer.value = "published"
            ...     reader = writer.downgrade()
            ...     print(reader.value, lock.statistics().readers)
            published 1
            >>> lock.statistics().readers    # the block released the reader too
            0
        """
        rwlock = self._rwlock
        if rwlock is None:
            raise self._gone()
        me = self._owner
        if _get_ident() != me:
            raise WrongThreadError(_MSG_WRONG_THREAD_CHANGE)
        reader: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        reader._owner = me
        lock = rwlock._lock
        if lock.locked():
            rwlock._spin()
        with lock:
            # One step with no call: the write guard released, the read
            # guard held (it is this guard's successor for its block).
            value = rwlock._data = self._value
            reader._value = value
            reader._rwlock = rwlock
            rwlock._readers[me] = 1
            del self._value
            self._rwlock = None
            self._then = reader
            rwlock._writer = None
            rwlock._holder = me
            try:
                rwlock._admit_readers()
                rwlock._dispatch()
            finally:
                try:
                    if rwlock._deferred:
                        rwlock._apply_deferred()
                finally:
                    rwlock._holder = None
        return reader


@final
class RwLockUpgradableReadGuard(_SharedGuard[T], metaclass=NoPublicConstructor):
    """Read access that can become write access without letting a writer in.

    ``parking_lot``'s ``RwLockUpgradableReadGuard``, returned by
    :meth:`RwLock.upgradable_read`. It coexists with plain readers but
    excludes writers and other upgradable guards, so the value cannot change
    between reading it and :meth:`upgrade`. Use it in a ``with`` block, or
    call :meth:`unlock`. Guards cannot be built directly.

    Attributes:
        value: The protected value, read-only (assigning it is a type
            error, and an ``AttributeError`` at run time). Reading it after
            release or upgrade raises :class:`~fearless.GuardReleasedError`.

    Release:
        The ``with`` block releases the upgradable read on exit; a failing
        block does not poison the lock. If the guard was upgraded inside
        the block and the write guard from :meth:`upgrade` (or the read
        guard that one was downgraded into) is still held when the block
        ends, the block releases it — and a write guard released by an
        exception poisons the lock, as its own ``with`` block would.

    Example:
        >>> from fearless import RwLock
        >>> lock = RwLock(1)
        >>> with lock.upgradable_read() as guard:
        ...     reader = lock.read()           # plain readers are welcome
        ...     print(guard.value + reader.value)
        ...     reader.unlock()
        ...     writer = guard.upgrade()       # no readers left: upgrades at once
        ...     writer.value = 10
        2
        >>> lock                               # the block released the writer
        RwLock(10)
    """

    __slots__ = ("_owner", "_rwlock", "_then", "_value")

    _rwlock: _RwLockCore[T] | None
    _owner: int
    _then: RwLockWriteGuard[T] | None  # the write guard upgrade() made
    _value: T

    def _gone(self) -> GuardReleasedError:
        return GuardReleasedError(_MSG_RELEASED if self._then is None else _MSG_UPGRADED)

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        me = self._owner
        rwlock = self._rwlock
        if _get_ident() != me:
            if rwlock is not None:
                raise WrongThreadError(_MSG_WRONG_THREAD)
            return
        if rwlock is None:
            # Released inside the block, by unlock() or upgrade(); the
            # block also covers the write guard an upgrade made.
            successor = self._then
            if successor is not None:
                self._then = None
                successor.__exit__(exc_type, exc, tb)
            return
        lock = rwlock._lock
        if lock.locked():
            rwlock._spin()
        with lock:
            # Inlined copy of _RwLockCore._release for an upgradable guard:
            # keep in step (tests/test_lock_fast_paths.py checks both).
            del self._value
            self._rwlock = None
            rwlock._upgrader = None
            rwlock._holder = me
            try:
                rwlock._dispatch()
            finally:
                try:
                    if rwlock._deferred:
                        rwlock._apply_deferred()
                finally:
                    rwlock._holder = None

    def unlock(self) -> None:
        """Release the upgradable read now, before the end of the ``with`` block.

        Raises:
            GuardReleasedError: The guard was already released or upgraded.
            WrongThreadError: Called from a thread that does not hold it.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock(0)
            >>> guard = lock.upgradable_read()
            >>> guard.unlock()
            >>> lock.upgradable_read().unlock()    # free for the next one
        """
        if self._rwlock is None:
            raise self._gone()
        self.__exit__(None, None, None)

    def upgrade(self, *, timeout: float | None = None) -> RwLockWriteGuard[T]:
        """Wait for the readers to leave and turn this guard into a write guard.

        While the upgrade waits, new readers from other threads wait too,
        and no writer can get in: the value is the one this guard read.
        On success this guard is released; use the returned one, whose
        ``downgrade()`` turns it into a read guard.

        Args:
            timeout: Seconds to wait at most; ``None`` waits forever.

        Returns:
            A write guard of the same lock, held by this thread.

        Raises:
            DeadlockError: This thread holds read guards of the lock too;
                the upgrade would wait for itself.
            TimeoutError: Readers still held the lock after ``timeout``;
                this guard is still a held upgradable read.
            GuardReleasedError: The guard was already released or upgraded.
            WrongThreadError: Called from a thread that does not hold it.
            ValueError: ``timeout`` is negative.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock([1])
            >>> with lock.upgradable_read() as guard:
            ...     with guard.upgrade(timeout=1.0) as writer:
            ...         writer.value.append(2)
            >>> lock
            RwLock([1, 2])
        """
        rwlock = self._rwlock
        if rwlock is None:
            raise self._gone()
        me = self._owner
        if _get_ident() != me:
            raise WrongThreadError(_MSG_WRONG_THREAD_CHANGE)
        writer: RwLockWriteGuard[T] = _new_guard(RwLockWriteGuard)
        writer._owner = me
        writer._then = None
        rwlock._upgrade(self, writer, timeout)
        return writer
