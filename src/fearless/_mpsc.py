"""Channels: ``channel``, ``sync_channel``, ``select`` and timer channels.

How it works, for the reviewer:

- Every channel flavour keeps its messages in a :class:`collections.deque`;
  ``append`` and ``popleft`` are single C calls that are atomic on both
  builds, so the fast paths take no lock. An unbounded ``send`` is a check,
  an ``append`` and a check; a ``recv`` with a message waiting is one
  ``popleft``.
- Bounded channels hand out room as *permits*: a deque holding one token
  per free slot (Rust's array flavour also allocates its slots up front).
  A sender pops a permit before appending, the receiver appends one back
  after taking a message; both are single C calls.
- Nothing blocks unless it must. A thread that must wait creates a
  :class:`_Waiter` (a raw lock from the seam, acquired, plus a one-shot
  *claim*), publishes it where the other side will look (``chan.waiter``
  for the receiver, ``chan.send_waiters`` for bounded senders, an offer for
  rendezvous senders), **re-checks** the condition it waits for, and only
  then blocks on the lock. The other side changes the state first (append,
  return a permit, drop the last sender) and then looks for a waiter. So
  either the waiter sees the change on its re-check, or the other side
  sees the waiter: no wake-up is lost.
- Exactly one waker gets to wake a waiter: waking pops the waiter's claim
  (``list.pop`` is atomic), and only the thread that got it releases the
  lock. A waiter that stops waiting (it saw its condition, or timed out)
  pops the claim itself, so nobody releases its lock afterwards. ``select``
  publishes one waiter on all its receivers; the first channel that
  claims it wins, the others find it claimed and leave it alone.
- Blocking waits are done in slices (the seam's ``backend.slice``). Between
  slices the waiting thread runs Python code again, so finalisers that
  free-threaded CPython queued for it — a :class:`Sender` or
  :class:`Receiver` it created, dropped by another thread — run promptly,
  and the wait notices the disconnection they cause. Slices also bound
  the damage of any wake-up lost to a weaker memory model than x86's.
- A receive or bounded send that would block first yields the processor
  (and the GIL) with ``sched_yield`` and retries, ``backend.snoozes``
  times (crossbeam's ``Backoff::snooze``): the thread on the other end
  usually makes progress within microseconds, which is far cheaper than a
  park and a wake-up on both sides. ``time.sleep(0)``, which the locks use
  to hand the GIL over, costs the kernel's timer slack (about 80 µs) per
  call; with it a bounded channel paid one such sleep per side for every
  full buffer.
- Counts of senders change under a reentrant lock from the seam, so a
  ``Sender`` garbage-collected inside an operation on its own channel (in
  the same thread) cannot deadlock.
- Interrupts. CPython raises ``KeyboardInterrupt`` (from a signal handler)
  when a function starts, after a call returns and at a loop's back edge.
  So every piece of bookkeeping is one C operation placed *inside* the
  ``try`` that undoes it (``busy[me] = None`` / ``busy.pop(me, None)``),
  a permit taken just before an interrupt is given back by its
  ``except``, and a rendezvous offer is withdrawn -- and its delivery
  learnt -- by one C call prepared in advance (:func:`_settler`). Loops
  that CPython 3.12+ leaves outside their ``try``'s exception table live
  in functions of their own (:func:`_snooze`). A send that raises did not
  deliver its message unless the exception carries :data:`NOTE_SENT`.
- Finalisers run at interpreter shutdown, when module globals are None:
  everything a handle's ``__del__`` reaches is bound as a default argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from _thread import get_ident
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import suppress
from functools import partial
from itertools import compress, repeat
from types import TracebackType
from typing import (
    Any,
    Generic,
    NoReturn,
    Self,
    TypeVar,
    final,
    overload,
)

from . import _seam
from ._deadline import Deadline, check_timeout
from ._errors import (
    ConcurrentRecvError,
    ConsumedError,
    DeadlockError,
    Empty,
    Full,
    RecvError,
    RecvTimeoutError,
    SendError,
    SendTimeoutError,
)
from ._util import NoPublicConstructor, NotCopyable

T = TypeVar("T")
U = TypeVar("U")
T_co = TypeVar("T_co", covariant=True)
T_contra = TypeVar("T_contra", contravariant=True)

_MSG_SENDER_CLOSED = "this Sender was closed; use a live clone of it instead"
_MSG_SYNC_SENDER_CLOSED = "this SyncSender was closed; use a live clone of it instead"
_MSG_RECEIVER_CLOSED = "this Receiver was closed; it cannot receive any more"
_MSG_SEND_DISCONNECTED = (
    "the receiver is gone, so the message can never be delivered; it is returned in .value"
)
_MSG_RECV_DISCONNECTED = (
    "every sender is gone and the channel is empty; no message will ever arrive"
)
_MSG_EMPTY = "the channel is empty; call recv() to wait for a message"
_MSG_FULL = "the channel is full (capacity {}); call send() to wait for room, or try again later"
_MSG_FULL_RENDEZVOUS = (
    "no receiver is waiting on this rendezvous channel (capacity 0); call send() to wait for one"
)
_MSG_RECV_TIMEOUT = "no message arrived within {} seconds"
_MSG_SEND_TIMEOUT = "the channel stayed full for {} seconds; the message is returned in .value"
_MSG_SEND_TIMEOUT_RENDEZVOUS = (
    "no receiver took the message within {} seconds; it is returned in .value"
)
_MSG_CONCURRENT = (
    "another thread or task is already receiving on this Receiver; a channel has a single "
    "consumer (Rust's Receiver is not Sync): receive in one place and hand the messages on"
)
_MSG_FORKED = (
    "this channel's sender count is locked by a thread that os.fork() did not copy into "
    "this process, so it can never be released; create channels after fork, or use the "
    "'forkserver' or 'spawn' start methods of multiprocessing"
)
#: The note a send's exception carries when its message was delivered all the same.
NOTE_SENT = "fearless: the message was sent before this exception arrived; do not send it again"


def was_sent(exc: BaseException) -> bool:
    """Whether the send that raised ``exc`` delivered its message all the same.

    A send that raises did not deliver its message -- except when an
    exception that does not come from the channel (``KeyboardInterrupt``
    from Ctrl-C, or another exception raised by a signal handler) arrives
    after the message was handed over. Then the exception carries a note
    saying so (shown in its traceback), and this function returns True:
    do not send the message again. If a second interrupt cut the handling
    of the first one short, the note is on the first, which this function
    finds through ``__context__``.

    Example:
        >>> from fearless.mpsc import SendError, channel, was_sent
        >>> tx, rx = channel[int]()
        >>> rx.close()
        >>> try:
        ...     tx.send(1)
        ... except SendError as e:
        ...     print(was_sent(e))
        False
    """
    seen: BaseException | None = exc
    for _ in range(8):  # a bounded walk: contexts can form a cycle
        if seen is None:
            return False
        if NOTE_SENT in getattr(seen, "__notes__", ()):
            return True
        seen = seen.__context__
    return False


_ADVICE_SENDER = (
    "use .clone() (or copy.copy) for another sender of the same channel; a channel "
    "connects threads of one process, so it cannot be deep-copied or pickled "
    "(between processes, use multiprocessing's queues)"
)
_ADVICE_RECEIVER = (
    "a channel has a single receiver: hand this one to the thread that receives; "
    "it cannot be copied or pickled (between processes, use multiprocessing's queues)"
)
_MSG_BOUND = "bound must be a non-negative int (0 makes a rendezvous channel), got {!r}"


class _Disconnected:
    """The value of ``chan.waiter`` once the receiver is gone."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<receiver gone>"


_DISCONNECTED: Any = _Disconnected()


# -- the receiver's busy marker ---------------------------------------------------


class _Busy(dict[int, None]):
    """Who is receiving on a :class:`Receiver`: thread identities, first one wins.

    A receive that has to wait marks the receiver busy by adding its thread
    to the dict (``busy[me] = None``: one C operation, done inside the
    ``try`` whose ``finally`` takes it out again with ``busy.pop(me, None)``,
    another single C call). The first key is the receiving thread; a
    thread that finds another one first backs out and raises
    :class:`~fearless.mpsc.ConcurrentRecvError`. Unlike a lock, a marker
    left by an interrupted thread cannot exist -- there is no window
    between "acquired" and "will be released" -- and the owner is known,
    so a child made by ``os.fork()`` can drop the marker of a thread that
    was not copied into it.
    """

    __slots__ = ()


def _mark_busy(busy: _Busy, me: int) -> bool:
    """After ``busy[me] = None``: whether ``me`` is the receiving thread now.

    Drops the markers of threads lost by ``os.fork()`` on the way.
    """
    while True:
        try:
            owner = next(iter(busy))
        except (StopIteration, RuntimeError):  # changed while we looked: look again
            if me not in busy:
                return False
            continue
        if owner == me:
            return True
        if not _seam.thread_gone(owner):
            return False
        busy.pop(owner, None)


# -- waiters ------------------------------------------------------------------


class _Waiter:
    """A blocked thread: a held raw lock, and a claim that one waker may take."""

    __slots__ = ("claims", "lock")

    def __init__(self) -> None:
        self.lock = _seam.allocate_lock()
        self.lock.acquire()
        self.claims: list[None] = [None]

    def claim(self) -> bool:
        """Take the right to wake (or, by the waiter itself, to stop waiting)."""
        try:
            self.claims.pop()
        except IndexError:
            return False
        return True

    def wake(self) -> None:
        """Wake the waiter; only whoever claimed it may call this, once."""
        self.lock.release()


class _AsyncWaiter:
    """A parked coroutine: a claim, and a future resolved on its event loop."""

    __slots__ = ("claims", "future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = None
        self.claims: list[None] = [None]

    def claim(self) -> bool:
        try:
            self.claims.pop()
        except IndexError:
            return False
        return True

    def wake(self) -> None:
        # Not contextlib.suppress: a finaliser may call this at interpreter
        # shutdown, when module globals are gone.
        try:  # noqa: SIM105
            self.loop.call_soon_threadsafe(self._fire)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _fire(self) -> None:
        # Runs on the loop's thread, so it sees the future being awaited now.
        future = self.future
        if future is not None and not future.done():
            future.set_result(None)


_AnyWaiter = _Waiter | _AsyncWaiter


def _snooze(chan: _Chan, deadline: Deadline, snoozes: int) -> None:
    """Yield the processor up to ``snoozes`` times while ``chan`` stays empty.

    A loop of its own, called from inside the ``try`` of a receive: CPython
    3.12+ leaves the back edge of a ``while`` whose condition has several
    parts (or a loop whose body ends in ``if ...: raise``) out of the
    enclosing ``try``'s exception table, so an interrupt raised there would
    skip the ``finally``. Raised in here, it reaches the caller at the
    ``CALL``, which is covered. ``tests/test_mpsc_faults.py`` checks the
    functions of these modules for such gaps.
    """
    snooze = _seam.backend.snooze
    while snoozes and not chan.has_message() and not deadline.expired():
        snoozes -= 1
        snooze()


def _never_ready_in() -> float:
    return -1


def _park(
    waiter: _Waiter,
    ready: Callable[[], bool],
    deadline: Deadline,
    ready_in: Callable[[], float] = _never_ready_in,
) -> None:
    """Block until woken, ``ready()``, or the deadline; the waiter is published.

    On return the waiter is claimed (by a waker, or by this function, which
    retracts it), so nobody will touch it again.
    """
    lock = waiter.lock
    while True:
        if ready() or deadline.expired():
            waiter.claim()
            return
        wait = _seam.backend.slice
        remaining = deadline.remaining()
        if 0 <= remaining < wait:
            wait = remaining
        timer = ready_in()
        if 0 <= timer < wait:
            wait = timer
        if lock.acquire(True, wait):
            return


async def _park_async(
    waiter: _AsyncWaiter,
    ready: Callable[[], bool],
    ready_in: Callable[[], float] = _never_ready_in,
) -> None:
    """:func:`_park` for a coroutine. On return the waiter is claimed.

    If the task is cancelled, the waiter is claimed too and the
    cancellation propagates; the caller learns from ``claim()`` having
    failed whether a waker had chosen it (and must pass the wake on).
    """
    loop = waiter.loop
    while True:
        if ready():
            waiter.claim()
            return
        future = loop.create_future()
        waiter.future = future
        if not waiter.claims:  # claimed before the new future was in place
            return
        wait = _seam.backend.slice
        timer = ready_in()
        if 0 <= timer < wait:
            wait = timer
        handle = loop.call_later(wait, _resolve, future)
        try:
            await future
        finally:
            handle.cancel()
        if not waiter.claims:
            return


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake_receiver(chan: _Chan, _DISCONNECTED: Any = _DISCONNECTED) -> None:
    """Wake the receiver if it is parked on ``chan`` (after a state change)."""
    waiter = chan.waiter
    if waiter is not None and waiter is not _DISCONNECTED and waiter.claim():
        waiter.wake()


def _wake_one(waiters: deque[_AnyWaiter]) -> None:
    """Wake the first waiter in ``waiters`` that is still waiting."""
    while True:
        try:
            waiter = waiters.popleft()
        except IndexError:
            return
        if waiter.claim():
            waiter.wake()
            return


def _wake_all(waiters: deque[_AnyWaiter]) -> None:
    while True:
        try:
            waiter = waiters.popleft()
        except IndexError:
            return
        if waiter.claim():
            waiter.wake()


def _forget(waiters: deque[_AnyWaiter], waiter: _AnyWaiter) -> None:
    with suppress(ValueError):  # a waker already took it out
        waiters.remove(waiter)


# -- channel flavours ------------------------------------------------------------


class _Chan:
    """What every flavour offers its receiver (timers included)."""

    __slots__ = ("waiter",)

    #: The receiver's published waiter, or None, or _DISCONNECTED.
    waiter: Any

    def pop(self) -> Any:
        """The next message; ``IndexError`` when there is none right now."""
        raise NotImplementedError

    def has_message(self) -> bool:
        """Whether :meth:`pop` would succeed now (a snapshot)."""
        raise NotImplementedError

    def disconnected(self) -> bool:
        """Whether every sender is gone (timers never disconnect)."""
        return False

    def ready(self) -> bool:
        return self.has_message() or self.disconnected()

    def ready_in(self) -> float:
        """Seconds until a timer may deliver; -1 if time alone never makes it ready."""
        return -1

    def close_receiver(self, _DISCONNECTED: Any = _DISCONNECTED) -> None:
        self.waiter = _DISCONNECTED

    def describe(self) -> str:
        raise NotImplementedError


class _SenderSide(_Chan):
    """A channel with real senders: counted, under a reentrant lock."""

    __slots__ = ("lock", "senders")

    def __init__(self) -> None:
        self.waiter = None
        self.senders = 1
        self.lock = _seam.allocate_rlock()

    def add_sender(self, handle: Sender[Any] | SyncSender[Any], new: Any) -> None:
        """Count ``new`` (a handle not yet connected) as a clone of ``handle``.

        The count and ``new._chan`` change together in one critical section
        that makes no call, so no interrupt can separate them: whatever
        happens next, ``new`` is either connected and counted, or neither.
        """
        self.check_fork()
        with self.lock:
            live = handle._chan is self
            if live:
                self.senders += 1
                new._chan = self
        if not live:
            raise ConsumedError(_closed_sender_message(handle))

    def drop_sender(
        self, handle: Sender[Any] | SyncSender[Any], _wake_receiver: Any = _wake_receiver
    ) -> bool:
        """Disconnect ``handle``; False if it was not connected (closed already).

        Its finaliser calls this at interpreter shutdown, when module globals
        may be gone: what it needs is bound as a default argument.
        """
        self.check_fork()
        with self.lock:
            live = handle._chan is self
            if live:
                handle._chan = None
                self.senders -= 1
            last = live and not self.senders
        if last:
            _wake_receiver(self)
        return live

    def check_fork(self, _seam: Any = _seam) -> None:
        """Raise instead of waiting for a lock held by a thread lost by ``os.fork()``.

        Finalisers call it at shutdown too: the module is bound, and its
        ``forked_away`` reads None (false) once the interpreter clears it.
        """
        if _seam.forked_away and _seam.thread_gone(_seam.rlock_owner(self.lock)):
            raise DeadlockError(_MSG_FORKED)

    def disconnected(self) -> bool:
        return not self.senders

    def receiver_gone(self) -> bool:
        return self.waiter is _DISCONNECTED

    def counts(self) -> str:
        if self.waiter is _DISCONNECTED:
            return "receiver gone"
        senders = self.senders
        return f"{senders} sender{'' if senders == 1 else 's'}"


class _ListChan(_SenderSide):
    """Unbounded (Rust's ``channel()``)."""

    __slots__ = ("append", "buf", "pop")

    def __init__(self) -> None:
        super().__init__()
        self.buf: deque[Any] = deque()
        self.append = self.buf.append
        self.pop = self.buf.popleft  # type: ignore[method-assign]

    def has_message(self) -> bool:
        return bool(self.buf)

    def notify(self) -> None:
        """After an append: wake the receiver, or release the message if it is gone."""
        waiter = self.waiter
        if waiter is _DISCONNECTED:
            self.buf.clear()
        elif waiter is not None and waiter.claim():
            waiter.wake()

    def close_receiver(self, _DISCONNECTED: Any = _DISCONNECTED) -> None:
        waiter, self.waiter = self.waiter, _DISCONNECTED
        self.buf.clear()
        if waiter is not None and waiter is not _DISCONNECTED and waiter.claim():
            waiter.wake()

    def describe(self) -> str:
        return f"~{len(self.buf)} queued (snapshot), {self.counts()}"


class _ArrayChan(_SenderSide):
    """Bounded with room for ``cap >= 1`` messages (Rust's ``sync_channel(cap)``)."""

    __slots__ = ("append", "buf", "cap", "permits", "popleft", "send_waiters", "take_permit")

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.buf: deque[Any] = deque()
        self.append = self.buf.append
        self.popleft = self.buf.popleft
        self.permits: deque[None] = deque(itertools.repeat(None, cap))
        self.take_permit = self.permits.pop
        self.send_waiters: deque[_AnyWaiter] = deque()

    def pop(self) -> Any:
        try:
            value = self.popleft()
        except IndexError:
            raise
        except BaseException:
            # An interrupt arrived just as the message left: its room must
            # not be lost with it (the message itself is, like any value an
            # interrupt catches between two statements).
            self.permits.append(None)
            raise
        self.permits.append(None)
        if self.send_waiters:
            _wake_one(self.send_waiters)
        return value

    def has_message(self) -> bool:
        return bool(self.buf)

    def can_send(self) -> bool:
        return bool(self.permits) or self.waiter is _DISCONNECTED

    def notify(self) -> None:
        waiter = self.waiter
        if waiter is _DISCONNECTED:
            self.buf.clear()
        elif waiter is not None and waiter.claim():
            waiter.wake()

    def try_send(self, value: Any) -> bool:
        """Send without blocking; False when full. Raises SendError."""
        if self.waiter is _DISCONNECTED:
            raise SendError(_MSG_SEND_DISCONNECTED, value)
        try:
            self.permits.pop()
        except IndexError:
            return False
        except BaseException:
            self.permits.append(None)  # taken just before an interrupt: give it back
            raise
        try:
            self.append(value)
            if self.waiter is not None:
                self.notify()
        except BaseException as exc:
            exc.add_note(NOTE_SENT)
            raise
        return True

    def send(self, value: Any, timeout: float | None) -> None:
        # SyncSender.send has tried the fast path already.
        deadline = Deadline(check_timeout(timeout))
        snoozes = _seam.backend.snoozes
        while True:
            if self.try_send(value):
                return
            if deadline.expired():
                raise SendTimeoutError(_MSG_SEND_TIMEOUT.format(timeout), value)
            if snoozes:
                # Watch for room without touching the queue (the receiver
                # is using it); retry the send only when there is some.
                snooze = _seam.backend.snooze
                while snoozes and not self.can_send() and not deadline.expired():
                    snoozes -= 1
                    snooze()
                continue
            waiter = _Waiter()
            try:
                self.send_waiters.append(waiter)
                _park(waiter, self.can_send, deadline)
            except BaseException:
                try:
                    waiter.claims.pop()
                except IndexError:
                    # A receiver chose us to use the room it made: pass it on.
                    _wake_one(self.send_waiters)
                raise
            finally:
                _forget(self.send_waiters, waiter)

    async def send_async(self, value: Any) -> None:
        while True:
            if self.try_send(value):
                return
            waiter = _AsyncWaiter(asyncio.get_running_loop())
            try:
                self.send_waiters.append(waiter)
                await _park_async(waiter, self.can_send)
            except BaseException:
                if not waiter.claim():
                    # A receiver chose us to use the room it made: pass it on.
                    _wake_one(self.send_waiters)
                raise
            finally:
                _forget(self.send_waiters, waiter)

    def close_receiver(
        self, _DISCONNECTED: Any = _DISCONNECTED, _wake_all: Any = _wake_all
    ) -> None:
        waiter, self.waiter = self.waiter, _DISCONNECTED
        self.buf.clear()
        if waiter is not None and waiter is not _DISCONNECTED and waiter.claim():
            waiter.wake()
        _wake_all(self.send_waiters)

    def describe(self) -> str:
        return f"~{len(self.buf)}/{self.cap} queued (snapshot), {self.counts()}"


class _Offer:
    """A message offered on a rendezvous channel, until the receiver takes it."""

    __slots__ = ("owner", "value", "waiter")

    def __init__(self, value: Any, waiter: _AnyWaiter | None) -> None:
        # Whoever claims the offer first owns the value: the receiver
        # (taking it) or the sender (withdrawing it on timeout,
        # disconnection or an exception). ``owner.setdefault(0, me)`` is one
        # C operation that claims and tells who won, so a sender interrupted
        # anywhere can still learn whether its message was taken.
        self.owner: dict[int, object] = {}
        self.value = value
        self.waiter = waiter


#: Who claimed an offer (the values of ``_Offer.owner``).
_TAKEN: Any = "taken"
_WITHDRAWN: Any = "withdrawn"


def _settler(owner: dict[int, object], box: list[Any]) -> Callable[[], object]:
    """One C call, made ready in advance, that withdraws an offer and notes a delivery.

    Called in a send's ``except`` after ``box[0] = exc`` (a store, where
    no interrupt can arrive): it claims the offer for the sender
    (``owner.setdefault(0, _WITHDRAWN)``) and, if the receiver had claimed
    it first, adds :data:`NOTE_SENT` to ``exc`` -- inside the same C call,
    so a second interrupt cannot fall between learning of the delivery and
    saying so.
    """
    claimed_by = map(owner.setdefault, (0,), (_WITHDRAWN,))
    notes = compress(repeat(NOTE_SENT), map(_TAKEN.__eq__, claimed_by))
    return partial(deque, map(BaseException.add_note, box, notes), 0)


class _ZeroChan(_SenderSide):
    """Rendezvous (Rust's ``sync_channel(0)``): a send waits for the receiver to take it.

    A send that raises -- timeout, disconnection, or an exception such as
    ``KeyboardInterrupt`` arriving while it waits -- withdraws its offer in
    the same step that tells whether the receiver took it first; only then
    was the message delivered, and the exception carries :data:`NOTE_SENT`.
    """

    __slots__ = ("offers",)

    #: No permits, ever: SyncSender.send's fast path always falls through.
    take_permit = staticmethod(deque[None]().pop)
    append: Callable[[Any], None]
    notify: Callable[[], None]

    def __init__(self) -> None:
        super().__init__()
        self.offers: deque[_Offer] = deque()

    def pop(self) -> Any:
        # The offer is claimed while it is still queued, and only then
        # removed: an interrupt between the two leaves a taken offer in
        # front, which the next receive delivers (the interrupted one
        # returned nothing), so its sender never waits for an offer that
        # nobody holds any more.
        offers = self.offers
        while True:
            offer = offers[0]  # IndexError: nothing offered
            if offer.owner.setdefault(0, _TAKEN) is _TAKEN:
                break
            with contextlib.suppress(ValueError):  # withdrawn: its sender may remove it too
                offers.remove(offer)
        offers.remove(offer)  # nobody else removes a taken offer
        waiter = offer.waiter
        if waiter is not None and waiter.claim():
            waiter.wake()
        return offer.value

    def has_message(self) -> bool:
        return bool(self.offers)

    def withdraw(self, offer: _Offer) -> bool:
        """Take an offer back; False if the receiver took it first."""
        if offer.owner.setdefault(0, _WITHDRAWN) is _TAKEN:
            return False
        offer.value = None
        with contextlib.suppress(ValueError):
            self.offers.remove(offer)
        return True

    def try_send(self, value: Any) -> bool:
        waiter = self.waiter
        if waiter is _DISCONNECTED:
            raise SendError(_MSG_SEND_DISCONNECTED, value)
        if waiter is None:
            return False
        offer = _Offer(value, None)
        box: list[Any] = [None]
        settle = _settler(offer.owner, box)
        try:
            self.offers.append(offer)
            if waiter.claim():
                # The receiver is parked and we are the one waking it: it takes
                # the next offer when it wakes.
                waiter.wake()
                return True
            taken = offer.owner.setdefault(0, _WITHDRAWN) is _TAKEN
        except BaseException as exc:
            box[0] = exc
            settle()  # withdraw, or note that it was delivered: one C call
            raise
        if not taken:
            self.withdraw(offer)
        return taken

    def send(self, value: Any, timeout: float | None) -> None:
        deadline = Deadline(check_timeout(timeout))
        offer = _Offer(value, _Waiter())
        owner = offer.owner
        box: list[Any] = [None]
        settle = _settler(owner, box)
        try:
            if self.waiter is _DISCONNECTED:
                raise SendError(_MSG_SEND_DISCONNECTED, value)
            self.offers.append(offer)
            _wake_receiver(self)

            def done() -> bool:
                return 0 in owner or self.waiter is _DISCONNECTED

            while True:
                # One lookup, not "if owner: owner[0]": on the free-threaded
                # build another thread's first insertion can show in len()
                # before the key can be found.
                state = owner.get(0)
                if state is not None:
                    if state is _TAKEN:
                        return
                    break  # withdrawn (by close_receiver): the receiver is gone
                gone = self.waiter is _DISCONNECTED
                if gone or deadline.expired():
                    if owner.setdefault(0, _WITHDRAWN) is _TAKEN:
                        return  # taken at the last moment
                    if gone:
                        raise SendError(_MSG_SEND_DISCONNECTED, value)
                    raise SendTimeoutError(_MSG_SEND_TIMEOUT_RENDEZVOUS.format(timeout), value)
                waiter = offer.waiter
                assert isinstance(waiter, _Waiter)
                if not waiter.claims:
                    waiter = offer.waiter = _Waiter()
                _park(waiter, done, deadline)
            raise SendError(_MSG_SEND_DISCONNECTED, value)
        except BaseException as exc:
            # Withdraw the offer and learn, in the same step, whether the
            # receiver took it first: then the message was delivered.
            box[0] = exc
            settle()
            if owner.get(0) is _WITHDRAWN:
                offer.value = None
                with contextlib.suppress(ValueError):
                    self.offers.remove(offer)
            raise

    async def send_async(self, value: Any) -> None:
        loop = asyncio.get_running_loop()
        offer = _Offer(value, _AsyncWaiter(loop))
        owner = offer.owner

        def done() -> bool:
            return 0 in owner or self.waiter is _DISCONNECTED

        try:
            if self.waiter is _DISCONNECTED:
                raise SendError(_MSG_SEND_DISCONNECTED, value)
            self.offers.append(offer)
            _wake_receiver(self)
            while True:
                state = owner.get(0)  # one lookup: see _ZeroChan.send
                if state is not None:
                    if state is _TAKEN:
                        return
                    raise SendError(_MSG_SEND_DISCONNECTED, value)
                if self.waiter is _DISCONNECTED:
                    if owner.setdefault(0, _WITHDRAWN) is _TAKEN:
                        return
                    raise SendError(_MSG_SEND_DISCONNECTED, value)
                waiter = offer.waiter
                assert isinstance(waiter, _AsyncWaiter)
                if not waiter.claims:
                    waiter = offer.waiter = _AsyncWaiter(loop)
                await _park_async(waiter, done)
        except BaseException as exc:
            # Cancelled (or another exception): withdraw the offer. If the
            # receiver took it first, the message was delivered (exactly once)
            # all the same, and the exception says so.
            if owner.setdefault(0, _WITHDRAWN) is _TAKEN:
                exc.add_note(NOTE_SENT)
            else:
                offer.value = None
                with contextlib.suppress(ValueError):
                    self.offers.remove(offer)
            raise

    def close_receiver(
        self,
        _DISCONNECTED: Any = _DISCONNECTED,
        _WITHDRAWN: Any = _WITHDRAWN,
    ) -> None:
        waiter, self.waiter = self.waiter, _DISCONNECTED
        if waiter is not None and waiter is not _DISCONNECTED and waiter.claim():
            waiter.wake()
        while True:
            try:
                offer = self.offers.popleft()
            except IndexError:
                return
            if offer.waiter is None:
                # Sent by try_send: release it now.
                if offer.owner.setdefault(0, _WITHDRAWN) is _WITHDRAWN:
                    offer.value = None
            elif offer.waiter.claim():
                offer.waiter.wake()  # its sender withdraws it and gets SendError

    def describe(self) -> str:
        return f"rendezvous, ~{len(self.offers)} offered (snapshot), {self.counts()}"


# -- handles --------------------------------------------------------------------


def _closed_sender_message(handle: object) -> str:
    return _MSG_SYNC_SENDER_CLOSED if isinstance(handle, SyncSender) else _MSG_SENDER_CLOSED


def _closed_pop() -> NoReturn:
    raise ConsumedError(_MSG_RECEIVER_CLOSED)


@final
class Sender(NotCopyable, Generic[T_contra], metaclass=NoPublicConstructor):
    """The sending half of an unbounded channel (Rust's ``mpsc::Sender<T>``).

    Made by :data:`channel`. :meth:`send` never blocks. Senders are
    cloneable (:meth:`clone`), and every clone counts: the channel is
    disconnected for the receiver when the last one is gone.

    Disconnection:
        A sender is gone after :meth:`close`, at the end of its ``with``
        block, or when it is garbage-collected. When the last sender goes,
        a receiver blocked in ``recv``/``select``/``recv_async`` wakes at
        once; it still receives every message already queued, then gets
        :class:`~fearless.mpsc.RecvError`. Once the *receiver* is gone,
        :meth:`send` raises :class:`~fearless.mpsc.SendError` holding the
        message.

    Example:
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[str]()
        >>> with tx:
        ...     tx.send("hi")
        >>> rx.recv()
        'hi'
        >>> list(rx)            # the only sender is gone: iteration ends
        []
    """

    __slots__ = ("__weakref__", "_chan")

    _copy_advice = _ADVICE_SENDER

    def __init__(self, chan: _ListChan | None) -> None:
        # None: closed (or a clone not connected yet, see _SenderSide.add_sender).
        self._chan: _ListChan | None = chan

    def send(self, value: T_contra) -> None:
        """Queue ``value`` for the receiver; never blocks.

        Messages from one sender arrive in the order sent.

        Raises:
            SendError: The receiver is gone; ``.value`` is the message.
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import SendError, channel
            >>> tx, rx = channel[int]()
            >>> tx.send(1)
            >>> rx.close()
            >>> try:
            ...     tx.send(2)
            ... except SendError as e:
            ...     print(e.value, "-", e)
            2 - the receiver is gone, so the message can never be delivered;
            it is returned in .value
        """
        chan = self._chan
        try:
            waiter = chan.waiter  # type: ignore[union-attr]
        except AttributeError:  # chan is None
            raise ConsumedError(_MSG_SENDER_CLOSED) from None
        if waiter is _DISCONNECTED:
            raise SendError(_MSG_SEND_DISCONNECTED, value)
        try:
            chan.append(value)  # type: ignore[union-attr]
            if chan.waiter is not None:  # type: ignore[union-attr]
                chan.notify()  # type: ignore[union-attr]
        except BaseException as exc:  # an interrupt after the append: say it was sent
            exc.add_note(NOTE_SENT)
            raise

    def clone(self) -> Sender[T_contra]:
        """Another sender for the same channel; the channel stays connected while any lives.

        Raises:
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> tx2 = tx.clone()
            >>> tx.close()
            >>> tx2.send(7)
            >>> rx.recv()
            7
        """
        chan = self._chan
        if chan is None:
            raise ConsumedError(_MSG_SENDER_CLOSED)
        new: Sender[T_contra] = Sender._create(None)
        chan.add_sender(self, new)
        return new

    def close(self) -> None:
        """Drop this sender (Rust's ``drop(tx)``); the last one disconnects the channel.

        Raises:
            ConsumedError: This sender was already closed.

        Example:
            >>> from fearless.mpsc import RecvError, channel
            >>> tx, rx = channel[int]()
            >>> tx.close()
            >>> try:
            ...     rx.recv()
            ... except RecvError as e:
            ...     print(e)
            every sender is gone and the channel is empty; no message will ever arrive
        """
        if not self._drop():
            raise ConsumedError(_MSG_SENDER_CLOSED)

    def _drop(self) -> bool:
        chan = self._chan
        return chan is not None and chan.drop_sender(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the sender at the end of the ``with`` block, unless it was closed inside."""
        self._drop()

    def __del__(self, _getattr: Any = getattr) -> None:
        # Runs at interpreter shutdown too, when module globals may be None:
        # it uses only its arguments and attributes.
        chan = _getattr(self, "_chan", None)  # None also when never initialised
        if chan is not None:
            chan.drop_sender(self)

    def __copy__(self) -> Sender[T_contra]:  # type: ignore[override]
        """``copy.copy(tx)`` is :meth:`clone`: a counted sender.

        ``copy.deepcopy`` and pickling raise :class:`TypeError`: a channel
        connects threads of this process, it cannot be duplicated.
        """
        return self.clone()

    def __repr__(self) -> str:
        chan = self._chan
        if chan is None:
            return "<Sender: closed>"
        return f"<Sender: {chan.describe()}>"


@final
class SyncSender(NotCopyable, Generic[T_contra], metaclass=NoPublicConstructor):
    """The sending half of a bounded channel (Rust's ``mpsc::SyncSender<T>``).

    Made by :data:`sync_channel`. :meth:`send` blocks while the channel
    holds ``bound`` messages; with ``bound=0`` (a *rendezvous*) every send
    waits until the receiver takes the message. Cloning and
    disconnection work as for :class:`Sender`.

    Example:
        >>> from fearless.mpsc import Full, sync_channel
        >>> tx, rx = sync_channel[int](1)
        >>> tx.send(1)
        >>> try:
        ...     tx.try_send(2)
        ... except Full as e:
        ...     print(e)
        the channel is full (capacity 1); call send() to wait for room, or try again later
        >>> rx.recv()
        1
    """

    __slots__ = ("__weakref__", "_chan")

    _copy_advice = _ADVICE_SENDER

    def __init__(self, chan: _ArrayChan | _ZeroChan | None) -> None:
        self._chan: _ArrayChan | _ZeroChan | None = chan

    def _live(self) -> _ArrayChan | _ZeroChan:
        chan = self._chan
        if chan is None:
            raise ConsumedError(_MSG_SYNC_SENDER_CLOSED)
        return chan

    def send(self, value: T_contra, *, timeout: float | None = None) -> None:
        """Send ``value``, waiting while the channel is full.

        On a rendezvous channel (``bound=0``), waits until the receiver has
        taken the message.

        Args:
            value: The message.
            timeout: Seconds to wait at most; ``None`` waits as long as it
                takes. Larger than ``threading.TIMEOUT_MAX`` waits as long
                as the platform allows.

        Raises:
            SendError: The receiver is (or went) gone; ``.value`` is the message.
            SendTimeoutError: No room (or no receiver) within ``timeout``;
                ``.value`` is the message, which was not sent.
            ConsumedError: This sender was closed.
            ValueError: ``timeout`` is negative or NaN.

        Example:
            >>> from fearless.mpsc import SendTimeoutError, sync_channel
            >>> tx, rx = sync_channel[str](1)
            >>> tx.send("first")
            >>> try:
            ...     tx.send("second", timeout=0.01)
            ... except SendTimeoutError as e:
            ...     print(e.value, "-", e)
            second - the channel stayed full for 0.01 seconds; the message is returned in .value
        """
        chan = self._chan
        try:
            waiter = chan.waiter  # type: ignore[union-attr]
        except AttributeError:  # chan is None
            raise ConsumedError(_MSG_SYNC_SENDER_CLOSED) from None
        if timeout is None and waiter is None:  # the fast path: take a permit
            try:
                chan.take_permit()  # type: ignore[union-attr]
            except IndexError:
                pass
            except BaseException:  # an interrupt right after: give the permit back
                chan.permits.append(None)  # type: ignore[union-attr]
                raise
            else:
                try:
                    chan.append(value)  # type: ignore[union-attr]
                    if chan.waiter is not None:  # type: ignore[union-attr]
                        chan.notify()  # type: ignore[union-attr]
                except BaseException as exc:  # an interrupt after the append
                    exc.add_note(NOTE_SENT)
                    raise
                return
        chan.send(value, timeout)  # type: ignore[union-attr]

    def try_send(self, value: T_contra) -> None:
        """Send ``value`` only if that needs no waiting.

        On a rendezvous channel this succeeds only while the receiver is
        blocked waiting for a message (in ``recv``, ``select`` or
        ``recv_async``); the message is then the next one it gets.

        Raises:
            Full: No room right now (a :class:`queue.Full`); ``.value`` is the message.
            SendError: The receiver is gone; ``.value`` is the message.
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import Full, sync_channel
            >>> tx, rx = sync_channel[int](0)
            >>> try:
            ...     tx.try_send(1)
            ... except Full as e:
            ...     print(e.value, "-", e)
            1 - no receiver is waiting on this rendezvous channel (capacity 0);
            call send() to wait for one
        """
        chan = self._live()
        if not chan.try_send(value):
            if isinstance(chan, _ZeroChan):
                raise Full(_MSG_FULL_RENDEZVOUS, value)
            raise Full(_MSG_FULL.format(chan.cap), value)

    async def send_async(self, value: T_contra) -> None:
        """Send ``value`` from a coroutine, awaiting room instead of blocking the thread.

        Works while other threads use the blocking API on the same channel.
        For a timeout, wrap it in :func:`asyncio.timeout`.

        Cancellation:
            If the task is cancelled while waiting for room, the message was
            not sent. On a rendezvous channel the receiver may have taken
            the message just before the cancellation arrived: it is then
            delivered (once) and the cancellation still propagates.

        Raises:
            SendError: The receiver is gone; ``.value`` is the message.
            ConsumedError: This sender was closed.

        Example:
            >>> import asyncio
            >>> from fearless.mpsc import sync_channel
            >>> tx, rx = sync_channel[int](1)
            >>> async def main() -> int:
            ...     await tx.send_async(5)
            ...     return await rx.recv_async()
            >>> asyncio.run(main())
            5
        """
        await self._live().send_async(value)

    def clone(self) -> SyncSender[T_contra]:
        """Another sender for the same channel.

        Raises:
            ConsumedError: This sender was closed.

        Example:
            >>> from fearless.mpsc import sync_channel
            >>> tx, rx = sync_channel[int](2)
            >>> tx.clone().send(1)       # the clone is garbage-collected at once
            >>> rx.recv(), rx
            (1, <Receiver: ~0/2 queued (snapshot), 1 sender>)
        """
        chan = self._live()
        new: SyncSender[T_contra] = SyncSender._create(None)
        chan.add_sender(self, new)
        return new

    def close(self) -> None:
        """Drop this sender; the last one disconnects the channel.

        Raises:
            ConsumedError: This sender was already closed.

        Example:
            >>> from fearless.mpsc import sync_channel
            >>> tx, rx = sync_channel[int](1)
            >>> tx.send(1)
            >>> tx.close()
            >>> list(rx)
            [1]
        """
        if not self._drop():
            raise ConsumedError(_MSG_SYNC_SENDER_CLOSED)

    def _drop(self) -> bool:
        chan = self._chan
        return chan is not None and chan.drop_sender(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the sender at the end of the ``with`` block, unless it was closed inside."""
        self._drop()

    def __del__(self, _getattr: Any = getattr) -> None:
        chan = _getattr(self, "_chan", None)  # see Sender.__del__
        if chan is not None:
            chan.drop_sender(self)

    def __copy__(self) -> SyncSender[T_contra]:  # type: ignore[override]
        """``copy.copy(tx)`` is :meth:`clone`; deep copies and pickles are refused."""
        return self.clone()

    def __repr__(self) -> str:
        chan = self._chan
        if chan is None:
            return "<SyncSender: closed>"
        return f"<SyncSender: {chan.describe()}>"


@final
class Receiver(NotCopyable, Generic[T_co], metaclass=NoPublicConstructor):
    """The receiving half of a channel (Rust's ``mpsc::Receiver<T>``).

    Made by :data:`channel`, :data:`sync_channel`, :func:`after`,
    :func:`tick` and :func:`never`. There is one receiver per channel and
    it cannot be cloned.

    Receiving:
        :meth:`recv` blocks for the next message; :meth:`try_recv` does
        not block. Iterating (``for msg in rx``) receives until every
        sender is gone and the queue is drained; :meth:`try_iter` takes
        only what is there now. ``await rx.recv_async()`` and
        ``async for msg in rx`` do the same in a coroutine.

    Disconnection:
        Messages already queued are still received after every sender is
        gone; then ``recv`` raises :class:`~fearless.mpsc.RecvError`.
        The receiver itself is gone after :meth:`close`, at the end of its
        ``with`` block, or when garbage-collected: from then on senders
        get :class:`~fearless.mpsc.SendError`, blocked senders wake, and
        the messages still queued are released at once.

    Single consumer:
        Two threads (or tasks) receiving at the same time raise
        :class:`~fearless.mpsc.ConcurrentRecvError` (Rust rejects sharing a
        ``Receiver`` at compile time). It is detected whenever a receive
        has to wait or a timeout is given; moving a receiver to another
        thread is fine.

    Example:
        >>> from fearless import spawn
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[int]()
        >>> def produce(tx):
        ...     with tx:
        ...         for i in range(3):
        ...             tx.send(i * i)
        >>> handle = spawn(produce, tx)
        >>> del tx                    # the thread owns the only sender now
        >>> [msg for msg in rx]       # ends when the thread's sender is gone
        [0, 1, 4]
        >>> handle.join()
    """

    __slots__ = ("__weakref__", "_busy", "_chan", "_pop")

    _copy_advice = _ADVICE_RECEIVER

    def __init__(self, chan: _Chan) -> None:
        self._chan: _Chan | None = chan
        self._pop: Callable[[], Any] = chan.pop
        self._busy = _Busy()

    def _live(self) -> _Chan:
        chan = self._chan
        if chan is None:
            raise ConsumedError(_MSG_RECEIVER_CLOSED)
        return chan

    def recv(self, *, timeout: float | None = None) -> T_co:
        """Wait for the next message and return it.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it
                takes. Larger than ``threading.TIMEOUT_MAX`` waits as long
                as the platform allows.

        Raises:
            RecvError: Every sender is gone and nothing is queued.
            RecvTimeoutError: No message within ``timeout`` (a :class:`TimeoutError`).
            ConcurrentRecvError: Another thread is receiving at the same time.
            ConsumedError: This receiver was closed.
            ValueError: ``timeout`` is negative or NaN.

        Example:
            >>> from fearless.mpsc import RecvTimeoutError, channel
            >>> tx, rx = channel[int]()
            >>> tx.send(1)
            >>> rx.recv(timeout=1.0)
            1
            >>> try:
            ...     rx.recv(timeout=0.01)
            ... except RecvTimeoutError as e:
            ...     print(e)
            no message arrived within 0.01 seconds
        """
        if timeout is None:
            try:
                value: T_co = self._pop()
            except IndexError:
                pass
            else:
                return value
        return self._recv_slow(timeout)  # type: ignore[no-any-return]

    def _recv_slow(self, timeout: float | None) -> Any:
        deadline = Deadline(check_timeout(timeout))
        busy = self._busy
        me = get_ident()
        if me in busy:  # a receive on this thread already (from a finaliser)
            self._live()
            raise ConcurrentRecvError(_MSG_CONCURRENT)
        try:
            busy[me] = None  # inside the try: no interrupt can separate it from the finally
            if not _mark_busy(busy, me):
                self._live()
                raise ConcurrentRecvError(_MSG_CONCURRENT)
            snoozes = _seam.backend.snoozes
            while True:
                chan = self._live()
                try:
                    return chan.pop()
                except IndexError:
                    pass
                if chan.disconnected():
                    try:
                        return chan.pop()
                    except IndexError:
                        raise RecvError(_MSG_RECV_DISCONNECTED) from None
                if deadline.expired():
                    raise RecvTimeoutError(_MSG_RECV_TIMEOUT.format(timeout))
                if snoozes:
                    # In a function of its own: the loop's back edge is not in
                    # this frame's exception table on 3.12+ (see _snooze).
                    _snooze(chan, deadline, snoozes)
                    snoozes = 0
                    continue
                waiter = _Waiter()
                try:
                    chan.waiter = waiter
                    _park(waiter, chan.ready, deadline, chan.ready_in)
                finally:
                    if chan.waiter is waiter:
                        chan.waiter = None
        finally:
            busy.pop(me, None)

    def try_recv(self) -> T_co:
        """Return the next message if one is queued now, without blocking.

        Raises:
            Empty: Nothing is queued (a :class:`queue.Empty`).
            RecvError: Nothing is queued and every sender is gone.
            ConsumedError: This receiver was closed.

        Example:
            >>> from fearless.mpsc import Empty, channel
            >>> tx, rx = channel[int]()
            >>> try:
            ...     rx.try_recv()
            ... except Empty as e:
            ...     print(e)
            the channel is empty; call recv() to wait for a message
        """
        try:
            value: T_co = self._pop()
        except IndexError:
            pass
        else:
            return value
        chan = self._live()
        if chan.disconnected():
            try:
                value = chan.pop()
            except IndexError:
                raise RecvError(_MSG_RECV_DISCONNECTED) from None
            return value
        raise Empty(_MSG_EMPTY)

    def try_iter(self) -> Iterator[T_co]:
        """Iterate over the messages queued now, without blocking (Rust's ``try_iter``).

        Stops at the first :meth:`try_recv` that would raise.

        Raises:
            ConsumedError: This receiver was closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> for i in range(3):
            ...     tx.send(i)
            >>> list(rx.try_iter()), list(rx.try_iter())
            ([0, 1, 2], [])
        """
        pop = self._live().pop

        def drain() -> Iterator[T_co]:
            while True:
                try:
                    value: T_co = pop()
                except IndexError:
                    return
                yield value

        return drain()

    def __iter__(self) -> Iterator[T_co]:
        """Receive with :meth:`recv` until every sender is gone and the queue is drained.

        Raises:
            ConsumedError: The receiver is (or gets) closed.
            ConcurrentRecvError: Another thread receives at the same time.
        """
        chan = self._live()
        if type(chan) is _ArrayChan:
            yield from self._iter_array(chan)
            return
        pop = chan.pop
        while True:
            try:
                value: T_co = pop()
            except IndexError:
                try:
                    value = self._recv_slow(None)
                except RecvError:
                    return
            yield value

    def _iter_array(self, chan: _ArrayChan) -> Iterator[T_co]:
        # _ArrayChan.pop inlined: the loop of a bounded channel's consumer.
        popleft = chan.popleft
        give_permit = chan.permits.append
        send_waiters = chan.send_waiters
        while True:
            try:
                value: T_co = popleft()
            except IndexError:
                try:
                    value = self._recv_slow(None)
                except RecvError:
                    return
            except BaseException:
                give_permit(None)  # an interrupt as the message left: keep its room
                raise
            else:
                give_permit(None)
                if send_waiters:
                    _wake_one(send_waiters)
            yield value

    async def recv_async(self) -> T_co:
        """Wait for the next message in a coroutine, without blocking the event loop.

        Works while other threads send (or even receive... one at a time)
        with the blocking API on the same channel; no event loop is needed
        to create the channel. For a timeout, wrap it in
        :func:`asyncio.timeout`.

        Cancellation:
            Cancelling the task loses no message: whatever was not returned
            stays queued for the next receive.

        Raises:
            RecvError: Every sender is gone and nothing is queued.
            ConcurrentRecvError: Another thread or task is receiving at the same time.
            ConsumedError: This receiver was closed.

        Example:
            >>> import asyncio
            >>> from fearless import spawn
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[str]()
            >>> async def main() -> list[str]:
            ...     handle = spawn(lambda: [tx.send(w) for w in ("a", "b")] and tx.close())
            ...     got = [await rx.recv_async()]
            ...     got += [msg async for msg in rx]
            ...     handle.join()
            ...     return got
            >>> asyncio.run(main())
            ['a', 'b']
        """
        try:
            value: T_co = self._pop()
        except IndexError:
            pass
        else:
            return value
        return await self._recv_async_slow()  # type: ignore[no-any-return]

    async def _recv_async_slow(self) -> Any:
        busy = self._busy
        me = get_ident()
        if me in busy:  # another task of this thread's loop is receiving
            self._live()
            raise ConcurrentRecvError(_MSG_CONCURRENT)
        try:
            busy[me] = None
            if not _mark_busy(busy, me):
                self._live()
                raise ConcurrentRecvError(_MSG_CONCURRENT)
            loop = asyncio.get_running_loop()
            while True:
                chan = self._live()
                try:
                    return chan.pop()
                except IndexError:
                    pass
                if chan.disconnected():
                    try:
                        return chan.pop()
                    except IndexError:
                        raise RecvError(_MSG_RECV_DISCONNECTED) from None
                waiter = _AsyncWaiter(loop)
                try:
                    chan.waiter = waiter
                    await _park_async(waiter, chan.ready, chan.ready_in)
                finally:
                    waiter.claims.clear()
                    if chan.waiter is waiter:
                        chan.waiter = None
        finally:
            busy.pop(me, None)

    def __aiter__(self) -> Self:
        """``async for msg in rx`` receives with :meth:`recv_async` until disconnection."""
        return self

    async def __anext__(self) -> T_co:
        try:
            value: T_co = await self.recv_async()
        except RecvError:
            raise StopAsyncIteration from None
        return value

    def close(self) -> None:
        """Drop the receiver (Rust's ``drop(rx)``): senders fail from now on.

        The messages still queued are released at once, blocked senders
        wake with :class:`~fearless.mpsc.SendError`, and later sends raise it.

        Raises:
            ConsumedError: The receiver was already closed.

        Example:
            >>> from fearless.mpsc import channel
            >>> tx, rx = channel[int]()
            >>> tx.send(1)
            >>> rx.close()
            >>> tx
            <Sender: ~0 queued (snapshot), receiver gone>
        """
        if not self._drop():
            raise ConsumedError(_MSG_RECEIVER_CLOSED)

    def _drop(self, _closed_pop: Any = _closed_pop) -> bool:
        # Closing twice is harmless (close_receiver is idempotent), so the
        # receiver counts as closed only once it is: an interrupt in the
        # middle leaves it open, and closing again finishes the job.
        chan = self._chan
        if chan is None:
            return False
        chan.close_receiver()
        self._pop = _closed_pop
        self._chan = None
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the receiver at the end of the ``with`` block, unless it was closed inside."""
        self._drop()

    def __del__(self, _getattr: Any = getattr) -> None:
        # Runs at interpreter shutdown too: only arguments and attributes.
        if _getattr(self, "_chan", None) is not None:
            self._drop()

    def __repr__(self) -> str:
        chan = self._chan
        if chan is None:
            return "<Receiver: closed>"
        return f"<Receiver: {chan.describe()}>"


# -- constructors ----------------------------------------------------------------


class _ChannelTypedByItem(Generic[T]):
    """What ``channel[T]`` returns: ``channel`` itself, typed for ``T``."""

    def __call__(self) -> tuple[Sender[T], Receiver[T]]:
        raise NotImplementedError  # pragma: no cover - typing only


class _SyncChannelTypedByItem(Generic[T]):
    """What ``sync_channel[T]`` returns: ``sync_channel`` itself, typed for ``T``."""

    def __call__(self, bound: int) -> tuple[SyncSender[T], Receiver[T]]:
        raise NotImplementedError  # pragma: no cover - typing only


@final
class _Channel:
    """Create an unbounded channel: ``channel[T]()`` → ``(Sender[T], Receiver[T])``.

    Rust's ``mpsc::channel::<T>()``. Sending never blocks; messages queue
    until received. Write the message type in brackets, or let an
    annotation say it::

        tx, rx = channel[int]()
        tx: Sender[int]
        tx, rx = channel()

    Example:
        >>> from fearless.mpsc import channel
        >>> tx, rx = channel[str]()
        >>> tx.send("hello")
        >>> rx.recv()
        'hello'
        >>> tx, rx
        (<Sender: ~0 queued (snapshot), 1 sender>, <Receiver: ~0 queued (snapshot), 1 sender>)
    """

    @overload
    def __getitem__(self, item: type[U]) -> _ChannelTypedByItem[U]: ...
    @overload
    def __getitem__(self, item: object) -> _ChannelTypedByItem[Any]: ...
    def __getitem__(self, item: object) -> _ChannelTypedByItem[Any]:
        return self  # type: ignore[return-value]

    def __call__(self) -> tuple[Sender[T], Receiver[T]]:
        chan = _ListChan()
        return Sender._create(chan), Receiver._create(chan)

    def __repr__(self) -> str:
        return "<function fearless.mpsc.channel>"


@final
class _SyncChannel:
    """Create a bounded channel: ``sync_channel[T](bound)`` → ``(SyncSender[T], Receiver[T])``.

    Rust's ``mpsc::sync_channel::<T>(bound)``. The channel holds at most
    ``bound`` messages; :meth:`SyncSender.send` waits for room. With
    ``bound=0`` it is a *rendezvous*: each send completes only when the
    receiver takes the message. Room for ``bound`` messages is allocated
    up front, as in Rust.

    Raises:
        ValueError: ``bound`` is negative.
        TypeError: ``bound`` is not an int.

    Example:
        >>> from fearless import spawn
        >>> from fearless.mpsc import sync_channel
        >>> tx, rx = sync_channel[str](0)
        >>> handle = spawn(tx.send, "handed over")    # waits for the receiver
        >>> rx.recv()
        'handed over'
        >>> handle.join()
    """

    @overload
    def __getitem__(self, item: type[U]) -> _SyncChannelTypedByItem[U]: ...
    @overload
    def __getitem__(self, item: object) -> _SyncChannelTypedByItem[Any]: ...
    def __getitem__(self, item: object) -> _SyncChannelTypedByItem[Any]:
        return self  # type: ignore[return-value]

    def __call__(self, bound: int) -> tuple[SyncSender[T], Receiver[T]]:
        if isinstance(bound, bool) or not isinstance(bound, int):
            raise TypeError(_MSG_BOUND.format(bound))
        if bound < 0:
            raise ValueError(_MSG_BOUND.format(bound))
        chan: _ArrayChan | _ZeroChan = _ArrayChan(bound) if bound else _ZeroChan()
        return SyncSender._create(chan), Receiver._create(chan)

    def __repr__(self) -> str:
        return "<function fearless.mpsc.sync_channel>"


channel = _Channel()
sync_channel = _SyncChannel()
