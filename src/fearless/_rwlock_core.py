"""The machinery under ``RwLock``: its state, the slow path, waiting and handing over.

:class:`_RwLockCore` is :class:`~fearless.RwLock`'s base class. It owns
every field (the state is described in ``__init__``) and the private
methods that the public methods (``_rwlock``) and the guards
(``_rwlock_guards``) build on:

- the one slow path of every request, :meth:`~_RwLockCore._acquire_slow`:
  admit at once (:meth:`~_RwLockCore._may_enter`), refuse, or queue a
  :class:`_Waiter` and park it (:meth:`~_RwLockCore._block`) -- reads,
  writes, upgradable reads and upgrades alike;
- the hand-over, under the internal lock: :meth:`~_RwLockCore._release`,
  :meth:`~_RwLockCore._dispatch` (a pending upgrade, then writers, then
  readers), :meth:`~_RwLockCore._admit_readers`;
- dropped guards (RAII): :meth:`~_RwLockCore._finalise` and the
  ``_deferred`` queue of guards finalised inside a critical section.

The read and write fast paths (``RwLock.read``/``write``) and the guards'
exits are inline copies of parts of these, for speed; they say so where
they stand. Relies on ``_seam`` (raw locks, thread identity, fork),
``_park`` (a waiter's lock, one slice of parking, the spin before taking
the internal lock), ``_poison`` (poison and consumed bits, messages) and
``_deadline``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Generic, NamedTuple, TypeVar

from . import _park, _poison, _seam
from ._deadline import Deadline, check_timeout
from ._errors import DeadlockError
from ._poison import CONSUMED as _CONSUMED
from ._poison import POISONED as _POISONED
from ._rwlock_guards import RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard
from ._util import NotCopyable

T = TypeVar("T")
_R = TypeVar("_R")
_G = TypeVar(
    "_G", bound="RwLockReadGuard[Any] | RwLockWriteGuard[Any] | RwLockUpgradableReadGuard[Any]"
)

# The seam promises one identity function under every backend.
_get_ident = _seam.get_ident

# ``_trouble`` holds the bits of ``_poison`` (so does ``_gate``).
# Bit of ``_gate``: a writer holds the lock, waits for it, or an upgrade
# waits for the readers to leave; new readers must take the slow path.
_BUSY = 4
# Bit of a local in ``RwLock.__repr__``: no read guard could be had.
_LOCKED = 8

# How long a child made by os.fork() waits for the internal lock before it
# concludes that a thread the fork lost holds it (it is held for microseconds).
_FORK_GRACE = 1.0

#: What a poisoned or consumed rwlock says.
_SAYS = _poison.messages("rwlock", "while holding it for writing")
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

# Kinds of request (indexes of the tables below).
_READ = 0
_WRITE = 1
_UPGRADABLE = 2
_UPGRADE = 3  # an upgradable guard's upgrade()

_MSG_TIMEOUT = (
    "rwlock was not available for reading within {} seconds",
    "rwlock was not available for writing within {} seconds",
    "rwlock was not available for an upgradable read within {} seconds",
    _MSG_UPGRADE_TIMEOUT,
)

# How a never-released guard should have been taken, for its ResourceWarning.
_HOW = {
    "RwLockReadGuard": "read",
    "RwLockWriteGuard": "write",
    "RwLockUpgradableReadGuard": "upgradable_read",
}

_new_guard: Any = object.__new__


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
        self.lock = _park.waiter()


class _RwLockCore(NotCopyable, Generic[T]):
    """The state of an :class:`~fearless.RwLock` and what its methods and guards build on."""

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

    # The compiled twin's readers that hold no entry in ``_readers`` (see
    # fearless._rwlock_twins): how many hold a read guard, how many of them
    # this thread holds, and how many threads lost by os.fork() held. The
    # reference has none; the twin's C type answers these three names.
    _fast: ClassVar[int] = 0
    _fast_mine: ClassVar[int] = 0
    _fast_lost: ClassVar[int] = 0

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
        # records its thread in ``_holder`` first. (One exception, on
        # CPython 3.11 only: a collection at the end of the ``with`` block,
        # see :meth:`_inside`.) A finaliser that runs inside such a section
        # on the same thread sees that it is (:meth:`_inside`) and does
        # not touch ``_lock``: statistics() reads a snapshot,
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
        # (the slow path then recomputes it), never too short. Whoever
        # needs the readers gone (a writer, an upgrade, into_inner) raises
        # it before counting them: the compiled twin's fast readers count
        # themselves only while it is down.
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

    # -- small helpers ------------------------------------------------------

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
        if _park.spin(lambda: not lock.locked()):
            return
        if _seam.forked_away:
            # Held for microseconds by a live thread; for ever by a lost one.
            deadline = _seam.monotonic() + _FORK_GRACE
            while lock.locked():
                if _seam.thread_gone(self._holder) or _seam.monotonic() > deadline:
                    raise DeadlockError(_MSG_FORKED)
                # A millisecond's wait for it to be free (through the seam:
                # take it, give it back; the caller takes it for good).
                if lock.acquire(True, 0.001):
                    lock.release()

    def _readable(self) -> bool:
        """Whether a new reader may enter (internal lock held)."""
        return self._writer is None and not self._write_waiters and self._upgrading is None

    def _read_ignoring_poison(self) -> RwLockReadGuard[T]:
        guard: RwLockReadGuard[T] = _new_guard(RwLockReadGuard)
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _READ, None, True)

    def _write_ignoring_poison(self) -> RwLockWriteGuard[T]:
        guard: RwLockWriteGuard[T] = _new_guard(RwLockWriteGuard)
        guard._then = None
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _WRITE, None, True)

    def _upgradable_ignoring_poison(self) -> RwLockUpgradableReadGuard[T]:
        guard: RwLockUpgradableReadGuard[T] = _new_guard(RwLockUpgradableReadGuard)
        guard._then = None
        guard._owner = _get_ident()
        return self._acquire_slow(guard, _UPGRADABLE, None, True)

    # -- the slow path ------------------------------------------------------

    def _acquire_slow(  # noqa: PLR0912, PLR0915 - queueing and its handler share one frame (interrupt safety)
        self, guard: _G, kind: int, timeout: float | None, ignore_poison: bool, source: Any = None
    ) -> _G:
        """Make ``guard`` hold the lock (``kind`` of it), waiting in line if needed.

        The one slow path of every request: ``read()``, ``write()``,
        ``upgradable_read()`` (and their ``PoisonError.into_inner()``) and
        an upgradable guard's ``upgrade()`` (``kind`` ``_UPGRADE``: ``guard``
        is the new write guard, ``source`` the held upgradable guard it
        replaces). Under the internal lock: admitted at once
        (:meth:`_may_enter`), refused, or queued; then, without it, parked
        until a hand-over grants it (:meth:`_block`).

        On any exception (a refusal, a timeout, an interrupt, a
        ``RecursionError``), nothing new is held and nothing stays queued;
        after a failed upgrade ``source`` still holds its upgradable read.
        """
        me = guard._owner
        waiter: _Waiter | None = None
        queue: list[_Waiter] | None = None
        granted = False
        lock = self._lock
        try:
            wait = check_timeout(timeout)
            # Inlined copy of _run_locked's shape: keep in step. Inline
            # because the handler below must know the waiter from the
            # moment it is queued, which a step's return value cannot say.
            if lock.locked():
                self._spin()
            with lock:
                self._holder = me
                try:
                    if self._deferred:
                        self._apply_deferred()
                    if self._may_enter(guard, kind, me, ignore_poison, source):
                        self._regate()  # a gate left raised by an interrupted hand-over
                        return guard
                    if wait == 0:
                        self._regate()  # a writer's admission raised it
                        raise TimeoutError(_MSG_TIMEOUT[kind].format(timeout))
                    if _seam.forked_away and self._lost_thread():
                        raise DeadlockError(_MSG_FORKED)
                    waiter = _Waiter(me, guard, source)
                    # Inline, not in _queue_for: no point between queueing the
                    # waiter and the handler below knowing where it is queued.
                    queue = self._queue_for(kind)
                    if queue is None:
                        self._upgrading = waiter
                    else:
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
                    if source is not None:
                        self._unupgrade(source, guard, waiter)
                    else:
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

    def _may_enter(  # noqa: PLR0912 - the admission table: one branch per request kind and state
        self, guard: Any, kind: int, me: int, ignore_poison: bool, source: Any = None
    ) -> bool:
        """Refuse, or register ``guard`` if it may enter now (internal lock held).

        Returns whether it was registered; raises the refusals.
        """
        trouble = self._trouble
        # Inlined copy of _poison.refuse_if_consumed's test: keep in step
        # (the call only when the bit is set: admission is on the contended path).
        if trouble & _CONSUMED:
            _poison.refuse_if_consumed(trouble, _SAYS)
        readers = self._readers
        if kind == _READ:
            if self._writer == me:
                raise DeadlockError(_MSG_READ_WHILE_WRITING)
            if trouble and not ignore_poison:
                raise _poison.refusal(_POISONED, _SAYS, self._read_ignoring_poison)
            if me in readers:
                readers[me] += 1
            elif self._fast_mine or self._upgrader == me or self._readable():
                readers[me] = 1
            else:
                return False
        elif kind == _WRITE:
            if self._writer == me:
                raise DeadlockError(_MSG_WRITE_WHILE_WRITING)
            if me in readers or self._fast_mine:
                raise DeadlockError(_MSG_WRITE_WHILE_READING)
            if self._upgrader == me:
                raise DeadlockError(_MSG_WRITE_WHILE_UPGRADABLE)
            if trouble and not ignore_poison:
                raise _poison.refusal(_POISONED, _SAYS, self._write_ignoring_poison)
            self._gate = trouble | _BUSY  # before counting the readers (see __init__)
            if (
                self._writer is not None
                or readers
                or self._fast
                or self._upgrader is not None
                or self._write_waiters
            ):
                return False
            self._writer = me
        elif kind == _UPGRADE:
            # ``source``, this thread's upgradable guard, excludes writers.
            if me in readers or self._fast_mine:
                raise DeadlockError(_MSG_UPGRADE_WHILE_READING)
            self._gate = trouble | _BUSY  # before counting the readers (see __init__)
            if readers or self._fast:
                return False
            self._grant_upgrade(me, guard, source)
            return True
        else:
            if self._writer == me:
                raise DeadlockError(_MSG_UPGRADABLE_WHILE_WRITING)
            if self._upgrader == me:
                raise DeadlockError(_MSG_UPGRADABLE_TWICE)
            if me in readers or self._fast_mine:
                raise DeadlockError(_MSG_UPGRADABLE_WHILE_READING)
            if trouble and not ignore_poison:
                raise _poison.refusal(_POISONED, _SAYS, self._upgradable_ignoring_poison)
            if self._upgrader is not None or not self._readable():
                return False
            self._upgrader = me
        guard._value = self._data
        guard._rwlock = self
        return True

    def _queue_for(self, kind: int) -> list[_Waiter] | None:
        """Where a waiter for ``kind`` of the lock queues; None for an upgrade (``_upgrading``).

        Internal lock held. A writer, or an upgrade, raises the gate first:
        new readers wait behind it.
        """
        if kind == _READ:
            return self._read_waiters
        if kind == _UPGRADABLE:
            return self._upgradable_waiters
        self._gate = self._trouble | _BUSY
        return self._write_waiters if kind == _WRITE else None

    def _lost_thread(self) -> bool:
        """Whether a holder or a waiter is a thread lost by ``os.fork()`` (lock held)."""
        gone = _seam.thread_gone
        if gone(self._writer) or gone(self._upgrader):
            return True
        upgrading = self._upgrading
        if upgrading is not None and gone(upgrading.ident):
            return True
        if self._fast_lost or any(gone(ident) for ident in self._readers):
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
        self._acquire_slow(writer, _UPGRADE, timeout, True, source)

    def _unupgrade(
        self,
        source: RwLockUpgradableReadGuard[T],
        writer: Any,  # the RwLockWriteGuard[T] the upgrade was to return
        waiter: _Waiter | None,
    ) -> None:
        """After an exception in an upgrade: withdraw it, or undo it if it happened.

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

    # -- waiting and handing over ------------------------------------------

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
            # No spinning here: a grant comes only after another thread's
            # whole critical section, and yielding meanwhile measured slower
            # on both builds (benchmarks/bench_rwlock.py).
            if _park.park_slice(sleeper, remaining, piece):
                return True
            last = 0 <= remaining <= piece  # this piece ended at the deadline
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

        def release() -> None:
            if _held(guard):
                self._release(guard, False)

        self._run_locked(guard._owner, release)

    def _inside(self, me: int) -> bool:
        """Whether thread ``me`` may be inside its own critical section on this lock.

        It is inside one that records ``_holder``. On CPython 3.11 it may
        also be inside one that does not: there an allocation runs a
        garbage collection at once, and the call to the internal lock's
        ``__exit__`` at the end of every ``with`` block allocates (its
        argument tuple) before it releases, so finalisers can run there,
        after the section's last statement, with the lock still held and
        no holder recorded (``_seam.collecting``). A collection on this
        thread while the lock is held and nobody is recorded counts as
        inside: the finaliser reads a snapshot, reports would-block or
        queues its guard rather than wait for a lock its own thread holds.
        (The lock may belong to another thread that has just taken it;
        then the answer is only more cautious than it needs to be.)
        """
        holder = self._holder
        if holder == me:
            return True
        return holder is None and _seam.collecting == me and self._lock.locked()

    def _run_locked(self, me: int, step: Callable[[], _R]) -> _R:
        """Run ``step`` in a critical section of thread ``me``; what it returns.

        The shape of every critical section that may run Python code (see
        ``__init__``): ``_holder`` is recorded first, so that a finaliser
        running inside on this thread does not wait for the internal lock,
        and the guards such finalisers dropped are released before and
        after ``step``. For the paths that may pay for a call; the fast
        paths, the guards' exits and the slow path keep the shape inline.
        """
        lock = self._lock
        if lock.locked():
            self._spin()
        with lock:
            self._holder = me
            try:
                if self._deferred:
                    self._apply_deferred()
                return step()
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
            if self._gate and not readers and not self._fast:
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

    def _reader_left(self) -> None:
        """The compiled twin's last fast reader left while the gate was up: hand over.

        The fast reader takes no internal lock, so it cannot know whether
        anyone waits; the gate says someone may. Inside this thread's own
        critical section on this lock (a finaliser dropped the guard there)
        nothing is done: the waiters redo the hand-over themselves within a
        slice (see :meth:`_block`).
        """
        me = _get_ident()
        if not self._inside(me):
            self._run_locked(me, self._readers_left)

    def _readers_left(self) -> None:
        """Hand over if no reader is left and the gate says someone may wait (lock held)."""
        if self._gate and not self._readers and not self._fast:
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
            # Inlined copy of _grant(waiters, -1, _READ): keep in step. One
            # call per waiting reader would slow the contended hand-over.
            guard = waiter.guard
            readers[waiter.ident] = 1
            guard._value = self._data
            guard._rwlock = self
            waiter.granted = True
            del waiters[-1]
            waiter.guard = guard = None
            waiter.lock.release()
        waiters = self._upgradable_waiters
        while waiters and waiters[0].abandoned:
            del waiters[0]
        if self._upgrader is None and waiters:
            self._grant(waiters, 0, _UPGRADABLE)

    def _grant(self, waiters: list[_Waiter], index: int, kind: int) -> None:
        """Hand ``kind`` of the lock to ``waiters[index]``, in one step with no call.

        Internal lock held. Registers the waiter's thread, makes its guard
        held, takes it out of line and wakes it: complete before the next
        point where an exception could arrive. Keeps no reference to the
        guard: if its thread drops it right away, its finaliser must run
        there, not here.
        """
        waiter = waiters[index]
        guard = waiter.guard
        if kind == _READ:
            self._readers[waiter.ident] = 1
        elif kind == _WRITE:
            self._writer = waiter.ident
        else:
            self._upgrader = waiter.ident
        guard._value = self._data
        guard._rwlock = self
        waiter.granted = True
        del waiters[index]
        waiter.guard = guard = None
        waiter.lock.release()

    def _grant_upgrade(
        self, ident: int, writer: RwLockWriteGuard[T], source: RwLockUpgradableReadGuard[T]
    ) -> None:
        """One step with no call: ``source`` (upgradable) becomes ``writer``; lock held."""
        self._writer = ident
        self._upgrader = None
        writer._value = self._data
        writer._rwlock = self
        del source._value
        source._rwlock = None
        source._then = writer

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
                if not self._readers and not self._fast:
                    writer = upgrading.guard
                    source = upgrading.source
                    self._grant_upgrade(upgrading.ident, writer, source)
                    upgrading.granted = True
                    self._upgrading = None
                    # Keep no reference to the guards (see _grant).
                    upgrading.guard = upgrading.source = writer = source = None
                    upgrading.lock.release()
            elif waiters:
                if not self._readers and not self._fast and self._upgrader is None:
                    self._grant(waiters, 0, _WRITE)
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
        _ident: Callable[[], int] = _seam.get_ident,
        _warn: Callable[..., None] = warnings.warn,
    ) -> None:
        """A held guard's last reference is gone: release it (RAII), and warn.

        Only on the thread that holds it; elsewhere the lock stays held.
        ``guard.__del__`` has queued it in ``_deferred`` already.
        """
        owner = guard._owner
        me = _ident()
        if me != owner:
            if self._inside(me):  # inside this thread's own critical section
                self._deferred.remove(guard)
            else:
                lock = self._lock
                if lock.locked():
                    self._spin()
                with lock:
                    if guard in self._deferred:
                        self._deferred.remove(guard)
            warn_dropped(guard, self, False, _warn)
            return
        if not self._inside(owner):
            # Else: inside this thread's own critical section on this lock,
            # whose end releases it (or, at the end of one that records no
            # holder, on 3.11, the next section that applies ``_deferred``).
            self._run_locked(owner, _nothing)
        warn_dropped(guard, self, True, _warn)

    def _snapshot(self) -> RwLockStatistics:
        upgrading = self._upgrading
        return RwLockStatistics(
            readers=sum(self._readers.values()) + self._fast,
            writer=self._writer,
            upgradable=self._upgrader,
            waiting_readers=_count(self._read_waiters) + _count(self._upgradable_waiters),
            waiting_writers=_count(self._write_waiters)
            + (upgrading is not None and not upgrading.abandoned),
            poisoned=bool(self._trouble & _POISONED),
        )


def warn_dropped(
    guard: Any,
    rwlock: object,
    released: bool,
    _warn: Callable[..., None] = warnings.warn,
) -> None:
    """Say that a held ``guard`` of ``rwlock`` lost its last reference (a ResourceWarning).

    ``released``: it was dropped on its own thread, and released; else on
    another thread, and the lock stays locked. The compiled twin's read
    guard calls this too, from its finaliser.
    """
    kind = type(guard).__name__
    name = f"<{kind} at {id(guard):#x} of RwLock at {id(rwlock):#x}>"
    how = _HOW[kind]
    if released:
        message = (
            f"{name} was never released; it was released when garbage-collected "
            f"(use 'with lock.{how}() as guard:' or call guard.unlock())"
        )
    else:
        message = (
            f"{name} was never released and was garbage-collected on another thread; "
            "the rwlock stays locked, because only the thread that locked it "
            f"(ident {guard._owner}) can release it (use 'with lock.{how}() as guard:' or "
            "call guard.unlock() on that thread)"
        )
    _warn(message, ResourceWarning, source=guard)


def _count(queue: list[_Waiter]) -> int:
    """How many waiters of ``queue`` still wait (abandoned ones are dropped lazily)."""
    return sum(not waiter.abandoned for waiter in queue)


def _held(guard: Any) -> bool:
    """Whether ``guard`` holds its lock (a guard made but never granted does not)."""
    return getattr(guard, "_rwlock", None) is not None


def _nothing() -> None:
    """A critical section's step that only releases the dropped guards."""


_RECOVER: tuple[Callable[[_RwLockCore[Any]], Callable[[], Any]], ...] = (
    lambda rw: rw._read_ignoring_poison,
    lambda rw: rw._write_ignoring_poison,
    lambda rw: rw._upgradable_ignoring_poison,
)
