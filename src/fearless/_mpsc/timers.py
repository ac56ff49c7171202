"""The timer channels ``after``, ``tick`` and ``never`` (crossbeam's ``at``, ``tick``, ``never``).

A timer is a receiver whose channel is made of time instead of senders: it
has a message when its due time has passed, and it never disconnects. A
blocked ``recv`` or ``select`` on a timer sleeps no longer than the time
until it is due (see ``_Chan.ready_in``), so timers need no thread. Relies
on ``_mpsc.flavors._Chan``, the seam's clock, and ``_mpsc.handles.Receiver``.
"""

from __future__ import annotations

from typing import Never, NoReturn

from .. import _seam
from .flavors import _Chan
from .handles import Receiver
from .messages import _MSG_PERIOD

# -- timer channels --------------------------------------------------------------------


class _Timer(_Chan):
    """A channel made of time: a message is due ``seconds`` after it was made, at ``due``."""

    __slots__ = ("due", "seconds")

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.due = _seam.monotonic() + seconds

    def has_message(self) -> bool:
        return _seam.monotonic() >= self.due

    def ready_in(self) -> float:
        return max(0.0, self.due - _seam.monotonic())


class _AfterChan(_Timer):
    """Delivers one message, the time it was due, after a delay (crossbeam's ``after``)."""

    __slots__ = ("box",)

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.box = [self.due]

    def pop(self) -> float:
        if self.box and _seam.monotonic() >= self.due:
            value: float = self.box.pop()
            return value
        raise IndexError

    def has_message(self) -> bool:
        return bool(self.box) and _seam.monotonic() >= self.due

    def ready_in(self) -> float:
        return super().ready_in() if self.box else -1

    def describe(self) -> str:
        state = "delivered" if not self.box else f"due in ~{self.ready_in():.3g}s (snapshot)"
        return f"after({self.seconds!r}) timer, {state}"


class _TickChan(_Timer):
    """Delivers the due time every ``seconds`` (crossbeam's ``tick``)."""

    __slots__ = ("lock",)

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
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
                self.due = now + self.seconds
        if not ready:
            raise IndexError
        return due

    def describe(self) -> str:
        return f"tick({self.seconds!r}) timer, next due in ~{self.ready_in():.3g}s (snapshot)"


class _NeverChan(_Chan):
    """Never delivers, never disconnects (crossbeam's ``never``)."""

    __slots__ = ()

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
