"""AtomicBool: Rust's ``AtomicBool``, with the logical ``fetch_*`` operations.

Each operation is a critical section on the atomic's lock with its checks
inline (one ``in`` per ordering, ``type(v) is bool`` per operand); relies on
:mod:`._core` for the orderings, conversions, results, lock and the shared
``fetch_update`` loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, final

from .._util import NotCopyable
from ._core import (
    _ANY,
    _COPY_ADVICE,
    _LOAD,
    _STORE,
    CompareExchangeResult,
    Ordering,
    SeqCst,
    _allocate_lock,
    _check_ordering,
    _check_orderings,
    _fetch_update_method,
    _new_result,
    _no_truth_value,
    _Result,
    _to_bool,
    _twin,
)


@final
class AtomicBool(NotCopyable):
    """A boolean shared between threads (Rust's ``AtomicBool``).

    Holds ``True`` or ``False`` (anything else raises :class:`TypeError`).
    Besides ``load``, ``store``, ``swap`` and ``compare_exchange`` it has
    the logical read-modify-writes ``fetch_and``, ``fetch_or``,
    ``fetch_xor``, ``fetch_nand`` and ``fetch_not``.

    An atomic has no truth value: ``if flag:`` raises :class:`TypeError`
    (and is a type error for mypy) -- write ``if flag.load():``.

    Args:
        value: The initial value; ``False`` by default.

    Example:
        >>> import threading
        >>> from fearless.atomic import AtomicBool, Ordering
        >>> data = []
        >>> ready = AtomicBool(False)
        >>> def producer() -> None:
        ...     data.append(42)                    # write the data...
        ...     ready.store(True, Ordering.Release)  # ...then publish it
        >>> t = threading.Thread(target=producer)
        >>> t.start()
        >>> while not ready.load(Ordering.Acquire):
        ...     pass
        >>> data                                   # visible after the Acquire load
        [42]
        >>> t.join()
    """

    __slots__ = ("__weakref__", "_lock", "_value")

    _copy_advice = _COPY_ADVICE

    _value: bool

    def __init__(self, value: bool = False) -> None:
        self._lock = _allocate_lock()
        self._value = _to_bool(value)

    def __repr__(self) -> str:
        return f"AtomicBool({self._value})"

    def __bool__(self) -> NoReturn:
        raise _no_truth_value(self)

    def load(self, order: Ordering = SeqCst) -> bool:
        """Read the value.

        Args:
            order: ``Relaxed``, ``Acquire`` or ``SeqCst`` (the default).

        Returns:
            The current value.

        Raises:
            ValueError: ``order`` is ``Release`` or ``AcqRel``.

        Example:
            >>> from fearless.atomic import AtomicBool, Ordering
            >>> AtomicBool(True).load(Ordering.Acquire)
            True
        """
        if order not in _LOAD:
            _check_ordering(order, "load", "order")
        with self._lock:
            return self._value

    def store(self, val: bool, order: Ordering = SeqCst) -> None:
        """Replace the value.

        Args:
            val: ``True`` or ``False``.
            order: ``Relaxed``, ``Release`` or ``SeqCst`` (the default).

        Raises:
            ValueError: ``order`` is ``Acquire`` or ``AcqRel``.
            TypeError: ``val`` is not a ``bool``.

        Example:
            >>> from fearless.atomic import AtomicBool, Ordering
            >>> stop = AtomicBool()
            >>> stop.store(True, Ordering.Release)
            >>> stop
            AtomicBool(True)
        """
        if type(val) is not bool or order not in _STORE:  # type: ignore[redundant-expr]
            _check_ordering(order, "store", "order")
            _to_bool(val)
        with self._lock:
            self._value = val

    def swap(self, val: bool, order: Ordering = SeqCst) -> bool:
        """Replace the value and return the previous one.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> taken = AtomicBool()
            >>> taken.swap(True)       # False: this caller got there first
            False
            >>> taken.swap(True)
            True
        """
        if type(val) is not bool or order not in _ANY:  # type: ignore[redundant-expr]
            _check_ordering(order, "any", "order")
            _to_bool(val)
        with self._lock:
            old = self._value
            self._value = val
        return old

    def compare_exchange(
        self,
        current: bool,
        new: bool,
        success: Ordering = SeqCst,
        failure: Ordering = SeqCst,
    ) -> CompareExchangeResult[bool]:
        """Store ``new`` if the value is ``current``.

        Args:
            current: The value expected.
            new: The value to store if the expectation holds.
            success: The read-modify-write's ordering when it stores.
            failure: The load's ordering when it does not: ``Relaxed``,
                ``Acquire`` or ``SeqCst``.

        Returns:
            ``(ok, value)``: whether ``new`` was stored, and the value found.

        Example:
            >>> from fearless.atomic import AtomicBool, Ordering
            >>> busy = AtomicBool(False)
            >>> busy.compare_exchange(False, True, Ordering.Acquire, Ordering.Relaxed)
            CompareExchangeResult(ok=True, value=False)
            >>> busy.compare_exchange(False, True).ok
            False
        """
        if (
            type(current) is not bool  # type: ignore[redundant-expr]
            or type(new) is not bool  # type: ignore[redundant-expr]
            or success not in _ANY
            or failure not in _LOAD
        ):
            _check_orderings((success, "any", "success"), (failure, "failure", "failure"))
            _to_bool(current)
            _to_bool(new)
        with self._lock:
            old = self._value
            ok = old is current
            if ok:
                self._value = new
        return _new_result(_Result, (ok, old))

    compare_exchange_weak = _twin(
        compare_exchange,
        "compare_exchange_weak",
        """:meth:`compare_exchange`, which Rust allows to fail spuriously.

        fearless's never fails spuriously: it is exactly
        :meth:`compare_exchange`, kept so ported retry loops read the same.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> flag = AtomicBool(True)
            >>> flag.compare_exchange_weak(True, False)
            CompareExchangeResult(ok=True, value=True)
        """,
    )

    def fetch_and(self, val: bool, order: Ordering = SeqCst) -> bool:
        """Logical "and" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> x = AtomicBool(True)
            >>> x.fetch_and(False)
            True
            >>> x.load()
            False
        """
        if type(val) is not bool or order not in _ANY:  # type: ignore[redundant-expr]
            _check_ordering(order, "any", "order")
            _to_bool(val)
        with self._lock:
            old = self._value
            self._value = old & val
        return old

    def fetch_or(self, val: bool, order: Ordering = SeqCst) -> bool:
        """Logical "or" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> seen = AtomicBool(False)
            >>> seen.fetch_or(True)
            False
            >>> seen.load()
            True
        """
        if type(val) is not bool or order not in _ANY:  # type: ignore[redundant-expr]
            _check_ordering(order, "any", "order")
            _to_bool(val)
        with self._lock:
            old = self._value
            self._value = old | val
        return old

    def fetch_xor(self, val: bool, order: Ordering = SeqCst) -> bool:
        """Logical "xor" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> x = AtomicBool(True)
            >>> x.fetch_xor(True)
            True
            >>> x.load()
            False
        """
        if type(val) is not bool or order not in _ANY:  # type: ignore[redundant-expr]
            _check_ordering(order, "any", "order")
            _to_bool(val)
        with self._lock:
            old = self._value
            self._value = old ^ val
        return old

    def fetch_nand(self, val: bool, order: Ordering = SeqCst) -> bool:
        """Logical "nand" with ``val`` (``not (value and val)``); return the previous value.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> x = AtomicBool(True)
            >>> x.fetch_nand(True)
            True
            >>> x.load()
            False
        """
        if type(val) is not bool or order not in _ANY:  # type: ignore[redundant-expr]
            _check_ordering(order, "any", "order")
            _to_bool(val)
        with self._lock:
            old = self._value
            self._value = not (old and val)
        return old

    def fetch_not(self, order: Ordering = SeqCst) -> bool:
        """Negate the value; return the previous one.

        Example:
            >>> from fearless.atomic import AtomicBool
            >>> x = AtomicBool(False)
            >>> x.fetch_not()
            False
            >>> x.load()
            True
        """
        if order not in _ANY:
            _check_ordering(order, "any", "order")
        with self._lock:
            old = self._value
            self._value = not old
        return old

    if TYPE_CHECKING:

        def fetch_update(
            self,
            f: Callable[[bool], bool | None],
            set_order: Ordering = SeqCst,
            fetch_order: Ordering = SeqCst,
        ) -> CompareExchangeResult[bool]: ...
    else:
        fetch_update = _fetch_update_method(
            bool,
            False,
            True,
            _to_bool,
            by_value=False,
            doc="""Store ``f(value)`` unless ``f`` returns None; a compare-exchange loop.

            ``f`` runs without any lock held and may run more than once under
            contention. See :meth:`AtomicI64.fetch_update`.

            Returns:
                ``(True, previous)`` when a value was stored, ``(False,
                current)`` when ``f`` returned None.

            Example:
                >>> from fearless.atomic import AtomicBool
                >>> x = AtomicBool(False)
                >>> x.fetch_update(lambda v: not v)
                CompareExchangeResult(ok=True, value=False)
                >>> x.fetch_update(lambda v: None)
                CompareExchangeResult(ok=False, value=True)
            """,
        )
