"""``RwLock[T]``: many readers or one writer, handed out through guards."""

from __future__ import annotations

import _thread
import math
import sys
import time
import warnings
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Self, TypeVar, final

from . import _poison, _seam
from ._deadline import Deadline, check_timeout
from ._errors import (
    ConsumedError,
    DeadlockError,
    GuardReleasedError,
    WouldBlockError,
    WrongThreadError,
)
from ._poison import CONSUMED as _CONSUMED
from ._poison import POISONED as _POISONED
from ._util import NoPublicConstructor, NotCopyable

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
_G = TypeVar(
    "_G", bound="RwLockReadGuard[Any] | RwLockWriteGuard[Any] | RwLockUpgradableReadGuard[Any]"
)

# The seam promises one identity function under every backend.
_get_ident = _seam.get_ident

# ``RwLock._trouble`` holds the bits of ``_poison`` (so does ``RwLock._gate``).
# Bit of ``RwLock._gate``: a writer holds the lock, waits for it, or an
# upgrade waits for the readers to leave; new readers must take the slow path.
_BUSY = 4
# Bit of a local in ``RwLock.__repr__``: no read guard could be had.
_LOCKED = 8

# How long a child made by os.fork() waits for the internal lock before it
# concludes that a thread the fork lost holds it (it is held for microseconds).
_FORK_GRACE = 1.0

#: What a poisoned or consumed rwlock says.
_SAYS = _poison.messages("rwlock", "while holding it for writing")
_MSG_WOULD_BLOCK_READ = (
    "rwlock is write-locked or a writer is waiting; try again later or call read() to wait"
)
_MSG_WOULD_BLOCK_WRITE = "rwlock is locked; try again later or call write() to wait for it"
_MSG_LOCKED_INTO_INNER = "rwlock is locked; into_inner() needs every guard released first"
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
_MSG_READ_WHILE_WRITING = (
    "rwlock is write-locked by this thread; reading it too would deadlock "
    "(downgrade() the write guard instead)"
)
_MSG_WRITE_WHILE_READING = (
    "rwlock is read-locked by this thread; writing would deadlock "
    "(release the read guards first, or use upgradable_read() and upgrade())"
)
_MSG_WRITE_WHILE_WRITING = (
    "rwlock is already write-locked by this thread; locking it again would deadlock"
)
_MSG_WRITE_WHILE_UPGRADABLE = (
    "this thread holds an upgradable read of this rwlock; write() would deadlock "
    "(call upgrade() on that guard instead)"
)
_MSG_UPGRADABLE_WHILE_WRITING = (
    "rwlock is write-locked by this thread; an upgradable read would deadlock "
    "(downgrade() the write guard instead)"
)
_MSG_UPGRADABLE_TWICE = (
    "this thread already holds an upgradable read of this rwlock; a second one would deadlock"
)
_MSG_UPGRADABLE_WHILE_READING = (
    "rwlock is read-locked by this thread; an upgradable read could never be upgraded "
    "(release the read guards first)"
)
_MSG_FORKED = (
    "rwlock is held (or waited for) by a thread that os.fork() did not copy into this "
    "process, so it can never be released; create locks after forking, or use the "
    "'forkserver' or 'spawn' start methods"
)
_MSG_UPGRADE_TIMEOUT = (
    "readers did not leave within {} seconds; the guard is still an upgradable read"
)
_MSG_UPGRADE_WHILE_READING = (
    "this thread still holds read guards of this rwlock; upgrading would wait for them "
    "forever (release them first)"
)


class RwLockStatistics(NamedTuple):
    """A snapshot of an :class:`RwLock`'s state, from :meth:`RwLock.statistics`.

    It may be stale as soon as it is returned; use it for tests and
    debugging, never for synchronisation.

    Attributes:
        readers: How many read guards were held, over all threads (a thread
            that took two counts twice; upgradable guards not included).
        writer: The ``threading.get_ident()`` of the thread holding the write
            lock, or None.
        upgradable: The ``threading.get_ident()`` of the thread holding the
            upgradable read, or None.
        waiting_readers: How many threads were blocked in ``read()`` or
            ``upgradable_read()``.
        waiting_writers: How many threads were blocked in ``write()`` or in
            an upgradable guard's ``upgrade()``.
        poisoned: Whether the lock was poisoned.
    """

    readers: int
    writer: int | None
    upgradable: int | None
    waiting_readers: int
    waiting_writers: int
    poisoned: bool


class _Waiter:
    """One blocked thread: it sleeps on ``lock`` until a grant releases it.

    The granting thread does all the bookkeeping under the rwlock's internal
    lock: it registers ``ident``, makes ``guard`` held (its ``_value`` and
    ``_rwlock`` set), sets ``granted`` and only then releases ``lock``. So
    the waiting thread, whatever interrupts it, finds a consistent state:
    either its guard holds the lock, or it is still queued. ``source`` is
    the upgradable guard an upgrade turns into ``guard``.
    """

    __slots__ = ("abandoned", "granted", "guard", "ident", "lock", "source")

    def __init__(self, ident: int, guard: Any, source: Any = None) -> None:
        self.ident = ident
        self.guard = guard
        self.source = source
        self.granted = False
        # Set by the waiting thread when an exception ends its wait: no
        # grant from then on, and a hand-over drops it from its queue.
        self.abandoned = False
        lock = _seam.allocate_lock()
        lock.acquire()
        self.lock = lock


@final
class RwLock(NotCopyable, Generic[T]):
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

    __slots__ = (
        "__weakref__",
        "_data",
        "_deferred",
        "_gate",
        "_holder",
        "_lock",
        "_poison",
        "_read_waiters",
        "_readers",
        "_trouble",
        "_upgradable_waiters",
        "_upgrader",
        "_upgrading",
        "_write_waiters",
        "_writer",
    )

    _copy_advice = (
        "share the same RwLock between threads (or wrap it in an Arc); to copy the "
        "data, copy it under a read guard (with lock.read() as guard: "
        "copy.deepcopy(guard.value)) or take it out with into_inner()"
    )

    def __init__(self, value: T, *, poison: bool = True) -> None:
        # Every field below except ``_data`` is guarded by ``_lock``, a raw
        # lock held only for a few bytecodes at a time, always in a ``with``
        # statement (no signal can arrive between taking it and the block).
        # ``_data`` belongs to whoever holds the write lock, and is shared
        # by the readers.
        #
        # Signal safety. A critical section either runs no call and
        # allocates nothing (the fast paths and guard exits: no signal
        # handler, garbage collection or finaliser can run inside it), or
        # records its thread in ``_holder`` first. A finaliser that runs
        # inside such a section on the same thread sees ``_holder`` and
        # does not touch ``_lock``: statistics() reads a snapshot,
        # try_read() and try_write() report WouldBlockError, repr() shows
        # <locked>, and a dropped guard is queued in ``_deferred`` and
        # released by the next critical section. Each change of state is
        # complete at every point where an exception can arrive; a
        # hand-over (``_dispatch``) that an exception cut short is redone by
        # the waiters themselves, which wake every ``_seam.backend.slice``
        # seconds to check.
        self._lock = _seam.allocate_lock()
        self._data = value
        self._poison = bool(poison)
        self._trouble = 0
        # ``_gate`` is ``_trouble | _BUSY-if-a-writer-holds-or-waits``: the
        # read fast path tests this one slot. It is raised before (never
        # after) the state it announces, and may stay raised too long
        # (the slow path then recomputes it), never too short.
        self._gate = 0
        # Thread identity -> number of read guards it holds.
        self._readers: dict[int, int] = {}
        self._writer: int | None = None
        self._upgrader: int | None = None
        # The upgradable guard's owner, waiting in upgrade() for readers to leave.
        self._upgrading: _Waiter | None = None
        self._read_waiters: list[_Waiter] = []
        self._upgradable_waiters: list[_Waiter] = []
        self._write_waiters: list[_Waiter] = []
        # The thread inside a critical section that may run Python code.
        self._holder: int | None = None
        # Guards dropped by a finaliser inside such a section, to release.
        self._deferred: list[Any] = []

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
        me = guard._owner = _get_ident()
        if self._holder == me:
            # A finaliser inside this thread's own operation on this lock.
            raise WouldBlockError(_MSG_WOULD_BLOCK_READ)
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    trouble = self._trouble
                    if trouble & _CONSUMED:  # inline: no call on the success path
                        raise ConsumedError(_SAYS.consumed)
                    readers = self._readers
                    if not (me in readers or self._upgrader == me or self._readable()):
                        raise WouldBlockError(_MSG_WOULD_BLOCK_READ)
                    if trouble:
                        raise _poison.refusal(_POISONED, _SAYS, self._read_ignoring_poison)
                    if me in readers:
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

    def _spin(self) -> None:
        """Wait a little for the internal lock to be free, before blocking on it.

        It is held for a few bytecodes only, so yield a few times before
        blocking: under the GIL, a thread that blocks in C is handed the
        lock while the GIL is elsewhere, and every later acquisition then
        costs two context switches (a lock convoy). In a child made by
        ``os.fork()``, a lock the fork left held by a lost thread raises
        :class:`~fearless.DeadlockError` instead of hanging.
        """
        lock = self._lock
        for _ in range(_seam.backend.spins):
            _seam.pause()
            if not lock.locked():
                return
        if _seam.forked_away:
            # Held for microseconds by a live thread; for ever by a lost one.
            deadline = _seam.monotonic() + _FORK_GRACE
            while lock.locked():
                if _seam.thread_gone(self._holder) or _seam.monotonic() > deadline:
                    raise DeadlockError(_MSG_FORKED)
                time.sleep(0.001)

    def _readable(self) -> bool:
        """Whether a new reader may enter (internal lock held)."""
        return self._writer is None and not self._write_waiters and self._upgrading is None

    def _read_ignoring_poison(self) -> RwLockReadGuard[T]:
        guard: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _READ, None, True)

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
        guard: RwLockWriteGuard[T] = _new_guard(RwLockWriteGuard)
        guard._then = None
        me = guard._owner = _get_ident()
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                if not (
                    self._gate or self._readers or self._upgrader is not None or timeout is not None
                ):
                    self._gate = _BUSY
                    self._writer = me
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
        me = guard._owner = _get_ident()
        if self._holder == me:
            # A finaliser inside this thread's own operation on this lock.
            raise WouldBlockError(_MSG_WOULD_BLOCK_WRITE)
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    trouble = self._trouble
                    if trouble & _CONSUMED:  # inline: no call on the success path
                        raise ConsumedError(_SAYS.consumed)
                    if self._writer is not None or self._readers or self._upgrader is not None:
                        raise WouldBlockError(_MSG_WOULD_BLOCK_WRITE)
                    if trouble:
                        raise _poison.refusal(_POISONED, _SAYS, self._write_ignoring_poison)
                    self._gate = _BUSY
                    self._writer = me
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

    def _write_ignoring_poison(self) -> RwLockWriteGuard[T]:
        guard: RwLockWriteGuard[T] = _new_guard(RwLockWriteGuard)
        guard._then = None
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _WRITE, None, True)

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

    def _upgradable_ignoring_poison(self) -> RwLockUpgradableReadGuard[T]:
        guard: RwLockUpgradableReadGuard[T] = _new_guard(RwLockUpgradableReadGuard)
        guard._then = None
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _UPGRADABLE, None, True)

    # -- the slow path ----------------------------------------------------------

    def _acquire_slow(self, guard: _G, kind: int, timeout: float | None, ignore_poison: bool) -> _G:
        """Make ``guard`` hold the lock (``kind`` of it), waiting if needed.

        On any exception (a refusal, a timeout, an interrupt, a
        ``RecursionError``), nothing is held and nothing stays queued.
        """
        me = guard._owner
        waiter: _Waiter | None = None
        queue: list[_Waiter] | None = None
        granted = False
        lock = self._lock
        try:
            wait = check_timeout(timeout)
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    if self._deferred:
                        self._apply_deferred()
                    if self._may_enter(guard, kind, me, ignore_poison):
                        self._regate()  # a gate left raised by an interrupted hand-over
                        return guard
                    if wait == 0:
                        raise TimeoutError(_MSG_TIMEOUT[kind].format(timeout))
                    if _seam.forked_away and self._lost_thread():
                        raise DeadlockError(_MSG_FORKED)
                    waiter = _Waiter(me, guard)
                    if kind == _READ:
                        queue = self._read_waiters
                    elif kind == _WRITE:
                        self._gate = self._trouble | _BUSY  # new readers wait behind it
                        queue = self._write_waiters
                    else:
                        queue = self._upgradable_waiters
                    queue.append(waiter)
                finally:
                    try:
                        if self._deferred:
                            self._apply_deferred()
                    finally:
                        self._holder = None
            granted = self._block(waiter, queue, wait)
            if granted and not ignore_poison and self._trouble & _POISONED:
                self._give_back(guard)
                raise _poison.refusal(_POISONED, _SAYS, _RECOVER[kind](self))
        except BaseException:
            if _seam.forked_away and isinstance(sys.exception(), DeadlockError):
                raise  # maybe the internal lock lost by os.fork(): do not wait for it
            # Inline, not a call: nothing can come between the exception and
            # the waiter marked abandoned (no grant from now on) and the
            # guard queued for release (if it holds anything).
            with lock:
                self._holder = me
                try:
                    if waiter is not None:
                        waiter.abandoned = True
                    self._deferred.append(guard)
                    if waiter is not None and not waiter.granted:
                        self._withdraw(waiter, queue)
                finally:
                    try:
                        self._apply_deferred()
                    finally:
                        self._holder = None
            raise
        if not granted:
            raise TimeoutError(_MSG_TIMEOUT[kind].format(timeout))
        return guard

    def _may_enter(self, guard: Any, kind: int, me: int, ignore_poison: bool) -> bool:
        """Refuse, or register ``guard`` if it may enter now (internal lock held).

        Returns whether it was registered; raises the refusals.
        """
        trouble = self._trouble
        _poison.refuse_if_consumed(trouble, _SAYS)
        readers = self._readers
        if kind == _READ:
            if self._writer == me:
                raise DeadlockError(_MSG_READ_WHILE_WRITING)
            if trouble and not ignore_poison:
                raise _poison.refusal(_POISONED, _SAYS, self._read_ignoring_poison)
            if me in readers:
                readers[me] += 1
            elif self._upgrader == me or self._readable():
                readers[me] = 1
            else:
                return False
        elif kind == _WRITE:
            if self._writer == me:
                raise DeadlockError(_MSG_WRITE_WHILE_WRITING)
            if me in readers:
                raise DeadlockError(_MSG_WRITE_WHILE_READING)
            if self._upgrader == me:
                raise DeadlockError(_MSG_WRITE_WHILE_UPGRADABLE)
            if trouble and not ignore_poison:
                raise _poison.refusal(_POISONED, _SAYS, self._write_ignoring_poison)
            if (
                self._writer is not None
                or readers
                or self._upgrader is not None
                or self._write_waiters
            ):
                return False
            self._gate = trouble | _BUSY
            self._writer = me
        else:
            if self._writer == me:
                raise DeadlockError(_MSG_UPGRADABLE_WHILE_WRITING)
            if self._upgrader == me:
                raise DeadlockError(_MSG_UPGRADABLE_TWICE)
            if me in readers:
                raise DeadlockError(_MSG_UPGRADABLE_WHILE_READING)
            if trouble and not ignore_poison:
                raise _poison.refusal(_POISONED, _SAYS, self._upgradable_ignoring_poison)
            if self._upgrader is not None or not self._readable():
                return False
            self._upgrader = me
        guard._value = self._data
        guard._rwlock = self
        return True

    def _lost_thread(self) -> bool:
        """Whether a holder or a waiter is a thread lost by ``os.fork()`` (lock held)."""
        gone = _seam.thread_gone
        if gone(self._writer) or gone(self._upgrader):
            return True
        upgrading = self._upgrading
        if upgrading is not None and gone(upgrading.ident):
            return True
        if any(gone(ident) for ident in self._readers):
            return True
        return any(
            gone(waiter.ident)
            for queue in (self._write_waiters, self._upgradable_waiters, self._read_waiters)
            for waiter in queue
        )

    def _upgrade(
        self,
        source: RwLockUpgradableReadGuard[T],
        writer: RwLockWriteGuard[T],
        timeout: float | None,
    ) -> None:
        """Turn ``source`` (held) into ``writer``, waiting for the readers to leave.

        On a timeout or any exception, ``source`` still holds the upgradable
        read and ``writer`` holds nothing.
        """
        me = source._owner
        waiter: _Waiter | None = None
        granted = False
        lock = self._lock
        try:
            wait = check_timeout(timeout)
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    if self._deferred:
                        self._apply_deferred()
                    if me in self._readers:
                        raise DeadlockError(_MSG_UPGRADE_WHILE_READING)
                    if not self._readers:
                        self._gate = self._trouble | _BUSY
                        self._writer = me
                        self._upgrader = None
                        writer._value = self._data
                        writer._rwlock = self
                        del source._value
                        source._rwlock = None
                        source._then = writer
                        return
                    if wait == 0:
                        raise TimeoutError(_MSG_UPGRADE_TIMEOUT.format(timeout))
                    if _seam.forked_away and self._lost_thread():
                        raise DeadlockError(_MSG_FORKED)
                    waiter = _Waiter(me, writer, source)
                    self._gate = self._trouble | _BUSY  # new readers wait from now on
                    self._upgrading = waiter
                finally:
                    try:
                        if self._deferred:
                            self._apply_deferred()
                    finally:
                        self._holder = None
            granted = self._block(waiter, None, wait)
        except BaseException:
            if _seam.forked_away and isinstance(sys.exception(), DeadlockError):
                raise  # maybe the internal lock lost by os.fork(): do not wait for it
            with lock:  # inline: see _acquire_slow
                self._holder = me
                try:
                    if waiter is not None:
                        waiter.abandoned = True
                    self._unupgrade(source, writer, waiter)
                finally:
                    try:
                        if self._deferred:
                            self._apply_deferred()
                    finally:
                        self._holder = None
            raise
        if not granted:
            raise TimeoutError(_MSG_UPGRADE_TIMEOUT.format(timeout))

    def _unupgrade(
        self,
        source: RwLockUpgradableReadGuard[T],
        writer: RwLockWriteGuard[T],
        waiter: _Waiter | None,
    ) -> None:
        """After an exception in ``upgrade()``: withdraw it, or undo it if it happened.

        Internal lock held.
        """
        if waiter is not None and not waiter.granted:
            self._withdraw(waiter, None)
        elif _held(writer):
            # One step with no call: the upgradable read held again.
            self._upgrader = source._owner
            source._value = writer._value
            source._rwlock = self
            source._then = None
            del writer._value
            writer._rwlock = None
            self._writer = None
            self._admit_readers()
            self._dispatch()

    # -- waiting and handing over -----------------------------------------------

    def _block(self, waiter: _Waiter, queue: list[_Waiter] | None, wait: float) -> bool:
        """Wait until ``waiter`` is granted (True) or ``wait`` seconds pass (False).

        Entered and left without the internal lock. On a timeout the waiter
        is withdrawn; on an exception the caller withdraws it. The wait is
        cut in slices: after each one the waiter redoes the hand-over, in
        case an exception cut short the one that should have woken it.
        """
        sleeper = waiter.lock
        deadline = Deadline(wait)
        piece = _seam.backend.slice
        me = waiter.ident
        while True:
            remaining = deadline.remaining()
            part = piece if remaining < 0 else min(remaining, piece)
            last = part == remaining  # this piece ends at the deadline
            # No spinning here: a grant comes only after another thread's
            # whole critical section, and yielding meanwhile measured slower
            # on both builds (benchmarks/bench_rwlock.py).
            if sleeper.acquire(True, -1 if part == math.inf else part):
                return True
            lock = self._lock
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    if not waiter.granted:
                        if last or deadline.expired():
                            self._withdraw(waiter, queue)
                            return False
                        self._dispatch()
                    if waiter.granted:
                        return True
                finally:
                    try:
                        if self._deferred:
                            self._apply_deferred()
                    finally:
                        self._holder = None

    def _withdraw(self, waiter: _Waiter, queue: list[_Waiter] | None) -> None:
        """Take a waiter that was not granted out of line (internal lock held)."""
        if queue is None:
            if self._upgrading is waiter:
                self._upgrading = None
        elif waiter in queue:
            queue.remove(waiter)
        self._dispatch()  # a withdrawn writer may have held readers back

    def _give_back(self, guard: Any) -> None:
        """Release ``guard`` without poisoning if it holds the lock."""
        if not _held(guard):
            return
        lock = self._lock
        if lock.locked():
            self._spin()
        with lock:
            self._holder = guard._owner
            try:
                if _held(guard):
                    self._release(guard, False)
            finally:
                try:
                    if self._deferred:
                        self._apply_deferred()
                finally:
                    self._holder = None

    def _release(self, guard: Any, failed: bool) -> None:
        """Release a held guard; poison if ``failed`` and it is a writer (internal lock held)."""
        me = guard._owner
        kind = type(guard)
        if kind is RwLockReadGuard:
            readers = self._readers
            count = readers[me]
            del guard._value
            guard._rwlock = None
            if count == 1:
                del readers[me]
            else:
                readers[me] = count - 1
            if self._gate and not readers:
                self._dispatch()
        elif kind is RwLockWriteGuard:
            self._data = guard._value
            del guard._value
            guard._rwlock = None
            if failed and self._poison:
                self._trouble |= _POISONED
                self._gate |= _POISONED
            self._writer = None
            self._admit_readers()
            self._dispatch()
        else:
            del guard._value
            guard._rwlock = None
            self._upgrader = None
            self._dispatch()

    def _admit_readers(self) -> None:
        """Let every waiting reader in, and one upgradable reader if none holds.

        Called (internal lock held) when no writer holds the lock. Each
        grant is complete before the next step that could be interrupted.
        """
        waiters = self._read_waiters
        readers = self._readers
        while waiters:
            waiter = waiters[-1]
            if waiter.abandoned:
                del waiters[-1]
                continue
            guard = waiter.guard
            readers[waiter.ident] = 1
            guard._value = self._data
            guard._rwlock = self
            waiter.granted = True
            del waiters[-1]
            # Keep no reference to the guard: if its thread drops it right
            # away, its finaliser must run there, not here.
            waiter.guard = guard = None
            waiter.lock.release()
        waiters = self._upgradable_waiters
        while waiters and waiters[0].abandoned:
            del waiters[0]
        if self._upgrader is None and waiters:
            waiter = waiters[0]
            guard = waiter.guard
            self._upgrader = waiter.ident
            guard._value = self._data
            guard._rwlock = self
            waiter.granted = True
            del waiters[0]
            waiter.guard = guard = None  # see above
            waiter.lock.release()

    def _dispatch(self) -> None:
        """Grant whatever the current state allows, then recompute the gate.

        Called (internal lock held) after every change that may let a
        waiter in. Order of precedence: a pending upgrade (it already
        excludes writers), then writers (writer-preferring), then readers.
        """
        if self._writer is None:
            upgrading = self._upgrading
            if upgrading is not None and upgrading.abandoned:
                self._upgrading = upgrading = None
            waiters = self._write_waiters
            while waiters and waiters[0].abandoned:
                del waiters[0]
            if upgrading is not None:
                if not self._readers:
                    writer = upgrading.guard
                    source = upgrading.source
                    self._writer = upgrading.ident
                    self._upgrader = None
                    writer._value = self._data
                    writer._rwlock = self
                    del source._value
                    source._rwlock = None
                    source._then = writer
                    upgrading.granted = True
                    self._upgrading = None
                    # Keep no reference to the guards (see _admit_readers).
                    upgrading.guard = upgrading.source = writer = source = None
                    upgrading.lock.release()
            elif waiters:
                if not self._readers and self._upgrader is None:
                    waiter = waiters[0]
                    guard = waiter.guard
                    self._writer = waiter.ident
                    guard._value = self._data
                    guard._rwlock = self
                    waiter.granted = True
                    del waiters[0]
                    waiter.guard = guard = None  # see _admit_readers
                    waiter.lock.release()
            else:
                self._admit_readers()
        self._regate()

    def _regate(self) -> None:
        """Recompute the fast path's gate (internal lock held)."""
        trouble = self._trouble
        if self._writer is not None or self._write_waiters or self._upgrading is not None:
            self._gate = trouble | _BUSY
        else:
            self._gate = trouble

    def _apply_deferred(self) -> None:
        """Release the guards finalisers dropped inside a critical section (lock held)."""
        deferred = self._deferred
        while deferred:
            guard = deferred[-1]
            if _held(guard):
                self._release(guard, False)
            # By identity, not position: a finaliser run by the release
            # may have queued another guard meanwhile.
            deferred.remove(guard)

    def _finalise(
        self,
        guard: Any,
        _ident: Callable[[], int] = _thread.get_ident,
        _warn: Callable[..., None] = warnings.warn,
    ) -> None:
        """A held guard's last reference is gone: release it (RAII), and warn.

        Only on the thread that holds it; elsewhere the lock stays held.
        ``guard.__del__`` has queued it in ``_deferred`` already.
        """
        kind = type(guard).__name__
        name = f"<{kind} at {id(guard):#x} of RwLock at {id(self):#x}>"
        how = _HOW[kind]
        owner = guard._owner
        me = _ident()
        if me != owner:
            if self._holder == me:  # inside this thread's own critical section
                self._deferred.remove(guard)
            else:
                lock = self._lock
                if lock.locked():
                    self._spin()
                with lock:
                    if guard in self._deferred:
                        self._deferred.remove(guard)
            _warn(
                f"{name} was never released and was garbage-collected on another thread; "
                "the rwlock stays locked, because only the thread that locked it "
                f"(ident {owner}) can release it (use 'with lock.{how}() as guard:' or "
                "call guard.unlock() on that thread)",
                ResourceWarning,
                source=guard,
            )
            return
        if self._holder != owner:
            # Else: inside this thread's own critical section on this lock,
            # whose end releases it.
            lock = self._lock
            if lock.locked():
                self._spin()
            with lock:
                self._holder = owner
                try:
                    self._apply_deferred()
                finally:
                    self._holder = None
        _warn(
            f"{name} was never released; it was released when garbage-collected "
            f"(use 'with lock.{how}() as guard:' or call guard.unlock())",
            ResourceWarning,
            source=guard,
        )

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
        me = _get_ident()
        lock = self._lock
        if lock.locked():
            self._spin()
        with lock:
            self._holder = me
            try:
                _poison.refuse_if_consumed(self._trouble, _SAYS)
                self._trouble = 0
                self._regate()
            finally:
                try:
                    if self._deferred:
                        self._apply_deferred()
                finally:
                    self._holder = None

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
        me = _get_ident()
        lock = self._lock
        if lock.locked():
            self._spin()
        with lock:
            self._holder = me
            try:
                if self._deferred:
                    self._apply_deferred()
                trouble = self._trouble
                _poison.refuse_if_consumed(trouble, _SAYS)
                if self._writer is not None or self._readers or self._upgrader is not None:
                    raise WouldBlockError(_MSG_LOCKED_INTO_INNER)
                value = self._data
                self._trouble = _CONSUMED
                self._gate = _CONSUMED
                del self._data
            finally:
                try:
                    if self._deferred:
                        self._apply_deferred()
                finally:
                    self._holder = None
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
        if self._holder == me:
            # A finaliser inside this thread's own operation on this lock:
            # nobody else can change the state meanwhile.
            return self._snapshot()
        lock = self._lock
        if lock.locked():
            self._spin()
        with lock:
            self._holder = me
            try:
                if self._deferred:
                    self._apply_deferred()
                return self._snapshot()
            finally:
                try:
                    if self._deferred:
                        self._apply_deferred()
                finally:
                    self._holder = None

    def _snapshot(self) -> RwLockStatistics:
        upgrading = self._upgrading
        return RwLockStatistics(
            readers=sum(self._readers.values()),
            writer=self._writer,
            upgradable=self._upgrader,
            waiting_readers=_count(self._read_waiters) + _count(self._upgradable_waiters),
            waiting_writers=_count(self._write_waiters)
            + (upgrading is not None and not upgrading.abandoned),
            poisoned=bool(self._trouble & _POISONED),
        )

    def __repr__(self) -> str:
        # Never blocks (Rust's Debug uses try_read): the value is shown when
        # a read guard could be had at once, else <locked>.
        me = _get_ident()
        if self._holder == me:
            return "RwLock(<locked>)"  # a finaliser inside this thread's own operation
        guard: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        guard._owner = me
        lock = self._lock
        try:
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    trouble = self._trouble
                    readers = self._readers
                    if not trouble & _CONSUMED:
                        if me in readers:
                            readers[me] += 1
                        elif self._upgrader == me or self._readable():
                            readers[me] = 1
                        else:
                            trouble |= _LOCKED
                        if not trouble & _LOCKED:
                            guard._value = self._data
                            guard._rwlock = self
                finally:
                    try:
                        if self._deferred:
                            self._apply_deferred()
                    finally:
                        self._holder = None
            if trouble & (_CONSUMED | _LOCKED):
                return _poison.describe("RwLock", trouble, None)
            return _poison.describe("RwLock", trouble, repr(guard._value))
        finally:
            self._give_back(guard)


def _count(queue: list[_Waiter]) -> int:
    """How many waiters of ``queue`` still wait (abandoned ones are dropped lazily)."""
    return sum(not waiter.abandoned for waiter in queue)


def _held(guard: Any) -> bool:
    """Whether ``guard`` holds its lock (a guard made but never granted does not)."""
    return getattr(guard, "_rwlock", None) is not None


_READ = 0
_WRITE = 1
_UPGRADABLE = 2

_MSG_TIMEOUT = (
    "rwlock was not available for reading within {} seconds",
    "rwlock was not available for writing within {} seconds",
    "rwlock was not available for an upgradable read within {} seconds",
)

_RECOVER: tuple[Callable[[RwLock[Any]], Callable[[], Any]], ...] = (
    lambda rw: rw._read_ignoring_poison,
    lambda rw: rw._write_ignoring_poison,
    lambda rw: rw._upgradable_ignoring_poison,
)

# How a never-released guard should have been taken, for its ResourceWarning.
_HOW = {
    "RwLockReadGuard": "read",
    "RwLockWriteGuard": "write",
    "RwLockUpgradableReadGuard": "upgradable_read",
}

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


def _get_shared_value(guard: RwLockReadGuard[T] | RwLockUpgradableReadGuard[T]) -> T:
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

    def __enter__(self) -> Self:
        try:
            _ = self._value
        except AttributeError:
            raise self._gone() from None
        return self


@final
class RwLockReadGuard(_Guard, Generic[T_co], metaclass=NoPublicConstructor):
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

    _rwlock: RwLock[Any] | None
    _owner: int
    _value: Any

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

    def _gone(self) -> GuardReleasedError:
        return GuardReleasedError(_MSG_RELEASED)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
            # No call in here but the hand-over (see RwLock.__init__).
            readers = rwlock._readers
            count = readers[me]
            del self._value
            self._rwlock = None
            if count != 1:
                readers[me] = count - 1
            else:
                del readers[me]
                if rwlock._gate and not readers:
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

        Rust's ``drop(guard)``. Using the guard afterwards raises
        :class:`~fearless.GuardReleasedError`; the ``with`` block's exit
        then does nothing.

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

    def __repr__(self) -> str:
        try:
            return f"<RwLockReadGuard value={self._value!r}>"
        except AttributeError:
            return "<RwLockReadGuard (released)>"


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

    _rwlock: RwLock[T] | None
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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
            # The release itself runs no call (see RwLock.__init__); the
            # hand-over to waiters comes after it.
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

        Rust's ``drop(guard)``; it never poisons. Using the guard afterwards
        raises :class:`~fearless.GuardReleasedError`; the ``with`` block's
        exit then does nothing.

        Raises:
            GuardReleasedError: The guard was already released.
            WrongThreadError: Called from a thread that does not hold it.

        Example:
            >>> from fearless import RwLock
            >>> lock = RwLock(0)
            >>> with lock.write() as guard:
            ...     guard.value = 1
            ...     guard.unlock()
            ...     with lock.try_read() as reader:
            ...         reader.value
            1
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

    def __repr__(self) -> str:
        try:
            return f"<RwLockWriteGuard value={self._value!r}>"
        except AttributeError:
            return "<RwLockWriteGuard (released)>"


@final
class RwLockUpgradableReadGuard(_Guard, Generic[T], metaclass=NoPublicConstructor):
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

    _rwlock: RwLock[T] | None
    _owner: int
    _then: RwLockWriteGuard[T] | None  # the write guard upgrade() made
    _value: T

    if TYPE_CHECKING:

        @property
        def value(self) -> T:
            """The protected value, read-only."""
            ...

    else:
        value = property(
            _get_shared_value,
            _refuse_shared_assignment,
            _refuse_shared_assignment,
            _SHARED_VALUE_DOC,
        )

    def _gone(self) -> GuardReleasedError:
        return GuardReleasedError(_MSG_RELEASED if self._then is None else _MSG_UPGRADED)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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

    def __repr__(self) -> str:
        try:
            return f"<RwLockUpgradableReadGuard value={self._value!r}>"
        except AttributeError:
            return "<RwLockUpgradableReadGuard (released)>"
