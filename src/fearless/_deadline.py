"""Timeouts in seconds → arguments for the blocking seam, and deadlines."""

from __future__ import annotations

import math
import operator
import threading

from . import _seam

#: The longest timeout the platform's lock waits accept.
TIMEOUT_MAX: float = threading.TIMEOUT_MAX


def check_timeout(timeout: float | None) -> float:
    """Validate a ``timeout=`` argument and turn it into a lock timeout.

    Accepts what ``threading`` accepts as a number of seconds: ``int`` of
    any size, ``float``, and any object with ``__index__`` (``numpy.int64``)
    or ``__float__`` (``numpy.float32``, ``Decimal``, ``Fraction``).
    ``bool`` is refused: ``timeout=True`` is a bug, not one second.

    Returns ``-1`` (wait forever) for ``None`` and for timeouts larger than
    :data:`threading.TIMEOUT_MAX` ("as long as the platform allows"), else the
    timeout as a float.

    Raises:
        TypeError: ``timeout`` is not a real number or ``None``.
        ValueError: ``timeout`` is negative or NaN.

    Example:
        >>> check_timeout(None), check_timeout(1), check_timeout(1e300)
        (-1, 1.0, -1)
        >>> check_timeout(10**400)      # beyond float's range: forever
        -1
        >>> from fractions import Fraction
        >>> check_timeout(Fraction(1, 4))
        0.25
        >>> check_timeout(-1)
        Traceback (most recent call last):
        ...
        ValueError: timeout must be a non-negative number of seconds or None, got -1
    """
    if timeout is None:
        return -1
    kind = type(timeout)
    seconds: float | int
    if kind is float or kind is int:
        seconds = timeout
    elif issubclass(kind, bool) or not (hasattr(kind, "__index__") or hasattr(kind, "__float__")):
        raise TypeError(
            f"timeout must be a number of seconds or None, got {kind.__name__} {timeout!r}"
        )
    elif hasattr(kind, "__index__"):
        seconds = operator.index(timeout)  # type: ignore[arg-type]
    else:
        seconds = float(timeout)
    # Compared before any conversion: float(10**400) overflows.
    if seconds < 0 or (isinstance(seconds, float) and math.isnan(seconds)):
        raise ValueError(
            f"timeout must be a non-negative number of seconds or None, got {timeout!r}"
        )
    if seconds > TIMEOUT_MAX:
        return -1
    return float(seconds)


class Deadline:
    """A point in (the seam's) monotonic time, or never.

    Built from an already checked lock timeout (see :func:`check_timeout`);
    :meth:`remaining` is recomputed on every pass of a wait loop.

    Example:
        >>> Deadline(-1).remaining()
        -1
        >>> 0 <= Deadline(5.0).remaining() <= 5.0
        True
    """

    __slots__ = ("_at",)

    def __init__(self, lock_timeout: float) -> None:
        self._at = None if lock_timeout < 0 else _seam.monotonic() + lock_timeout

    def remaining(self) -> float:
        """Seconds left (``0.0`` once passed), or ``-1`` for never."""
        if self._at is None:
            return -1
        return max(0.0, self._at - _seam.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self._at is not None and _seam.monotonic() >= self._at
