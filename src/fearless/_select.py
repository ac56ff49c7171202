"""``select`` and the timer channels ``after``, ``tick`` and ``never`` (crossbeam's).

A timer is a receiver whose channel is made of time instead of senders: it
has a message when its due time has passed, and it never disconnects. A
blocked ``recv`` or ``select`` on a timer sleeps no longer than the time
until it is due (see ``_Chan.ready_in``), so timers need no thread.
"""

from __future__ import annotations

from _thread import get_ident
from collections import deque
from collections.abc import Callable
from functools import partial
from itertools import repeat
from typing import Any, Generic, NamedTuple, Never, NoReturn, TypeVar, overload

from . import _seam
from ._deadline import Deadline, check_timeout
from ._errors import ConcurrentRecvError, RecvError, RecvTimeoutError
from ._mpsc import _MSG_CONCURRENT, Receiver, _Busy, _Chan, _mark_busy, _park, _Waiter

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")

_MSG_SELECT_DISCONNECTED = (
    "every channel passed to select() has lost all its senders and is empty; "
    "no message will ever arrive"
)
_MSG_SELECT_TIMEOUT = "select() received nothing within {} seconds from its {} channel{}"
_MSG_PERIOD = "a timer needs a non-negative, finite number of seconds, got {!r}"
_MSG_SELECT_NOTHING = "select() needs at least one Receiver"
_MSG_SELECT_TYPE = "select() takes Receivers, got {}"


# -- timer channels --------------------------------------------------------------------


class _AfterChan(_Chan):
    """Delivers one message, the time it was due, after a delay (crossbeam's ``after``)."""

    __slots__ = ("at", "box", "seconds")

    def __init__(self, seconds: float) -> None:
        self.waiter = None
        self.seconds = seconds
        self.at = _seam.monotonic() + seconds
        self.box = [self.at]

    def pop(self) -> float:
        if self.box and _seam.monotonic() >= self.at:
            value: float = self.box.pop()
            return value
        raise IndexError

    def has_message(self) -> bool:
        return bool(self.box) and _seam.monotonic() >= self.at

    def ready_in(self) -> float:
        if not self.box:
            return -1
        return max(0.0, self.at - _seam.monotonic())

    def describe(self) -> str:
        state = "delivered" if not self.box else f"due in ~{self.ready_in():.3g}s (snapshot)"
        return f"after({self.seconds!r}) timer, {state}"


class _TickChan(_Chan):
    """Delivers the due time every ``period`` seconds (crossbeam's ``tick``)."""

    __slots__ = ("due", "lock", "period")

    def __init__(self, period: float) -> None:
        self.waiter = None
        self.period = period
        self.due = _seam.monotonic() + period
        self.lock = _seam.allocate_rlock()  # has __enter__/__exit__ on every backend

    def pop(self) -> float:
        now = _seam.monotonic()
        # ``with``: no interrupt between taking the lock and the block; the
        # block makes no call and allocates no container (no finaliser runs).
        with self.lock:
            due = self.due
            ready = now >= due
            if ready:
                # As crossbeam: the next tick is one period after this delivery.
                self.due = now + self.period
        if not ready:
            raise IndexError
        return due

    def has_message(self) -> bool:
        return _seam.monotonic() >= self.due

    def ready_in(self) -> float:
        return max(0.0, self.due - _seam.monotonic())

    def describe(self) -> str:
        return f"tick({self.period!r}) timer, next due in ~{self.ready_in():.3g}s (snapshot)"


class _NeverChan(_Chan):
    """Never delivers, never disconnects (crossbeam's ``never``)."""

    __slots__ = ()

    def __init__(self) -> None:
        self.waiter = None

    def pop(self) -> NoReturn:
        raise IndexError

    def has_message(self) -> bool:
        return False

    def describe(self) -> str:
        return "never delivers"


# -- constructors ----------------------------------------------------------------------


def _check_seconds(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(_MSG_PERIOD.format(seconds))
    if not 0 <= seconds < float("inf"):
        raise ValueError(_MSG_PERIOD.format(seconds))
    return float(seconds)


def after(seconds: float) -> Receiver[float]:
    """A receiver that gets one message after ``seconds`` (crossbeam's ``after``).

    The message is the time it was due, on the :func:`time.monotonic`
    clock. After it, the receiver never gets another message and never
    disconnects. Use it in :func:`select` for a deadline.

    Raises:
        ValueError: ``seconds`` is negative, infinite or NaN.

    Example:
        >>> import time
        >>> from fearless.mpsc import after
        >>> start = time.monotonic()
        >>> due = after(0.01).recv()
        >>> due >= start + 0.01 and time.monotonic() >= due
        True
    """
    return Receiver._create(_AfterChan(_check_seconds(seconds)))  # type: ignore[no-any-return]


def tick(seconds: float) -> Receiver[float]:
    """A receiver that gets a message every ``seconds`` (crossbeam's ``tick``).

    Each message is the time it was due, on the :func:`time.monotonic`
    clock; the next one is due ``seconds`` after a message is taken, so a
    slow receiver gets no backlog.

    Raises:
        ValueError: ``seconds`` is negative, infinite or NaN.

    Example:
        >>> from fearless.mpsc import tick
        >>> ticker = tick(0.001)
        >>> first, second = ticker.recv(), ticker.recv()
        >>> second >= first + 0.001
        True
    """
    return Receiver._create(_TickChan(_check_seconds(seconds)))  # type: ignore[no-any-return]


def never() -> Receiver[Never]:
    """A receiver that never gets a message and never disconnects (crossbeam's ``never``).

    Handy in :func:`select` to switch off a branch, e.g.
    ``after(t) if t is not None else never()``.

    Example:
        >>> from fearless.mpsc import RecvTimeoutError, never
        >>> try:
        ...     never().recv(timeout=0.001)
        ... except RecvTimeoutError as e:
        ...     print(e)
        no message arrived within 0.001 seconds
    """
    return Receiver._create(_NeverChan())  # type: ignore[no-any-return]


# -- select ----------------------------------------------------------------------


class Selected(NamedTuple, Generic[T]):
    """What :func:`select` returns: which receiver had a message, and the message.

    Attributes:
        index: The position of the receiver among ``select()``'s arguments.
        receiver: That receiver.
        value: The message received from it.
    """

    # Shadows tuple.index() on purpose: crossbeam's SelectedOperation::index().
    index: int  # type: ignore[assignment]
    receiver: Receiver[T]
    value: T


# The loops below are functions of their own, called inside select's
# ``try``: CPython 3.12+ leaves the back edge of some loops out of the
# enclosing ``try``'s exception table (see ``_mpsc._snooze``), and an
# interrupt raised there would skip select's ``finally``.


def _mark_all(receivers: tuple[Receiver[object], ...], busies: list[_Busy], me: int) -> None:
    """Mark every receiver busy for this thread; raise if one is receiving elsewhere."""
    for busy in busies:
        busy[me] = None
    for receiver in receivers:
        if not _mark_busy(receiver._busy, me):
            receiver._live()
            raise ConcurrentRecvError(_MSG_CONCURRENT)


def _unpublish(chans: list[_Chan], waiter: _Waiter) -> None:
    for chan in chans:
        if chan.waiter is waiter:
            chan.waiter = None


def _all_disconnected(chans: list[_Chan]) -> bool:
    # A loop, not all(<generator>): a generator abandoned by an interrupt
    # runs its cleanup later, wherever the collector happens to free it.
    for chan in chans:  # noqa: SIM110
        if not chan.disconnected():
            return False
    return True


# Overloads for up to five receivers type the value as the union of their
# message types (``Receiver[int]`` and ``Receiver[str]`` give ``int | str``);
# beyond that, a common supertype.
@overload
def select(r1: Receiver[T1], /, *, timeout: float | None = None) -> Selected[T1]: ...
@overload
def select(
    r1: Receiver[T1], r2: Receiver[T2], /, *, timeout: float | None = None
) -> Selected[T1 | T2]: ...
@overload
def select(
    r1: Receiver[T1], r2: Receiver[T2], r3: Receiver[T3], /, *, timeout: float | None = None
) -> Selected[T1 | T2 | T3]: ...
@overload
def select(
    r1: Receiver[T1],
    r2: Receiver[T2],
    r3: Receiver[T3],
    r4: Receiver[T4],
    /,
    *,
    timeout: float | None = None,
) -> Selected[T1 | T2 | T3 | T4]: ...
@overload
def select(
    r1: Receiver[T1],
    r2: Receiver[T2],
    r3: Receiver[T3],
    r4: Receiver[T4],
    r5: Receiver[T5],
    /,
    *,
    timeout: float | None = None,
) -> Selected[T1 | T2 | T3 | T4 | T5]: ...
@overload
def select(*receivers: Receiver[T], timeout: float | None = None) -> Selected[T]: ...
def select(*receivers: Receiver[Any], timeout: float | None = None) -> Selected[Any]:
    """Receive from whichever of ``receivers`` has a message first (crossbeam's ``select!``).

    Blocks until one of them has a message, then takes exactly one
    message, from that receiver, and returns a :class:`Selected`
    ``(index, receiver, value)``. When several have messages, the one
    picked rotates from call to call of each thread, so no channel
    starves another.
    Waiting costs nothing: one waiter is registered on every channel
    and the first to get a message wakes it (no polling).

    Disconnection:
        Unlike crossbeam — where a disconnected channel is always "ready"
        with an error — a channel whose senders are all gone is simply
        skipped once it is drained, and ``select`` raises
        :class:`~fearless.mpsc.RecvError` only when *every* receiver is
        disconnected and empty. So ``while True: select(a, b)`` keeps
        draining the live channel. Timers never disconnect.

    Args:
        *receivers: One or more receivers (the same one may appear twice).
        timeout: Seconds to wait at most; ``None`` waits as long as it takes.

    Raises:
        RecvError: Every receiver is disconnected and empty.
        RecvTimeoutError: No message within ``timeout``.
        ConcurrentRecvError: Another thread is receiving on one of them.
        ConsumedError: One of them was closed.
        ValueError: No receivers, or ``timeout`` is negative or NaN.

    Example:
        >>> from fearless.mpsc import after, channel, select
        >>> tx, rx = channel[str]()
        >>> timeout = after(1.0)
        >>> tx.send("work")
        >>> got = select(rx, timeout)
        >>> got.index, got.value
        (0, 'work')
        >>> tx.close()
        >>> select(rx, timeout).receiver is timeout     # rx is drained and disconnected
        True
    """
    count = len(receivers)
    if not count:
        raise ValueError(_MSG_SELECT_NOTHING)
    for receiver in receivers:
        if not isinstance(receiver, Receiver):
            raise TypeError(_MSG_SELECT_TYPE.format(type(receiver).__name__))
    deadline = Deadline(check_timeout(timeout))
    start = _seam.backend.rotation() % count
    order = [*range(start, count), *range(start)]
    me = get_ident()
    busies: list[_Busy] = [receiver._busy for receiver in receivers]
    for receiver in receivers:
        if me in receiver._busy:  # a receive on this thread already (a finaliser)
            receiver._live()
            raise ConcurrentRecvError(_MSG_CONCURRENT)
    # Unmarking is one C call (no interrupt or RecursionError can cut it in
    # half): dict.pop(me, None) on every receiver, driven by deque().
    unmark: Callable[[], object] = partial(
        deque, map(dict.pop, busies, repeat(me), repeat(None)), 0
    )
    try:
        _mark_all(receivers, busies, me)
        while True:
            chans = [receiver._live() for receiver in receivers]
            for i in order:
                try:
                    value = chans[i].pop()
                except IndexError:
                    continue
                return Selected(i, receivers[i], value)
            # Plain loops, not generator expressions: an abandoned generator
            # runs code when it is freed, which an interrupt could cut short.
            if _all_disconnected(chans):
                for i in order:
                    try:
                        value = chans[i].pop()
                    except IndexError:
                        continue
                    return Selected(i, receivers[i], value)
                raise RecvError(_MSG_SELECT_DISCONNECTED)
            if deadline.expired():
                raise RecvTimeoutError(
                    _MSG_SELECT_TIMEOUT.format(timeout, count, "" if count == 1 else "s")
                )

            def ready(chans: list[_Chan] = chans) -> bool:
                for chan in chans:
                    if chan.has_message():
                        return True
                return _all_disconnected(chans)

            def ready_in(chans: list[_Chan] = chans) -> float:
                soonest = -1.0
                for chan in chans:
                    t = chan.ready_in()
                    if t >= 0 and (soonest < 0 or t < soonest):
                        soonest = t
                return soonest

            waiter = _Waiter()
            try:
                for chan in chans:
                    chan.waiter = waiter
                _park(waiter, ready, deadline, ready_in)
            finally:
                # Claimed first (one C call): a waiter left behind by an
                # interrupt in _unpublish is dead, nobody acts on it.
                waiter.claims.clear()
                _unpublish(chans, waiter)
    finally:
        unmark()
