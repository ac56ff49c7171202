"""The integer atomics: :class:`AtomicInt` and the fixed-width ``AtomicI*``/``AtomicU*``.

Every operation is written once, in :func:`_integer_methods`, with its
documentation: the function that runs is the function documented. Each
concrete type gets its own copy, compiled for its range -- the range is
captured in closure cells, so the hot path reads constants from cells
instead of looking them up (measured ~13% faster on free-threaded 3.13
than class attributes) -- as Rust generates each ``AtomicI*`` type from one
macro. The fixed-width types are declared by their width and signedness
(``class AtomicI8(_FixedWidth, bits=8, signed=True)``), which is all that
tells them apart; :class:`_AtomicInteger` declares the operations' types
for the type checker.

Relies on :mod:`._core` for orderings, operand conversion, the result
type, the shared ``fetch_update`` loop and the locks.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Final, final

from ._core import (
    _ANY,
    _LOAD,
    _STORE,
    CompareExchangeResult,
    Ordering,
    SeqCst,
    _allocate_lock,
    _Atomic,
    _check_ordering,
    _fetch_update_method,
    _int_text,
    _new_result,
    _Result,
    _slow_operand,
    _slow_operands,
    _to_int,
    _twin,
)


def _integer_methods(name: str, bounds: tuple[int, int] | None) -> dict[str, Callable[..., Any]]:  # noqa: PLR0915 - one closure per operation, made together so each runs with no call layer
    """The operations of one integer atomic type, compiled for its range.

    ``bounds`` is ``(MIN, MAX)`` for a fixed-width type (results wrap into
    it, operands must lie in it) or None for :class:`AtomicInt`. The
    functions below are the code that runs and carry the documentation;
    :class:`_AtomicInteger` declares the same signatures for the type
    checker (a test checks they agree).
    """
    lo: float
    hi: float
    if bounds is None:
        lo, hi, base, span = -math.inf, math.inf, 0, 1
    else:
        lo, hi = bounds
        base, span = bounds[0], bounds[1] - bounds[0] + 1
    # Everything the hot paths read is a local of this closure: on 3.13t
    # (no specialising interpreter) a cell read is much cheaper than a
    # global or builtin lookup.
    any_order, load_order, store_order = _ANY, _LOAD, _STORE
    tuple_new, result = _new_result, _Result
    type_, int_ = type, int

    def to_int(value: object) -> int:
        return _to_int(value, name, bounds)

    def load(self: _AtomicInteger, order: Ordering = SeqCst) -> int:
        """Read the value.

        Args:
            order: ``Relaxed``, ``Acquire`` or ``SeqCst`` (the default).

        Returns:
            The current value.

        Raises:
            ValueError: ``order`` is ``Release`` or ``AcqRel`` (no such load).
            TypeError: ``order`` is not an :class:`Ordering`.

        Example:
            >>> from fearless.atomic import AtomicI64, Ordering
            >>> x = AtomicI64(7)
            >>> x.load()
            7
            >>> x.load(Ordering.Acquire)
            7
        """
        if order not in load_order:
            _check_ordering(order, "load", "order")
        with self._lock:
            return self._value

    def store(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> None:
        """Replace the value.

        Args:
            val: The new value; it must fit the type.
            order: ``Relaxed``, ``Release`` or ``SeqCst`` (the default).

        Raises:
            ValueError: ``order`` is ``Acquire`` or ``AcqRel`` (no such store).
            OverflowError: ``val`` is outside the type's range.
            TypeError: ``val`` is not an integer, or ``order`` not an
                :class:`Ordering`.

        Example:
            >>> from fearless.atomic import AtomicU8, Ordering
            >>> x = AtomicU8()
            >>> x.store(200, Ordering.Release)
            >>> x.load()
            200
            >>> x.store(256)
            Traceback (most recent call last):
            ...
            OverflowError: AtomicU8 holds integers from 0 to 255; got 256
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in store_order:
            val = _slow_operand(val, order, "store", to_int)
        with self._lock:
            self._value = val

    def swap(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Replace the value and return the previous one, atomically.

        Args:
            val: The new value; it must fit the type.
            order: Any ordering; ``SeqCst`` by default.

        Returns:
            The value before the swap.

        Example:
            >>> from fearless.atomic import AtomicI32
            >>> x = AtomicI32(1)
            >>> x.swap(2)
            1
            >>> x.load()
            2
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = val
        return old

    def compare_exchange(
        self: _AtomicInteger,
        current: int,
        new: int,
        success: Ordering = SeqCst,
        failure: Ordering = SeqCst,
    ) -> CompareExchangeResult[int]:
        """Store ``new`` if the value equals ``current``, atomically.

        Args:
            current: The value expected.
            new: The value to store if the expectation holds.
            success: The ordering of the read-modify-write when it stores;
                any ordering.
            failure: The ordering of the load when it does not store:
                ``Relaxed``, ``Acquire`` or ``SeqCst``.

        Returns:
            ``(ok, value)``: ``ok`` tells whether ``new`` was stored and
            ``value`` is the value found (Rust's ``Ok(previous)`` /
            ``Err(actual)``).

        Raises:
            ValueError: ``failure`` is ``Release`` or ``AcqRel``.
            OverflowError: ``current`` or ``new`` is outside the type's range.

        Example:
            >>> from fearless.atomic import AtomicI64, Ordering
            >>> x = AtomicI64(5)
            >>> x.compare_exchange(5, 10, Ordering.AcqRel, Ordering.Acquire)
            CompareExchangeResult(ok=True, value=5)
            >>> x.compare_exchange(6, 12)
            CompareExchangeResult(ok=False, value=10)
        """
        if (
            type_(current) is not int_
            or type_(new) is not int_
            or not lo <= current <= hi
            or not lo <= new <= hi
            or success not in any_order
            or failure not in load_order
        ):
            current, new = _slow_operands(current, new, success, failure, to_int)
        with self._lock:
            old = self._value
            ok = old == current
            if ok:
                self._value = new
        return tuple_new(result, (ok, old))

    def fetch_add(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Add ``val``, wrapping around on overflow; return the previous value.

        Fixed-width types wrap like Rust's ``wrapping_add``: the result is
        taken modulo 2**BITS into the type's range. :class:`AtomicInt` never
        wraps.

        Args:
            val: The amount to add; it must fit the type.
            order: Any ordering; ``SeqCst`` by default.

        Returns:
            The value before the addition.

        Raises:
            OverflowError: ``val`` is outside the type's range.
            TypeError: ``val`` is not an integer, or ``order`` not an
                :class:`Ordering`.

        Example:
            >>> from fearless.atomic import AtomicU8, Ordering
            >>> x = AtomicU8(250)
            >>> x.fetch_add(10, Ordering.Relaxed)
            250
            >>> x.load()                          # 260 wraps to 4
            4
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = new = old + val
            if not lo <= new <= hi:
                self._value = (new - base) % span + base
        return old

    def fetch_sub(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Subtract ``val``, wrapping around on overflow; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(1)
            >>> x.fetch_sub(2)
            1
            >>> x.load()
            255
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = new = old - val
            if not lo <= new <= hi:
                self._value = (new - base) % span + base
        return old

    # "and", "or" and "xor" of two in-range values stay in range, for signed
    # and unsigned types alike; "nand" of unsigned values needs wrapping.

    def fetch_and(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "and" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_and(0b1010)
            12
            >>> bin(x.load())
            '0b1000'
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = old & val
        return old

    def fetch_or(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "or" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_or(0b1010)
            12
            >>> bin(x.load())
            '0b1110'
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = old | val
        return old

    def fetch_xor(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "xor" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_xor(0b1010)
            12
            >>> bin(x.load())
            '0b110'
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = old ^ val
        return old

    def fetch_nand(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "nand" with ``val`` (``~(value & val)``); return the previous value.

        Unsigned types keep the result within their range, as Rust does.

        Example:
            >>> from fearless.atomic import AtomicU8, AtomicI8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_nand(0b1010)
            12
            >>> bin(x.load())
            '0b11110111'
            >>> y = AtomicI8(0b1100)
            >>> y.fetch_nand(0b1010)
            12
            >>> y.load()
            -9
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            self._value = new = ~(old & val)
            if not lo <= new <= hi:
                self._value = (new - base) % span + base
        return old

    def fetch_max(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Store the larger of the value and ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicI64
            >>> high_water = AtomicI64(10)
            >>> high_water.fetch_max(42)
            10
            >>> high_water.fetch_max(7)
            42
            >>> high_water.load()
            42
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            if val > old:
                self._value = val
        return old

    def fetch_min(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        """Store the smaller of the value and ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicI64
            >>> low = AtomicI64(10)
            >>> low.fetch_min(-3)
            10
            >>> low.load()
            -3
        """
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = _slow_operand(val, order, "any", to_int)
        with self._lock:
            old = self._value
            if val < old:
                self._value = val
        return old

    return {
        "load": load,
        "store": store,
        "swap": swap,
        "compare_exchange": compare_exchange,
        "compare_exchange_weak": _twin(
            compare_exchange,
            "compare_exchange_weak",
            """:meth:`compare_exchange`, which Rust allows to fail spuriously.

            Rust's ``compare_exchange_weak`` may fail even when the value equals
            ``current`` (it compiles to a load-linked/store-conditional loop on
            some CPUs) and is meant for retry loops. fearless's never fails
            spuriously: it is exactly :meth:`compare_exchange`, kept so ported
            code reads the same.

            Example:
                >>> from fearless.atomic import AtomicI64, Ordering
                >>> x = AtomicI64(3)
                >>> current = x.load(Ordering.Relaxed)
                >>> while True:                      # double it, whatever others do
                ...     ok, current = x.compare_exchange_weak(current, current * 2)
                ...     if ok:
                ...         break
                >>> x.load()
                6
            """,
        ),
        "fetch_add": fetch_add,
        "fetch_sub": fetch_sub,
        "fetch_and": fetch_and,
        "fetch_or": fetch_or,
        "fetch_xor": fetch_xor,
        "fetch_nand": fetch_nand,
        "fetch_max": fetch_max,
        "fetch_min": fetch_min,
        "fetch_update": _fetch_update_method(
            int,
            lo,
            hi,
            to_int,
            value_type="int",
            doc="""Store ``f(value)`` unless ``f`` returns None; a compare-exchange loop.

            Reads the value, calls ``f`` on it *without holding any lock*, then
            stores the result only if the value has not changed meanwhile;
            otherwise it calls ``f`` again on the new value. So ``f`` may run
            more than once under contention (as in Rust): keep it free of side
            effects. It may itself use atomics -- even this one -- without
            deadlocking.

            Args:
                f: Computes the new value from the current one, or returns None
                    to give up.
                set_order: The ordering of the successful store; any ordering.
                fetch_order: The ordering of the loads: ``Relaxed``, ``Acquire``
                    or ``SeqCst`` (it is the compare-exchange failure ordering).

            Returns:
                ``(ok, value)``: ``(True, previous)`` when a value was stored,
                ``(False, current)`` when ``f`` returned None.

            Raises:
                ValueError: ``fetch_order`` is ``Release`` or ``AcqRel``.
                OverflowError: ``f`` returned a value outside the type's range
                    (nothing was stored).
                TypeError: ``f`` returned something other than an integer or None.

            Example:
                >>> from fearless.atomic import AtomicI64
                >>> x = AtomicI64(7)
                >>> x.fetch_update(lambda v: v * 2 if v < 10 else None)
                CompareExchangeResult(ok=True, value=7)
                >>> x.fetch_update(lambda v: v * 2 if v < 10 else None)
                CompareExchangeResult(ok=False, value=14)
            """,
        ),
    }


#: The width of ``AtomicIsize`` and ``AtomicUsize``: the platform's pointer size.
_POINTER_BITS: Final = struct.calcsize("P") * 8


class _AtomicInteger(_Atomic):
    """What :class:`AtomicInt` and the fixed-width types share: construction, ``repr``, types.

    Each concrete subclass gets the operations :func:`_integer_methods`
    compiles for its range (see ``__init_subclass__``); so does this class,
    unbounded, so that its attributes are the documented functions too. The
    declarations under ``TYPE_CHECKING`` give the type checker their exact
    signatures. A subclass with bounds wraps on overflow within them; one
    without is unbounded.
    """

    __slots__ = ()

    _value: int
    _bounds: ClassVar[tuple[int, int] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):  # a concrete type: compile its operations
            _install(cls, _integer_methods(cls.__name__, cls._bounds))

    def __init__(self, value: int = 0) -> None:
        bounds = self._bounds
        if type(value) is not int or (bounds is not None and not bounds[0] <= value <= bounds[1]):
            value = _to_int(value, type(self).__name__, bounds)
        self._lock = _allocate_lock()
        self._value = value

    def __repr__(self) -> str:
        # _Atomic's, but a value with too many digits for str() still shows.
        return f"{type(self).__name__}({_int_text(self._value)})"

    if TYPE_CHECKING:  # the signatures of what _integer_methods compiles
        # fmt: off
        def load(self, order: Ordering = SeqCst) -> int: ...
        def store(self, val: int, order: Ordering = SeqCst) -> None: ...
        def swap(self, val: int, order: Ordering = SeqCst) -> int: ...
        def compare_exchange(self, current: int, new: int, success: Ordering = SeqCst, failure: Ordering = SeqCst) -> CompareExchangeResult[int]: ...  # noqa: E501
        def compare_exchange_weak(self, current: int, new: int, success: Ordering = SeqCst, failure: Ordering = SeqCst) -> CompareExchangeResult[int]: ...  # noqa: E501
        def fetch_add(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_sub(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_and(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_or(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_xor(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_nand(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_max(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_min(self, val: int, order: Ordering = SeqCst) -> int: ...
        def fetch_update(self, f: Callable[[int], int | None], set_order: Ordering = SeqCst, fetch_order: Ordering = SeqCst) -> CompareExchangeResult[int]: ...  # noqa: E501
        # fmt: on


def _install(cls: type, methods: dict[str, Callable[..., Any]]) -> None:
    for name, fn in methods.items():
        fn.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, fn)


_install(_AtomicInteger, _integer_methods("_AtomicInteger", None))


class _FixedWidth(_AtomicInteger):
    """An integer atomic of ``bits`` bits that wraps around on overflow, as Rust's do.

    A subclass says only its width and signedness --
    ``class AtomicU8(_FixedWidth, bits=8, signed=False)`` -- and gets
    ``BITS``, ``MIN``, ``MAX`` and the operations compiled for that range.
    """

    __slots__ = ()

    BITS: ClassVar[int]
    MIN: ClassVar[int]
    MAX: ClassVar[int]

    def __init_subclass__(cls, *, bits: int, signed: bool, **kwargs: Any) -> None:
        cls.BITS = bits
        cls.MIN, cls.MAX = (
            (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        )
        cls._bounds = (cls.MIN, cls.MAX)
        super().__init_subclass__(**kwargs)


@final
class AtomicInt(_AtomicInteger):
    """An integer of any size shared between threads; it never overflows.

    A Python ``int`` behind atomic operations: the same methods as
    :class:`AtomicI64` -- ``load``, ``store``, ``swap``,
    ``compare_exchange``, ``fetch_add`` and the other ``fetch_*`` -- with no
    range and no wrapping. Rust has no such type; use it when you want a
    Python number, a fixed-width type when you want Rust's.

    Args:
        value: The initial value; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicInt
        >>> total = AtomicInt()
        >>> total.fetch_add(2**100)
        0
        >>> total.fetch_add(2**100)
        1267650600228229401496703205376
        >>> total.load() == 2**101
        True
    """

    __slots__ = ()


@final
class AtomicI8(_FixedWidth, bits=8, signed=True):
    """An 8-bit signed integer shared between threads (Rust's ``AtomicI8``).

    Holds -128 to 127; arithmetic wraps around as in Rust. See
    :class:`AtomicI64` for the operations.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicI8
        >>> x = AtomicI8(AtomicI8.MAX)
        >>> x.fetch_add(1)
        127
        >>> x
        AtomicI8(-128)
    """

    __slots__ = ()


@final
class AtomicI16(_FixedWidth, bits=16, signed=True):
    """A 16-bit signed integer shared between threads (Rust's ``AtomicI16``).

    Holds -32768 to 32767; arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicI16
        >>> x = AtomicI16(AtomicI16.MIN)
        >>> x.fetch_sub(1)
        -32768
        >>> x.load()
        32767
    """

    __slots__ = ()


@final
class AtomicI32(_FixedWidth, bits=32, signed=True):
    """A 32-bit signed integer shared between threads (Rust's ``AtomicI32``).

    Holds -2**31 to 2**31 - 1; arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicI32
        >>> x = AtomicI32(2**31 - 1)
        >>> x.fetch_add(1)
        2147483647
        >>> x.load()
        -2147483648
    """

    __slots__ = ()


@final
class AtomicI64(_FixedWidth, bits=64, signed=True):
    """A 64-bit signed integer shared between threads (Rust's ``AtomicI64``).

    Holds ``AtomicI64.MIN`` = -2**63 to ``AtomicI64.MAX`` = 2**63 - 1.
    Every operation is atomic; ``fetch_add`` and ``fetch_sub`` wrap around
    on overflow exactly like Rust's ``wrapping_add``/``wrapping_sub``.
    A value or operand outside the range raises :class:`OverflowError`, a
    non-integer :class:`TypeError` (``bool`` and other ``__index__`` types
    are accepted, as ``operator.index`` does).

    Every fixed-width type -- ``AtomicI8``/``I16``/``I32``/``I64``,
    ``AtomicU8``/``U16``/``U32``/``U64``, ``AtomicIsize``/``AtomicUsize``
    -- has these methods and the class constants ``BITS``, ``MIN`` and
    ``MAX``. Operations take an :class:`Ordering` like Rust's, ``SeqCst``
    by default.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless import scope
        >>> from fearless.atomic import AtomicI64, Ordering
        >>> counter = AtomicI64(0)
        >>> def work() -> None:
        ...     for _ in range(1000):
        ...         counter.fetch_add(1, Ordering.Relaxed)
        >>> with scope() as s:                 # joins the four threads
        ...     handles = [s.spawn(work) for _ in range(4)]
        >>> counter
        AtomicI64(4000)
        >>> counter.fetch_add(AtomicI64.MAX), counter.load()     # wraps like Rust's
        (4000, -9223372036854771809)
    """

    __slots__ = ()


@final
class AtomicIsize(_FixedWidth, bits=_POINTER_BITS, signed=True):
    """A pointer-sized signed integer shared between threads (Rust's ``AtomicIsize``).

    ``BITS`` is the platform's pointer width (64 on 64-bit platforms);
    arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> import struct
        >>> from fearless.atomic import AtomicIsize
        >>> AtomicIsize.BITS == struct.calcsize("P") * 8
        True
        >>> AtomicIsize(-1).fetch_add(1)
        -1
    """

    __slots__ = ()


@final
class AtomicU8(_FixedWidth, bits=8, signed=False):
    """An 8-bit unsigned integer shared between threads (Rust's ``AtomicU8``).

    Holds 0 to 255; arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicU8
        >>> x = AtomicU8(255)
        >>> x.fetch_add(1)
        255
        >>> x
        AtomicU8(0)
    """

    __slots__ = ()


@final
class AtomicU16(_FixedWidth, bits=16, signed=False):
    """A 16-bit unsigned integer shared between threads (Rust's ``AtomicU16``).

    Holds 0 to 65535; arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicU16
        >>> x = AtomicU16(0)
        >>> x.fetch_sub(1)
        0
        >>> x.load()
        65535
    """

    __slots__ = ()


@final
class AtomicU32(_FixedWidth, bits=32, signed=False):
    """A 32-bit unsigned integer shared between threads (Rust's ``AtomicU32``).

    Holds 0 to 2**32 - 1; arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicU32
        >>> x = AtomicU32(2**32 - 1)
        >>> x.fetch_add(2)
        4294967295
        >>> x.load()
        1
    """

    __slots__ = ()


@final
class AtomicU64(_FixedWidth, bits=64, signed=False):
    """A 64-bit unsigned integer shared between threads (Rust's ``AtomicU64``).

    Holds 0 to 2**64 - 1; arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicU64
        >>> x = AtomicU64(AtomicU64.MAX)
        >>> x.fetch_add(1)
        18446744073709551615
        >>> x.load()
        0
        >>> AtomicU64(-1)
        Traceback (most recent call last):
        ...
        OverflowError: AtomicU64 holds integers from 0 to 18446744073709551615; got -1
    """

    __slots__ = ()


@final
class AtomicUsize(_FixedWidth, bits=_POINTER_BITS, signed=False):
    """A pointer-sized unsigned integer shared between threads (Rust's ``AtomicUsize``).

    ``BITS`` is the platform's pointer width (64 on 64-bit platforms);
    arithmetic wraps around as in Rust.

    Args:
        value: The initial value, within the range; ``0`` by default.

    Example:
        >>> from fearless.atomic import AtomicUsize
        >>> next_id = AtomicUsize(1)
        >>> next_id.fetch_add(1), next_id.fetch_add(1)
        (1, 2)
    """

    __slots__ = ()


#: The fixed-width types, each compiled for its range (and each with a
#: compiled twin when the core is in use: ``fearless._atomic._twins``).
FIXED_WIDTH: Final[tuple[type[_FixedWidth], ...]] = (
    AtomicI8,
    AtomicI16,
    AtomicI32,
    AtomicI64,
    AtomicIsize,
    AtomicU8,
    AtomicU16,
    AtomicU32,
    AtomicU64,
    AtomicUsize,
)
