"""The rendezvous flavour (crossbeam's ``flavors/zero``): offers the receiver takes.

A send queues an :class:`_Offer` and waits until the receiver claims it;
claiming is one C call (``owner.setdefault``) so an interrupted sender can
still learn whether its message was delivered (:func:`_settler`). Relies
on :class:`~fearless._mpsc.flavors._SenderSide` and ``_mpsc.waiting``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from functools import partial
from itertools import compress, repeat
from typing import Any

from ..._deadline import Deadline, check_timeout
from ..._errors import SendError, SendTimeoutError
from ..messages import _MSG_SEND_DISCONNECTED, _MSG_SEND_TIMEOUT_RENDEZVOUS, NOTE_SENT
from ..waiting import (
    _DISCONNECTED,
    _AnyWaiter,
    _AsyncWaiter,
    _park,
    _park_async,
    _Waiter,
    _wake_receiver,
)
from . import _SenderSide


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
