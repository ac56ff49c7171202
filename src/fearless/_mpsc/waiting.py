"""How a channel operation waits: waiters, parking, waking, the receiver's busy marker.

A :class:`_Waiter` is a held raw lock (``fearless._park.waiter``) plus a
one-shot claim; :func:`_park` blocks on it through ``fearless._park.park``
until woken, ready, or past the deadline, and :func:`_snooze` backs off
first through ``fearless._park.snooze``; :func:`_wake_one` /
:func:`_wake_all` / :func:`_wake_receiver` claim and release waiters.
:class:`_AsyncWaiter` and :func:`_park_async` do the same for coroutines.
:class:`_Busy` marks the thread receiving on a receiver. Relies on
``_park``, the seam (``_seam``) and ``_deadline`` only; the package
docstring (``fearless._mpsc``) explains the protocol.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from .. import _park as _parking
from .. import _seam
from .._deadline import Deadline

if TYPE_CHECKING:
    from .flavors import _Chan


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


class _Claimable:
    """A one-shot claim: ``claims`` holds one token, and ``list.pop`` is atomic."""

    __slots__ = ("claims",)

    def __init__(self) -> None:
        self.claims: list[None] = [None]

    def claim(self) -> bool:
        """Take the right to wake (or, by the waiter itself, to stop waiting)."""
        try:
            self.claims.pop()
        except IndexError:
            return False
        return True


class _Waiter(_Claimable):
    """A blocked thread: a held raw lock, and a claim that one waker may take."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = _parking.waiter()
        self.claims = [None]

    def wake(self) -> None:
        """Wake the waiter; only whoever claimed it may call this, once."""
        self.lock.release()


class _AsyncWaiter(_Claimable):
    """A parked coroutine: a claim, and a future resolved on its event loop."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = None
        self.claims = [None]

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
    if snoozes:
        _parking.snooze(lambda: chan.has_message() or deadline.expired(), snoozes)


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
    if not (ready() or deadline.expired()):
        _parking.park(waiter.lock, deadline, ready, ready_in)
    # Ready, past the deadline, or released by a waker (which claimed it
    # first: then this claim changes nothing).
    waiter.claim()


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


def _wake_one(waiters: deque[_AnyWaiter]) -> bool:
    """Wake the first waiter in ``waiters`` that is still waiting; False if none was."""
    while True:
        try:
            waiter = waiters.popleft()
        except IndexError:
            return False
        if waiter.claim():
            waiter.wake()
            return True


def _wake_all(waiters: deque[_AnyWaiter], _wake_one: Any = _wake_one) -> None:
    # _wake_one bound as a default: finalisers call this at interpreter shutdown.
    while _wake_one(waiters):
        pass


def _forget(waiters: deque[_AnyWaiter], waiter: _AnyWaiter) -> None:
    with suppress(ValueError):  # a waker already took it out
        waiters.remove(waiter)
