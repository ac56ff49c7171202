"""The bounded flavour (crossbeam's ``flavors/array``): a deque and a deque of permits.

A sender pops a permit before appending; the receiver gives one back after
taking a message and wakes a waiting sender. Relies on
:class:`~fearless._mpsc.flavors._Queued` and ``_mpsc.waiting``.
``Receiver._iter_array`` (in ``_mpsc.handles``) inlines :meth:`_ArrayChan.pop`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import Any

from ... import _seam
from ..._deadline import Deadline, check_timeout
from ..._errors import SendError, SendTimeoutError
from ..messages import _MSG_SEND_DISCONNECTED, _MSG_SEND_TIMEOUT, NOTE_SENT
from ..waiting import (
    _DISCONNECTED,
    _AnyWaiter,
    _AsyncWaiter,
    _forget,
    _park,
    _park_async,
    _Waiter,
    _wake_all,
    _wake_one,
)
from . import _Queued


class _ArrayChan(_Queued):
    """Bounded with room for ``cap >= 1`` messages (Rust's ``sync_channel(cap)``)."""

    __slots__ = ("cap", "permits", "popleft", "send_waiters", "take_permit")

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.popleft = self.buf.popleft
        self.permits: deque[None] = deque(itertools.repeat(None, cap))
        self.take_permit = self.permits.pop
        self.send_waiters: deque[_AnyWaiter] = deque()

    def pop(self) -> Any:
        # Receiver._iter_array (handles.py) has an inlined copy: keep in step.
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

    def can_send(self) -> bool:
        return bool(self.permits) or self.waiter is _DISCONNECTED

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
        self, _wake_all: Any = _wake_all, _close: Any = _Queued.close_receiver
    ) -> None:
        _close(self)  # defaults, not super(): finalisers call this at shutdown too
        _wake_all(self.send_waiters)

    def describe(self) -> str:
        return f"~{len(self.buf)}/{self.cap} queued (snapshot), {self.counts()}"
