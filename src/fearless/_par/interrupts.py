"""Holding Ctrl-C back while the engine's bookkeeping runs in the main thread.

A parallel call must never raise with work of its own still running, yet
CPython raises ``KeyboardInterrupt`` at almost any point of the main thread.
:class:`HeldInterrupts` records SIGINT instead while the engine submits,
records and stops chunks, and delivers it where the call can stop cleanly.
Relies only on ``_signal``, the C module behind :mod:`signal`.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType

__all__ = ["SIGINT", "HeldInterrupts", "set_signal"]


class HeldInterrupts:
    """Holds Ctrl-C back while fearless's own bookkeeping runs in the main thread.

    CPython raises ``KeyboardInterrupt`` at almost any point of the main
    thread; one that lands between submitting a chunk and recording its
    future, or in the middle of stopping a call, would leave work running
    after the call raised. While held, SIGINT only records itself (and
    calls ``wake``); :meth:`deliver` hands it to the handler it displaced
    at a point where the call can stop cleanly, and :meth:`release` puts
    that handler back (delivering what was held). Outside the main thread
    it does nothing: no interrupt arrives there.

    Taking hold can itself be interrupted: a Python call is a point where
    an interrupt gets in, and ``signal.signal`` runs pending handlers before
    it switches. Where a cleanup must not be cut short, the ``except`` block
    takes hold with the C function itself (:data:`set_signal`) as its first
    call, once more if the displaced handler raised, and reports to
    :meth:`took`: see the ``except`` block of
    ``fearless._par.engine._execute``, the one model (``fearless._par.api._join``
    holds a copy). It cannot be a function: calling it would be a point where
    an interrupt gets in.
    """

    __slots__ = ("_held", "_previous", "_wake", "record")

    def __init__(self, wake: Callable[[], object] | None = None) -> None:
        self._held: list[int] = []
        self._previous: object = _NOT_HELD
        self._wake = wake
        # One bound method, so that it can be recognised; None (which
        # signal.signal refuses with a TypeError) when the handler in place
        # was installed from C: it could not be put back.
        self.record: Callable[[int, FrameType | None], None] | None = (
            self._record if _get_signal(SIGINT) is not None else None
        )

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self._held.append(signum)  # one C call: safe in a signal handler
        if self._wake is not None:
            self._wake()

    def hold(self) -> None:
        """From now on, record SIGINT instead of running its handler."""
        try:
            displaced = set_signal(SIGINT, self.record)
        except (ValueError, TypeError):  # not the main thread; a handler from C
            return
        if displaced is not self.record:  # else: held already
            self._previous = displaced

    def took(self, displaced: object, raised: bool) -> None:
        """Remember what ``set_signal(SIGINT, self.record)`` displaced (see above).

        ``raised``: the displaced handler raised before the switch; that
        counts as one held SIGINT, delivered again when released.
        """
        if raised:
            self._held.append(SIGINT)
        if displaced is not None and displaced is not self.record:
            self._previous = displaced

    def deliver(self) -> None:
        """Run the displaced handler for each SIGINT held so far (it may raise)."""
        previous = self._previous
        if not self._held or previous is _NOT_HELD:
            return
        if not callable(previous):
            # SIG_DFL (die) or SIG_IGN: put it back first, or the signal
            # raised again would only be recorded again.
            self.release()
            return
        while self._held:
            self._held.pop()
            previous(signal.SIGINT, sys._getframe(1))

    def release(self) -> None:
        """Put the displaced handler back, then deliver what was held."""
        previous = self._previous
        if previous is _NOT_HELD:
            return
        self._previous = _NOT_HELD
        set_signal(SIGINT, previous)
        while self._held:
            self._held.pop()
            _run_handler(previous)


_NOT_HELD = object()
#: ``signal.signal`` without the Python wrapper that converts enums (the C
#: function of ``_signal``, which ``signal`` imports): no interrupt can get in
#: between the call and the new handler.
set_signal: Callable[[int, object], object] = sys.modules["_signal"].signal
_get_signal: Callable[[int], object] = sys.modules["_signal"].getsignal
SIGINT = int(signal.SIGINT)


def _run_handler(handler: object) -> None:
    """Do what SIGINT would have done with ``handler`` installed."""
    if callable(handler):
        handler(signal.SIGINT, sys._getframe(2))
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signal.SIGINT)
    # SIG_IGN: nothing
