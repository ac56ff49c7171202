"""The unbounded flavour (crossbeam's ``flavors/list``): a deque, no waiting to send.

Relies on :class:`~fearless._mpsc.flavors._SenderSide` and ``_mpsc.waiting``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..waiting import _DISCONNECTED
from . import _SenderSide


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
