"""Poison and consumed state, shared by ``Mutex`` and ``RwLock`` (Rust's ``sync/poison.rs``).

A lock keeps both in one integer slot, ``_trouble``, that is 0 while the
lock is healthy, so the hot paths test one slot for truth:

* :data:`POISONED` -- a guard's ``with`` block exited by an exception while
  it could write (Rust's ``Flag::done`` seeing a panic). Guard exits set it
  inline (no Python call on the hot path: see ``MutexGuard.__exit__`` and
  ``RwLockWriteGuard.__exit__``), and only if the lock was built with
  ``poison=True``; :meth:`clear_poison` clears it.
* :data:`CONSUMED` -- ``into_inner()`` took the value out (Rust moves the
  lock); every later use refuses with :class:`~fearless.ConsumedError`.

Everything else lives here, once: the messages of the errors these states
cause (:class:`Messages`, one per kind of lock), the refusal a lock raises
once it finds trouble (Rust's ``Flag::guard`` returning ``Err``:
:func:`refusal`), and the answer of ``into_inner()`` (:func:`into_inner`)
and ``repr()`` (:func:`describe`). A lock keeps its own internal locking:
this module only decides, from a snapshot of the bits, what to say.

Relies on ``_errors`` alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple, TypeVar

from ._errors import ConsumedError, PoisonError

T = TypeVar("T")

#: A guard's block failed while holding the lock (Rust's ``Flag::failed``).
POISONED: Final = 1
#: ``into_inner()`` consumed the lock.
CONSUMED: Final = 2


class Messages(NamedTuple):
    """What a kind of lock says when poisoned or consumed."""

    poisoned: str
    consumed: str


def messages(noun: str, failing: str) -> Messages:
    """The messages of a lock called ``noun``, poisoned by a thread that failed ``failing``.

    Example:
        >>> messages("mutex", "while holding it").consumed
        'this mutex was consumed by into_inner(); it cannot be used any more'
    """
    return Messages(
        poisoned=(
            f"{noun} is poisoned: a thread failed {failing}; "
            "call into_inner() on this error to use the data anyway, or clear_poison()"
        ),
        consumed=f"this {noun} was consumed by into_inner(); it cannot be used any more",
    )


def refusal(
    trouble: int, says: Messages, recover: Callable[[], T]
) -> ConsumedError | PoisonError[T]:
    """The error for a request that found ``trouble`` (not 0): consumed first, else poisoned.

    ``recover`` is what the :class:`~fearless.PoisonError`'s ``into_inner()``
    calls: the same request, ignoring the poison.
    """
    if trouble & CONSUMED:
        return ConsumedError(says.consumed)
    return PoisonError(says.poisoned, recover)


def refuse_if_consumed(trouble: int, says: Messages) -> None:
    """Raise :class:`~fearless.ConsumedError` if ``trouble`` says so."""
    if trouble & CONSUMED:
        raise ConsumedError(says.consumed)


def into_inner(trouble: int, value: T, says: Messages) -> T:
    """What ``into_inner()`` returns (or raises) once it took ``value`` out.

    A poisoned lock is consumed all the same; the error's ``into_inner()``
    gives the value.
    """
    if trouble & POISONED:
        raise PoisonError(says.poisoned, lambda: value)
    return value


def describe(name: str, trouble: int, shown: str | None) -> str:
    """A lock's ``repr``: ``shown`` is its value's repr, None if it could not be read.

    Example:
        >>> describe("Mutex", POISONED, None)
        'Mutex(<locked>, poisoned=True)'
    """
    if trouble & CONSUMED:
        return f"{name}(<consumed>)"
    suffix = ", poisoned=True" if trouble & POISONED else ""
    return f"{name}({'<locked>' if shown is None else shown}{suffix})"
