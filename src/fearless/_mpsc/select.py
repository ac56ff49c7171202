"""``select``: receive from whichever of several receivers has a message first (crossbeam's).

One :class:`~fearless._mpsc.waiting._Waiter` is published on every
channel; the first to get a message claims and wakes it. ``select`` talks
to each :class:`~fearless._mpsc.handles.Receiver` only through
:class:`Selectable`; the channels it gets from there through
:class:`~fearless._mpsc.flavors._Chan`. Relies on ``_mpsc.waiting``.
"""

from __future__ import annotations

from _thread import get_ident
from collections import deque
from collections.abc import Callable
from functools import partial
from itertools import repeat
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, overload

from .. import _seam
from .._deadline import Deadline, check_timeout
from .._errors import ConcurrentRecvError, RecvError, RecvTimeoutError
from .flavors import _Chan
from .handles import Receiver
from .messages import (
    _MSG_CONCURRENT,
    _MSG_SELECT_DISCONNECTED,
    _MSG_SELECT_NOTHING,
    _MSG_SELECT_TIMEOUT,
    _MSG_SELECT_TYPE,
)
from .waiting import _Busy, _mark_busy, _park, _Waiter

T = TypeVar("T")
T1 = TypeVar("T1")
T2 = TypeVar("T2")
T3 = TypeVar("T3")
T4 = TypeVar("T4")
T5 = TypeVar("T5")

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


class Selectable(Protocol):
    """All that ``select`` uses of a receiver (:class:`Receiver` declares the same two).

    ``_busy`` is the receiver's busy marker (``_mpsc.waiting._Busy``: the
    thread receiving on it, first one wins); ``_live()`` is its channel, or
    :class:`~fearless.ConsumedError` once it is closed. Everything else
    ``select`` does, it does to the channels (``_mpsc.flavors._Chan``).
    """

    @property
    def _busy(self) -> _Busy: ...

    def _live(self) -> _Chan: ...


#: Checked by the type checker: a Receiver is Selectable.
_RECEIVER_IS_SELECTABLE: type[Selectable] = Receiver


# The loops below are functions of their own, called inside select's
# ``try``: CPython 3.12+ leaves the back edge of some loops out of the
# enclosing ``try``'s exception table (see ``waiting._snooze``), and an
# interrupt raised there would skip select's ``finally``.


def _mark_all(sources: tuple[Selectable, ...], busies: list[_Busy], me: int) -> None:
    """Mark every receiver busy for this thread; raise if one is receiving elsewhere."""
    for busy in busies:
        busy[me] = None
    for source in sources:
        if not _mark_busy(source._busy, me):
            source._live()
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


def _first_message(
    chans: list[_Chan], order: list[int], receivers: tuple[Receiver[Any], ...]
) -> Selected[Any] | None:
    """The first message found, trying the channels in ``order``; None if all are empty.

    Between taking a message and returning it, nothing runs that an
    interrupt could stop (the caller returns what this returns at once).
    """
    for i in order:
        try:
            value = chans[i].pop()
        except IndexError:
            continue
        return Selected(i, receivers[i], value)
    return None


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
def select(*receivers: Receiver[Any], timeout: float | None = None) -> Selected[Any]:  # noqa: PLR0912 - scan, register and wait share one frame (interrupt safety)
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
    sources: tuple[Selectable, ...] = receivers
    busies: list[_Busy] = [source._busy for source in sources]
    for source in sources:
        if me in source._busy:  # a receive on this thread already (a finaliser)
            source._live()
            raise ConcurrentRecvError(_MSG_CONCURRENT)
    # Unmarking is one C call (no interrupt or RecursionError can cut it in
    # half): dict.pop(me, None) on every receiver, driven by deque().
    unmark: Callable[[], object] = partial(
        deque, map(dict.pop, busies, repeat(me), repeat(None)), 0
    )
    try:
        _mark_all(sources, busies, me)
        while True:
            chans = [source._live() for source in sources]
            got = _first_message(chans, order, receivers)
            if got is not None:
                return got
            if _all_disconnected(chans):
                # A last message may have come just before its channel's
                # last sender left: look once more, then give up.
                got = _first_message(chans, order, receivers)
                if got is not None:
                    return got
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
