"""The atomics with one representation each: AtomicBool, AtomicFloat, AtomicRef.

- :class:`AtomicBool` -- Rust's ``AtomicBool``, with the logical
  ``fetch_*`` operations;
- :class:`AtomicFloat` -- the ``atomic_float`` crate's ``AtomicF64``, whose
  ``compare_exchange`` compares bit patterns as Rust's does;
- :class:`AtomicRef` -- Rust's ``AtomicPtr``: a reference to any object,
  compared by identity.

Each operation is a critical section on the atomic's lock with its checks
inline (one ``in`` per ordering, ``type(v) is ...`` per operand) and its
own docstring; a failed check goes to ``_core``'s shared slow path. Relies
on :mod:`._core` for the cell they derive from (``_Atomic``), the
orderings, conversions, slow paths, results, lock and the shared
``fetch_update`` loop.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, final

from ._core import (
    _ANY,
    _LOAD,
    _STORE,
    CompareExchangeResult,
    Ordering,
    SeqCst,
    T,
    _allocate_lock,
    _Atomic,
    _check_ordering,
    _check_orderings,
    _fetch_update_method,
    _new_result,
    _Result,
    _slow_operand,
    _slow_operands,
    _to_bool,
    _to_float,
    _twin,
)

# -- bool ---------------------------------------------------------------------


@final
class AtomicBool(_Atomic):
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

    __slots__ = ()

    _value: bool

    def __init__(self, value: bool = False) -> None:
        self._lock = _allocate_lock()
        self._value = _to_bool(value)

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
            val = _slow_operand(val, order, "store", _to_bool)
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
            val = _slow_operand(val, order, "any", _to_bool)
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
            current, new = _slow_operands(current, new, success, failure, _to_bool)
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
            val = _slow_operand(val, order, "any", _to_bool)
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
            val = _slow_operand(val, order, "any", _to_bool)
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
            val = _slow_operand(val, order, "any", _to_bool)
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
            val = _slow_operand(val, order, "any", _to_bool)
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
            value_type="bool",
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


# -- references ---------------------------------------------------------------


@final
class AtomicRef(_Atomic, Generic[T]):
    """A reference to any object, replaced atomically (Rust's ``AtomicPtr<T>``).

    ``load`` returns the object itself (no copy); ``compare_exchange``
    compares by identity (``is``), never with ``==``, so the objects'
    ``__eq__`` is never called and the comparison cannot block or raise --
    as Rust compares pointers. Immutable values (tuples, frozen
    dataclasses) make the best contents: publish a new object instead of
    mutating a shared one.

    Args:
        value: The initial object.

    Example:
        >>> from fearless.atomic import AtomicRef
        >>> config = AtomicRef({"workers": 4})
        >>> old = config.load()
        >>> new = {**old, "workers": 8}
        >>> config.compare_exchange(old, new).ok
        True
        >>> config.load()["workers"]
        8
        >>> config.compare_exchange({"workers": 8}, {}).ok   # equal, but not the same object
        False
    """

    __slots__ = ()

    _value: T

    def __init__(self, value: T) -> None:
        self._lock = _allocate_lock()
        self._value = value

    def load(self, order: Ordering = SeqCst) -> T:
        """Read the reference.

        Args:
            order: ``Relaxed``, ``Acquire`` or ``SeqCst`` (the default).

        Returns:
            The object currently referenced.

        Example:
            >>> from fearless.atomic import AtomicRef, Ordering
            >>> AtomicRef("hello").load(Ordering.Acquire)
            'hello'
        """
        if order not in _LOAD:
            _check_ordering(order, "load", "order")
        with self._lock:
            return self._value

    def store(self, val: T, order: Ordering = SeqCst) -> None:
        """Replace the reference.

        Args:
            val: The new object.
            order: ``Relaxed``, ``Release`` or ``SeqCst`` (the default).

        Example:
            >>> from fearless.atomic import AtomicRef, Ordering
            >>> latest = AtomicRef((0, "init"))
            >>> latest.store((1, "ready"), Ordering.Release)
            >>> latest
            AtomicRef((1, 'ready'))
        """
        if order not in _STORE:
            _check_ordering(order, "store", "order")
        with self._lock:
            old = self._value  # dropped after the lock is released
            self._value = val
        del old

    def swap(self, val: T, order: Ordering = SeqCst) -> T:
        """Replace the reference and return the previous one.

        Example:
            >>> from fearless.atomic import AtomicRef
            >>> inbox = AtomicRef([1, 2])
            >>> inbox.swap([])          # take everything, leave an empty list
            [1, 2]
        """
        if order not in _ANY:
            _check_ordering(order, "any", "order")
        with self._lock:
            old = self._value
            self._value = val
        return old

    def compare_exchange(
        self,
        current: T,
        new: T,
        success: Ordering = SeqCst,
        failure: Ordering = SeqCst,
    ) -> CompareExchangeResult[T]:
        """Store ``new`` if the reference is ``current`` (compared with ``is``).

        Args:
            current: The object expected (identity, not equality).
            new: The object to store if the expectation holds.
            success: The read-modify-write's ordering when it stores.
            failure: The load's ordering when it does not: ``Relaxed``,
                ``Acquire`` or ``SeqCst``.

        Returns:
            ``(ok, value)``: whether ``new`` was stored, and the object found.

        Example:
            >>> from fearless.atomic import AtomicRef
            >>> a, b = ["a"], ["b"]
            >>> r = AtomicRef(a)
            >>> r.compare_exchange(a, b)
            CompareExchangeResult(ok=True, value=['a'])
            >>> r.compare_exchange(["b"], a).ok     # an equal list is not the list
            False
        """
        if success not in _ANY or failure not in _LOAD:
            _check_orderings((success, "any", "success"), (failure, "failure", "failure"))
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
            >>> from fearless.atomic import AtomicRef
            >>> head = AtomicRef(None)
            >>> node = ("item", None)
            >>> head.compare_exchange_weak(None, node)
            CompareExchangeResult(ok=True, value=None)
        """,
    )

    if TYPE_CHECKING:

        def fetch_update(
            self,
            f: Callable[[T], T | None],
            set_order: Ordering = SeqCst,
            fetch_order: Ordering = SeqCst,
        ) -> CompareExchangeResult[T]: ...
    else:
        fetch_update = _fetch_update_method(
            object,
            None,
            None,
            None,
            value_type="T",
            doc="""Store ``f(obj)`` unless ``f`` returns None; a compare-exchange loop.

            ``f`` runs without any lock held and may run more than once under
            contention; the store happens only if the reference is still the
            object ``f`` was given (identity). Since None means "give up", this
            cannot store None: use :meth:`store` or :meth:`compare_exchange`.

            Returns:
                ``(True, previous)`` when an object was stored, ``(False,
                current)`` when ``f`` returned None.

            Example:
                >>> from fearless.atomic import AtomicRef
                >>> items = AtomicRef(())
                >>> items.fetch_update(lambda t: (*t, "x"))
                CompareExchangeResult(ok=True, value=())
                >>> items.load()
                ('x',)
            """,
        )


# -- floats -------------------------------------------------------------------

_pack_double = struct.Struct("<d").pack


def _same_bits(a: float, b: float) -> bool:
    """Whether two floats have the same bit pattern (Rust's float compare_exchange)."""
    return _pack_double(a) == _pack_double(b)


@final
class AtomicFloat(_Atomic):
    """A 64-bit float shared between threads (the ``atomic_float`` crate's ``AtomicF64``).

    Holds a Python ``float`` (an IEEE 754 double; ints and other real
    numbers are converted with ``float()``). Besides ``load``, ``store``,
    ``swap`` and ``compare_exchange`` it has ``fetch_add``, ``fetch_sub``,
    ``fetch_max`` and ``fetch_min``, as ``atomic_float`` does.

    Comparing bit patterns:
        ``compare_exchange`` compares the *bits* of the value and
        ``current``, like Rust's ``AtomicF64`` (which exchanges ``u64``
        bits): a NaN matches a NaN with the same bits, and ``0.0`` does not
        match ``-0.0`` -- unlike ``==``.

    Args:
        value: The initial value; ``0.0`` by default.

    Example:
        >>> from fearless.atomic import AtomicFloat
        >>> total = AtomicFloat()
        >>> total.fetch_add(0.5)
        0.0
        >>> total.fetch_add(2)
        0.5
        >>> total
        AtomicFloat(2.5)
    """

    __slots__ = ()

    _value: float

    def __init__(self, value: float = 0.0) -> None:
        self._lock = _allocate_lock()
        self._value = value if type(value) is float else _to_float(value)

    def load(self, order: Ordering = SeqCst) -> float:
        """Read the value.

        Args:
            order: ``Relaxed``, ``Acquire`` or ``SeqCst`` (the default).

        Returns:
            The current value.

        Example:
            >>> from fearless.atomic import AtomicFloat
            >>> AtomicFloat(1.5).load()
            1.5
        """
        if order not in _LOAD:
            _check_ordering(order, "load", "order")
        with self._lock:
            return self._value

    def store(self, val: float, order: Ordering = SeqCst) -> None:
        """Replace the value.

        Args:
            val: A real number; stored as ``float(val)``.
            order: ``Relaxed``, ``Release`` or ``SeqCst`` (the default).

        Raises:
            TypeError: ``val`` is not a real number.

        Example:
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat()
            >>> x.store(3)
            >>> x.load()
            3.0
        """
        if type(val) is not float or order not in _STORE:
            val = _slow_operand(val, order, "store", _to_float)
        with self._lock:
            self._value = val

    def swap(self, val: float, order: Ordering = SeqCst) -> float:
        """Replace the value and return the previous one.

        Example:
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(1.0)
            >>> x.swap(2.0)
            1.0
        """
        if type(val) is not float or order not in _ANY:
            val = _slow_operand(val, order, "any", _to_float)
        with self._lock:
            old = self._value
            self._value = val
        return old

    def compare_exchange(
        self,
        current: float,
        new: float,
        success: Ordering = SeqCst,
        failure: Ordering = SeqCst,
    ) -> CompareExchangeResult[float]:
        """Store ``new`` if the value has the same bit pattern as ``current``.

        NaN matches a NaN with the same bits; ``0.0`` and ``-0.0`` do not
        match each other (see the class docstring).

        Args:
            current: The value expected (compared bit for bit).
            new: The value to store if the expectation holds.
            success: The read-modify-write's ordering when it stores.
            failure: The load's ordering when it does not: ``Relaxed``,
                ``Acquire`` or ``SeqCst``.

        Returns:
            ``(ok, value)``: whether ``new`` was stored, and the value found.

        Example:
            >>> import math
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(math.nan)
            >>> x.compare_exchange(math.nan, 1.0)
            CompareExchangeResult(ok=True, value=nan)
            >>> AtomicFloat(0.0).compare_exchange(-0.0, 1.0).ok
            False
        """
        if (
            type(current) is not float
            or type(new) is not float
            or success not in _ANY
            or failure not in _LOAD
        ):
            current, new = _slow_operands(current, new, success, failure, _to_float)
        lock = self._lock
        with lock:
            old = self._value
            # Equal non-zero floats have equal bits; zeros and NaNs need a
            # look at the bits, which takes a call: done outside the lock.
            ok = old == current and old != 0.0
            if ok:
                self._value = new
        while not ok and _same_bits(old, current):
            # The bits matched when we looked: store if the value is still
            # that very object, else look again at whatever replaced it.
            with lock:
                ok = self._value is old
                if ok:
                    self._value = new
                else:
                    old = self._value
        return _new_result(_Result, (ok, old))

    compare_exchange_weak = _twin(
        compare_exchange,
        "compare_exchange_weak",
        """:meth:`compare_exchange`, which Rust allows to fail spuriously.

        fearless's never fails spuriously: it is exactly
        :meth:`compare_exchange`, kept so ported retry loops read the same.

        Example:
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(1.0)
            >>> x.compare_exchange_weak(1.0, 2.0)
            CompareExchangeResult(ok=True, value=1.0)
        """,
    )

    def fetch_add(self, val: float, order: Ordering = SeqCst) -> float:
        """Add ``val`` (IEEE 754 addition); return the previous value.

        Example:
            >>> from fearless.atomic import AtomicFloat, Ordering
            >>> x = AtomicFloat(1.5)
            >>> x.fetch_add(0.25, Ordering.Relaxed)
            1.5
            >>> x.load()
            1.75
        """
        if type(val) is not float or order not in _ANY:
            val = _slow_operand(val, order, "any", _to_float)
        with self._lock:
            old = self._value
            self._value = old + val
        return old

    def fetch_sub(self, val: float, order: Ordering = SeqCst) -> float:
        """Subtract ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(1.0)
            >>> x.fetch_sub(0.25)
            1.0
            >>> x.load()
            0.75
        """
        if type(val) is not float or order not in _ANY:
            val = _slow_operand(val, order, "any", _to_float)
        with self._lock:
            old = self._value
            self._value = old - val
        return old

    def fetch_max(self, val: float, order: Ordering = SeqCst) -> float:
        """Store the larger of the value and ``val``; return the previous value.

        As Rust's ``f64::max``, a NaN is ignored: with one NaN operand the
        other wins, and the result is NaN only if both are. Between ``0.0``
        and ``-0.0`` the current value is kept (Rust leaves that case
        unspecified).

        Example:
            >>> import math
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(1.0)
            >>> x.fetch_max(2.5)
            1.0
            >>> x.fetch_max(math.nan)
            2.5
            >>> x.load()
            2.5
        """
        if type(val) is not float or order not in _ANY:
            val = _slow_operand(val, order, "any", _to_float)
        with self._lock:
            old = self._value
            if val > old or old != old:  # noqa: PLR0124 -- old != old: old is NaN
                self._value = val
        return old

    def fetch_min(self, val: float, order: Ordering = SeqCst) -> float:
        """Store the smaller of the value and ``val``; return the previous value.

        NaN is ignored as in :meth:`fetch_max`.

        Example:
            >>> import math
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(math.nan)
            >>> x.fetch_min(3.0)
            nan
            >>> x.fetch_min(-1.0)
            3.0
            >>> x.load()
            -1.0
        """
        if type(val) is not float or order not in _ANY:
            val = _slow_operand(val, order, "any", _to_float)
        with self._lock:
            old = self._value
            if val < old or old != old:  # noqa: PLR0124 -- old != old: old is NaN
                self._value = val
        return old

    if TYPE_CHECKING:

        def fetch_update(
            self,
            f: Callable[[float], float | None],
            set_order: Ordering = SeqCst,
            fetch_order: Ordering = SeqCst,
        ) -> CompareExchangeResult[float]: ...
    else:
        fetch_update = _fetch_update_method(
            float,
            -math.inf,
            math.inf,
            _to_float,
            value_type="float",
            doc="""Store ``f(value)`` unless ``f`` returns None; a compare-exchange loop.

            ``f`` runs without any lock held and may run more than once under
            contention. See :meth:`AtomicI64.fetch_update`.

            Example:
                >>> from fearless.atomic import AtomicFloat
                >>> x = AtomicFloat(2.0)
                >>> x.fetch_update(lambda v: v * v)
                CompareExchangeResult(ok=True, value=2.0)
                >>> x.load()
                4.0
            """,
        )
