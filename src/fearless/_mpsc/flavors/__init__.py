"""The channel flavours (crossbeam's ``flavors/``): what each offers its receiver.

:class:`_Chan` is the interface every flavour -- and every timer of
``_mpsc.timers`` -- offers the receiving side (``pop``, ``has_message``,
``disconnected``, ``ready_in``, ``close_receiver``, ``describe`` and the
published ``waiter``). :class:`_SenderSide` adds the counted senders of a
real channel, under a reentrant lock from the seam; :class:`_Queued`, the
deque that ``list`` and ``array`` keep their messages in. The flavours:
``list`` (unbounded), ``array`` (bounded) and ``zero`` (rendezvous).
Relies on ``_mpsc.waiting`` and the seam.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from ... import _seam
from ..._errors import ConsumedError, DeadlockError, RecvError
from ..messages import _MSG_FORKED, _MSG_RECV_DISCONNECTED
from ..waiting import _DISCONNECTED, _wake_receiver

if TYPE_CHECKING:
    from ..handles import _SenderEnd


#: What :meth:`_Chan.take` returns when no message is queued yet.
_NOTHING: Any = object()


class _Chan:
    """What every flavour offers its receiver (timers included)."""

    __slots__ = ("waiter",)

    #: The receiver's published waiter, or None, or _DISCONNECTED.
    waiter: Any

    def __init__(self) -> None:
        self.waiter = None  # no receiver waits yet

    def pop(self) -> Any:
        """The next message; ``IndexError`` when there is none right now."""
        raise NotImplementedError

    def has_message(self) -> bool:
        """Whether :meth:`pop` would succeed now (a snapshot)."""
        raise NotImplementedError

    def disconnected(self) -> bool:
        """Whether every sender is gone (timers never disconnect)."""
        return False

    def take(self, _NOTHING: Any = _NOTHING) -> Any:
        """The next message; ``_NOTHING`` if none yet; ``RecvError`` if none ever will come.

        What a blocking receive tries each time round (the fast paths call
        ``pop`` directly).
        """
        try:
            return self.pop()
        except IndexError:
            pass
        if self.disconnected():
            try:
                return self.pop()
            except IndexError:
                raise RecvError(_MSG_RECV_DISCONNECTED) from None
        return _NOTHING

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
        super().__init__()
        self.senders = 1
        self.lock = _seam.allocate_rlock()

    def add_sender(self, handle: _SenderEnd[Any], new: Any) -> None:
        """Count ``new`` (a handle not yet connected) as a clone of ``handle``.

        The count and ``new._shared`` change together in one critical section
        that makes no call, so no interrupt can separate them: whatever
        happens next, ``new`` is either connected and counted, or neither.
        """
        self.check_fork()
        with self.lock:
            live = handle._shared is self
            if live:
                self.senders += 1
                new._shared = self
        if not live:
            raise ConsumedError(handle._dropped)

    def drop_sender(self, handle: _SenderEnd[Any], _wake_receiver: Any = _wake_receiver) -> bool:
        """Disconnect ``handle``; False if it was not connected (closed already).

        Its finaliser calls this at interpreter shutdown, when module globals
        may be gone: what it needs is bound as a default argument.
        """
        self.check_fork()
        with self.lock:
            live = handle._shared is self
            if live:
                handle._shared = None
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

    def counts(self) -> str:
        if self.waiter is _DISCONNECTED:
            return "receiver gone"
        senders = self.senders
        return f"{senders} sender{'' if senders == 1 else 's'}"


class _Queued(_SenderSide):
    """A flavour whose messages wait in a deque, ``buf`` (``list`` and ``array``)."""

    __slots__ = ("append", "buf")

    def __init__(self) -> None:
        super().__init__()
        self.buf: deque[Any] = deque()
        self.append = self.buf.append

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
