"""The handle bases: what ``Arc``, ``Weak``, the channel ends and ``JoinHandle`` share.

A handle owns one share of something -- a strong or weak count of an
``Arc`` allocation, one sender of a channel, a channel's only receiver,
the permission to join a thread -- and gives it up exactly once: by its
own method (``drop()``, ``close()``, ``join()``), or when it is
garbage-collected. Copying and pickling are refused
(:class:`~fearless._util.NotCopyable`, with the class's ``_copy_advice``)
unless a subclass says what a copy means (``copy.copy`` of an ``Arc`` or a
sender is a clone).

- :class:`Handle` is that contract: ``__del__`` gives the share up.
  ``JoinHandle`` is one: garbage collection detaches its thread (and
  reports a failure nobody will join), and DESIGN.md gives it no ``with``
  block and no ``close()``, as Rust's ``JoinHandle`` has no scoped drop.
- :class:`DropOnce` holds what is shared in ``_shared`` (an ``Arc``'s
  allocation, a channel), None once the share is given up, and adds the
  ``with`` block, which gives the share up at its end unless it was given
  up inside: ``Arc``, ``Weak``, ``Sender``, ``SyncSender`` and
  ``Receiver``. A dropped one raises :class:`~fearless.ConsumedError` with
  the class's ``_dropped`` message (``_live()``).

A subclass provides:

- ``_dropped``: the message of the :class:`~fearless.ConsumedError` it raises
  once the share is given up;
- ``_drop() -> bool``: give the share up now; False if it was given up
  already. It also runs from ``__del__`` at interpreter shutdown, when
  module globals may be None: it uses only attributes and what it binds
  as default arguments, and raises ``AttributeError`` (and changes
  nothing) on a handle whose construction never finished;
- its public ``drop()``/``close()``: ``if not self._drop(): raise
  ConsumedError(self._dropped)``, written in the method (no extra call on
  a hot path such as ``Arc.drop``).

A subclass may override ``__del__`` with an inlined copy of its ``_drop``
where a call between reading and writing a count must not happen
(``fearless._arc``). Relies on ``_util.NotCopyable`` only.

Example:
    >>> class Ticket(DropOnce[str]):
    ...     __slots__ = ()
    ...     _dropped = "this Ticket was used"
    ...     def __init__(self) -> None:
    ...         self._shared = "a seat"
    ...     def _drop(self) -> bool:
    ...         live, self._shared = self._shared is not None, None
    ...         return live
    >>> with Ticket() as t:
    ...     t._live()
    'a seat'
    >>> t._live()
    Traceback (most recent call last):
    ...
    fearless.ConsumedError: this Ticket was used
    >>> import copy
    >>> copy.copy(t)
    Traceback (most recent call last):
    ...
    TypeError: cannot copy a fearless._handle.Ticket: share the same object ...
"""

from __future__ import annotations

from typing import ClassVar, Generic, Self, TypeVar

from ._errors import ConsumedError
from ._util import NotCopyable

S = TypeVar("S")


class Handle(NotCopyable):
    """A share given up once: by its method, or at the latest by garbage collection."""

    __slots__ = ()

    #: The ``ConsumedError`` message for a handle whose share is given up.
    _dropped: ClassVar[str]

    def _drop(self) -> bool:
        """Give the share up now; False if it was given up already."""
        raise NotImplementedError

    def __del__(self) -> None:
        # A live handle that is garbage-collected gives its share up. This
        # runs at interpreter shutdown too, when module globals may be None:
        # _drop uses only attributes and default arguments (see the module
        # docstring).
        try:
            self._drop()
        except AttributeError:  # construction never finished: nothing to give up
            return


class DropOnce(Handle, Generic[S]):
    """A :class:`Handle` that holds what it shares and that its ``with`` block also drops."""

    __slots__ = ("_shared",)

    #: What the handle shares; None once the share is given up.
    _shared: S | None

    def _live(self) -> S:
        """What the handle shares; ``ConsumedError`` once the share is given up."""
        shared = self._shared
        if shared is None:
            raise ConsumedError(self._dropped)
        return shared

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Drop the handle at the end of the ``with`` block, unless it was dropped inside."""
        self._drop()
