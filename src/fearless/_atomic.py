"""Atomics: ``Ordering``, the ``Atomic*`` types and ``fence`` (Rust's ``std::sync::atomic``).

How they work. Every atomic owns one raw lock from :mod:`fearless._seam` and
every operation is a critical section on it (``with self._lock:``). That
makes each operation linearizable on every build, and *sequentially
consistent whatever ordering was asked for*: the C lock's acquire and
release are full synchronisation operations, and all the critical sections
of one atomic are totally ordered. Rust allows an implementation to be
stronger than asked, never weaker; the orderings are still validated exactly
where Rust panics, so code ported either way stays correct.

Rules every operation follows (and the reasons):

- Nothing inside a critical section calls a function, allocates a container
  or drops the last reference to a user object. On 3.11 a container
  allocation may start the cyclic GC and a call may run a signal handler;
  either can run arbitrary Python code -- finalisers included -- which could
  touch the same atomic and deadlock on its lock. So results are built
  after the lock is released, ``AtomicRef`` keeps the previous value alive in
  a local until then, and ``fetch_update`` calls ``f`` outside the lock.
- The hot path validates with one ``in`` test per ordering (against a tuple
  of the orderings allowed: it never raises, see ``_ANY``) and an exact type
  check per operand (``type(v) is int``); anything unusual -- a wrong
  ordering, an operand that needs converting, an out-of-range value -- goes
  to a slow path that converts or raises a precise error.
- The integer types are generated per range from one factory
  (:func:`_integer_methods`), as Rust generates them from one macro: the range
  is captured in closures, so the hot path reads constants from cells instead
  of looking them up (measured ~13% faster on free-threaded 3.13 than class
  attributes). :class:`_AtomicInteger` holds their documentation and types.
"""

from __future__ import annotations

import enum
import math
import operator
import reprlib
import struct
import types
from collections.abc import Callable
from typing import Any, Final, Generic, NamedTuple, NoReturn, TypeVar, final

from . import _seam
from ._util import NotCopyable

T = TypeVar("T")
_F = TypeVar("_F", bound=Callable[..., Any])


# -- orderings ----------------------------------------------------------------


class Ordering(enum.Enum):
    """How an atomic operation orders the memory accesses around it (Rust's ``Ordering``).

    Pass one to every atomic operation, as in Rust:
    ``counter.fetch_add(1, Ordering.Relaxed)``. Each member's value is its
    C++20 name. From weakest to strongest:

    Attributes:
        Relaxed: ``memory_order_relaxed``. The operation itself is atomic and
            all threads agree on one order of the modifications of *this*
            atomic; nothing is said about other memory. Right for counters
            and statistics read after the threads were joined.
        Release: ``memory_order_release``. For stores (and the store half
            of read-modify-write operations): every memory write this thread
            made before the store is visible to a thread whose ``Acquire``
            load reads the stored value. Publishes data.
        Acquire: ``memory_order_acquire``. For loads (and the load half of
            read-modify-writes): once the load reads a value stored with
            ``Release``, everything written before that store is visible to
            this thread's later reads. Receives published data.
        AcqRel: ``memory_order_acq_rel``. For read-modify-write operations
            (``swap``, ``fetch_*``, a successful ``compare_exchange``):
            ``Acquire`` for the load half and ``Release`` for the store half.
        SeqCst: ``memory_order_seq_cst``. ``AcqRel`` plus one total order of
            all ``SeqCst`` operations that every thread agrees on. The
            default everywhere in fearless: when in doubt, ``SeqCst``.

    Validation:
        As in Rust, a load cannot be ``Release`` or ``AcqRel``, a store cannot
        be ``Acquire`` or ``AcqRel``, a compare-exchange failure ordering
        (and ``fetch_update``'s ``fetch_order``) cannot be ``Release`` or
        ``AcqRel``, and a fence cannot be ``Relaxed``: these raise
        :class:`ValueError` naming the orderings to use instead. Anything
        that is not an ``Ordering`` raises :class:`TypeError`.

    What fearless guarantees:
        Every operation is a critical section on the atomic's lock, so every
        operation is ``SeqCst`` whatever you pass -- stronger than asked,
        which Rust allows. Choose the ordering your algorithm needs anyway:
        the code then says what it relies on, and stays correct if ported.

    Example:
        >>> from fearless.atomic import AtomicI64, Ordering
        >>> hits = AtomicI64(0)
        >>> hits.fetch_add(1, Ordering.Relaxed)
        0
        >>> hits.load(Ordering.Acquire)
        1
        >>> Ordering.AcqRel.value
        'memory_order_acq_rel'
        >>> hits.load(Ordering.Release)
        Traceback (most recent call last):
        ...
        ValueError: there is no such thing as a release load; use Ordering.Acquire, Ordering.Relaxed or Ordering.SeqCst
    """  # noqa: E501

    Relaxed = "memory_order_relaxed"
    Release = "memory_order_release"
    Acquire = "memory_order_acquire"
    AcqRel = "memory_order_acq_rel"
    SeqCst = "memory_order_seq_cst"

    # Members are singletons, so identity hashing is exact -- and a C-level
    # hash keeps dicts and sets of orderings cheap (Enum's own __hash__ is a
    # Python function: 4x slower).
    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"Ordering.{self.name}"


Relaxed: Final = Ordering.Relaxed
Release: Final = Ordering.Release
Acquire: Final = Ordering.Acquire
AcqRel: Final = Ordering.AcqRel
SeqCst: Final = Ordering.SeqCst

# The orderings each kind of operation accepts (Rust panics on the others).
# Tuples, not sets: ``order in _LOAD`` compares by identity first and then
# with ``==`` (C-level for an Ordering), so the membership test never raises
# -- not even for an unhashable ``order`` -- and every check is one ``in``
# whose failure sends the caller to :func:`_check_ordering`. The default,
# ``SeqCst``, comes first, then ``Relaxed``: the common cases cost one or two
# pointer comparisons.
_ANY: Final[tuple[Ordering, ...]] = (SeqCst, Relaxed, Acquire, Release, AcqRel)
_LOAD: Final[tuple[Ordering, ...]] = (SeqCst, Relaxed, Acquire)
_STORE: Final[tuple[Ordering, ...]] = (SeqCst, Relaxed, Release)
_FENCE: Final[tuple[Ordering, ...]] = (SeqCst, Acquire, Release, AcqRel)

# Rust's panic messages, and what to use instead.
_NO_SUCH_THING: Final = {
    ("load", Release): "there is no such thing as a release load",
    ("load", AcqRel): "there is no such thing as an acquire-release load",
    ("store", Acquire): "there is no such thing as an acquire store",
    ("store", AcqRel): "there is no such thing as an acquire-release store",
    ("failure", Release): "there is no such thing as a release failure ordering",
    ("failure", AcqRel): "there is no such thing as an acquire-release failure ordering",
    ("fetch_order", Release): (
        "there is no such thing as a release failure ordering "
        "(fetch_order is fetch_update's failure ordering)"
    ),
    ("fetch_order", AcqRel): (
        "there is no such thing as an acquire-release failure ordering "
        "(fetch_order is fetch_update's failure ordering)"
    ),
    ("fence", Relaxed): "there is no such thing as a relaxed fence",
}
_INSTEAD: Final = {
    "load": "use Ordering.Acquire, Ordering.Relaxed or Ordering.SeqCst",
    "store": "use Ordering.Release, Ordering.Relaxed or Ordering.SeqCst",
    "failure": "use Ordering.Acquire, Ordering.Relaxed or Ordering.SeqCst",
    "fetch_order": "use Ordering.Acquire, Ordering.Relaxed or Ordering.SeqCst",
    "fence": "use Ordering.Acquire, Ordering.Release, Ordering.AcqRel or Ordering.SeqCst",
}
_NAMES: Final = frozenset(Ordering.__members__)
_ALLOWED: Final = {
    "any": _ANY,
    "load": _LOAD,
    "store": _STORE,
    "failure": _LOAD,
    "fetch_order": _LOAD,
    "fence": _FENCE,
}


def _check_ordering(order: object, kind: str, param: str) -> None:
    """Raise the error Rust's panic stands for if ``order`` is wrong for ``kind``.

    The slow path: the hot path only calls it when its membership test failed
    (or another check did, in which case this returns and the caller goes on).
    """
    if not isinstance(order, Ordering):
        hint = f"; use Ordering.{order}" if isinstance(order, str) and order in _NAMES else ""
        raise TypeError(
            f"{param} must be an Ordering such as Ordering.SeqCst, got {_describe(order)}{hint}"
        ) from None
    if order not in _ALLOWED[kind]:
        raise ValueError(f"{_NO_SUCH_THING[kind, order]}; {_INSTEAD[kind]}")


def _check_orderings(*pairs: tuple[object, str, str]) -> None:
    for order, kind, param in pairs:
        _check_ordering(order, kind, param)


# -- values -------------------------------------------------------------------

_short_repr = reprlib.Repr()
_short_repr.maxstring = 40
_short_repr.maxother = 40


def _describe(value: object) -> str:
    """``"float 1.5"``: a bad value's type and a bounded repr, for error messages."""
    try:
        text = _short_repr.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = object.__repr__(value)
    return f"{type(value).__name__} {text}"


def _int_text(value: int) -> str:
    """``str(value)``, or a description beyond ``sys.get_int_max_str_digits()``."""
    try:
        return str(value)
    except ValueError:  # too many digits to convert
        return f"an integer of {value.bit_length()} bits"


def _to_int(value: object, name: str, bounds: tuple[int, int] | None) -> int:
    """Convert an operand of an integer atomic, or raise TypeError/OverflowError.

    Accepts ``int`` and anything with ``__index__`` (``bool``, NumPy
    integers), as ``operator.index`` does; the result is an exact ``int``.
    """
    if type(value) is not int:
        try:
            value = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"{name} holds integers; got {_describe(value)}") from None
    assert type(value) is int
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise OverflowError(
            f"{name} holds integers from {bounds[0]} to {bounds[1]}; got {_int_text(value)}"
        )
    return value


def _to_bool(value: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"AtomicBool holds True or False; got {_describe(value)}")
    return value


def _to_float(value: object) -> float:
    """Convert an operand of :class:`AtomicFloat`: any real number, as ``float()`` would."""
    if isinstance(value, float):
        return float(value)  # exact float, also from a subclass
    if isinstance(value, int) or (
        hasattr(type(value), "__float__") and not isinstance(value, (str, bytes, bytearray))
    ):
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise OverflowError(
                f"AtomicFloat holds floats; {_describe(value)} is too large for a float"
            ) from None
    raise TypeError(f"AtomicFloat holds floats; got {_describe(value)}")


def _no_truth_value(atomic: object) -> TypeError:
    # ``__bool__`` raises it, typed NoReturn so that mypy flags ``if flag:``
    # as unreachable code.
    return TypeError(f"{type(atomic).__name__} has no truth value; call .load() to read its value")


def _twin(fn: _F, name: str, doc: str | None = None) -> _F:
    """A copy of ``fn`` under another name (``compare_exchange_weak``): no extra call."""
    code = fn.__code__.replace(
        co_name=name, co_qualname=fn.__code__.co_qualname.rsplit(".", 1)[0] + "." + name
    )
    twin = types.FunctionType(code, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    twin.__kwdefaults__ = fn.__kwdefaults__
    twin.__annotations__ = dict(fn.__annotations__)
    twin.__qualname__ = code.co_qualname
    twin.__doc__ = doc
    return twin  # type: ignore[return-value]


# -- locks --------------------------------------------------------------------


_Lock = _seam.RawLock  # every backend's lock has the ``with`` protocol


def _allocate_lock() -> _Lock:
    """A raw lock from the seam, usable in a ``with`` statement.

    Critical sections are ``with`` blocks rather than ``acquire()`` /
    ``release()`` calls on purpose: CPython runs signal handlers (and raises
    ``KeyboardInterrupt``) when a call returns, so a handler could run right
    after ``acquire()`` -- with the lock held -- and deadlock on the same
    atomic, or leave it locked forever. ``with`` enters the lock without
    such a check, and the body of every critical section makes no call.
    """
    return _seam.allocate_lock()


#: Why an atomic refuses copy.copy, copy.deepcopy and pickle, and what to do.
_COPY_ADVICE: Final = (
    "an atomic is one shared cell (a copy would share its lock, or break the link "
    "between threads): share the atomic itself, or make a new one from .load()"
)

# -- results ------------------------------------------------------------------


class CompareExchangeResult(NamedTuple, Generic[T]):
    """What ``compare_exchange`` and ``fetch_update`` return: ``(ok, value)``.

    Rust returns ``Ok(previous)`` when the new value was stored and
    ``Err(actual)`` when it was not; fearless returns this named tuple
    instead, so ``ok, value = x.compare_exchange(...)`` unpacks both cases.

    A result has no truth value: ``if x.compare_exchange(0, 1):`` would be a
    bug (a non-empty tuple is always true), so it raises :class:`TypeError`;
    test ``.ok``.

    Attributes:
        ok: Whether the new value was stored.
        value: The value found before the operation: the previous value when
            ``ok`` is true (Rust's ``Ok``), the actual current value when it
            is false (Rust's ``Err``).

    Example:
        >>> from fearless.atomic import AtomicI64
        >>> x = AtomicI64(5)
        >>> x.compare_exchange(5, 10)
        CompareExchangeResult(ok=True, value=5)
        >>> ok, actual = x.compare_exchange(5, 20)
        >>> ok, actual
        (False, 10)
    """

    ok: bool
    value: T

    def __bool__(self) -> NoReturn:
        raise TypeError(
            "a CompareExchangeResult has no truth value; "
            "test its .ok to see whether the new value was stored"
        )


_Result = CompareExchangeResult
# Builds a result without the named tuple's Python-level __new__ (one C call).
_new_result: Callable[
    [type[CompareExchangeResult[Any]], tuple[bool, Any]], CompareExchangeResult[Any]
] = tuple.__new__


# -- integers -----------------------------------------------------------------


class _AtomicInteger(NotCopyable):
    """The operations shared by :class:`AtomicInt` and the fixed-width types.

    This class documents them and gives their types; each concrete subclass
    replaces the bodies with ones compiled for its range by
    :func:`_integer_methods` (see ``__init_subclass__``), as Rust generates
    each ``AtomicI*`` type from one macro. A subclass with ``MIN`` and
    ``MAX`` wraps on overflow within them; one without is unbounded.
    """

    __slots__ = ("__weakref__", "_lock", "_value")

    _copy_advice = _COPY_ADVICE

    _lock: _Lock
    _value: int
    _bounds: tuple[int, int] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        lo, hi = getattr(cls, "MIN", None), getattr(cls, "MAX", None)
        cls._bounds = None if lo is None or hi is None else (lo, hi)
        for name, fn in _integer_methods(cls.__name__, cls._bounds).items():
            fn.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, fn)

    def __init__(self, value: int = 0) -> None:
        bounds = self._bounds
        if type(value) is not int or (bounds is not None and not bounds[0] <= value <= bounds[1]):
            value = _to_int(value, type(self).__name__, bounds)
        self._lock = _allocate_lock()
        self._value = value

    def __repr__(self) -> str:
        # A snapshot without the lock: one attribute read is atomic on
        # every build, so repr never blocks.
        return f"{type(self).__name__}({_int_text(self._value)})"

    def __bool__(self) -> NoReturn:
        raise _no_truth_value(self)

    # The bodies below never run: each subclass installs its own.

    def load(self, order: Ordering = SeqCst) -> int:
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
        raise NotImplementedError

    def store(self, val: int, order: Ordering = SeqCst) -> None:
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
        raise NotImplementedError

    def swap(self, val: int, order: Ordering = SeqCst) -> int:
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
        raise NotImplementedError

    def compare_exchange(
        self,
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
        raise NotImplementedError

    def compare_exchange_weak(
        self,
        current: int,
        new: int,
        success: Ordering = SeqCst,
        failure: Ordering = SeqCst,
    ) -> CompareExchangeResult[int]:
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
        """
        raise NotImplementedError

    def fetch_add(self, val: int, order: Ordering = SeqCst) -> int:
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
        raise NotImplementedError

    def fetch_sub(self, val: int, order: Ordering = SeqCst) -> int:
        """Subtract ``val``, wrapping around on overflow; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(1)
            >>> x.fetch_sub(2)
            1
            >>> x.load()
            255
        """
        raise NotImplementedError

    def fetch_and(self, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "and" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_and(0b1010)
            12
            >>> bin(x.load())
            '0b1000'
        """
        raise NotImplementedError

    def fetch_or(self, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "or" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_or(0b1010)
            12
            >>> bin(x.load())
            '0b1110'
        """
        raise NotImplementedError

    def fetch_xor(self, val: int, order: Ordering = SeqCst) -> int:
        """Bitwise "xor" with ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicU8
            >>> x = AtomicU8(0b1100)
            >>> x.fetch_xor(0b1010)
            12
            >>> bin(x.load())
            '0b110'
        """
        raise NotImplementedError

    def fetch_nand(self, val: int, order: Ordering = SeqCst) -> int:
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
        raise NotImplementedError

    def fetch_max(self, val: int, order: Ordering = SeqCst) -> int:
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
        raise NotImplementedError

    def fetch_min(self, val: int, order: Ordering = SeqCst) -> int:
        """Store the smaller of the value and ``val``; return the previous value.

        Example:
            >>> from fearless.atomic import AtomicI64
            >>> low = AtomicI64(10)
            >>> low.fetch_min(-3)
            10
            >>> low.load()
            -3
        """
        raise NotImplementedError

    def fetch_update(
        self,
        f: Callable[[int], int | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[int]:
        """Store ``f(value)`` unless ``f`` returns None; a compare-exchange loop.

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
        """
        raise NotImplementedError


def _integer_methods(name: str, bounds: tuple[int, int] | None) -> dict[str, Callable[..., Any]]:
    """The operations of one integer atomic type, compiled for its range.

    ``bounds`` is ``(MIN, MAX)`` for a fixed-width type (results wrap into
    it, operands must lie in it) or None for :class:`AtomicInt`. The
    signatures mirror :class:`_AtomicInteger`'s, whose docstrings they
    inherit (a test checks they agree).
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

    def check(val: object, order: object, kind: str = "any") -> int:
        """The slow path of one-operand operations: raise, or convert ``val``."""
        _check_ordering(order, kind, "order")
        return to_int(val)

    def load(self: _AtomicInteger, order: Ordering = SeqCst) -> int:
        if order not in load_order:
            _check_ordering(order, "load", "order")
        with self._lock:
            return self._value

    def store(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> None:
        if type_(val) is not int_ or not lo <= val <= hi or order not in store_order:
            val = check(val, order, "store")
        with self._lock:
            self._value = val

    def swap(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
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
        if (
            type_(current) is not int_
            or type_(new) is not int_
            or not lo <= current <= hi
            or not lo <= new <= hi
            or success not in any_order
            or failure not in load_order
        ):
            _check_orderings((success, "any", "success"), (failure, "failure", "failure"))
            current, new = to_int(current), to_int(new)
        with self._lock:
            old = self._value
            ok = old == current
            if ok:
                self._value = new
        return tuple_new(result, (ok, old))

    def fetch_add(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            self._value = new = old + val
            if not lo <= new <= hi:
                self._value = (new - base) % span + base
        return old

    def fetch_sub(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            self._value = new = old - val
            if not lo <= new <= hi:
                self._value = (new - base) % span + base
        return old

    # "and", "or" and "xor" of two in-range values stay in range, for signed
    # and unsigned types alike; "nand" of unsigned values needs wrapping.

    def fetch_and(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            self._value = old & val
        return old

    def fetch_or(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            self._value = old | val
        return old

    def fetch_xor(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            self._value = old ^ val
        return old

    def fetch_nand(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            self._value = new = ~(old & val)
            if not lo <= new <= hi:
                self._value = (new - base) % span + base
        return old

    def fetch_max(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            if val > old:
                self._value = val
        return old

    def fetch_min(self: _AtomicInteger, val: int, order: Ordering = SeqCst) -> int:
        if type_(val) is not int_ or not lo <= val <= hi or order not in any_order:
            val = check(val, order)
        with self._lock:
            old = self._value
            if val < old:
                self._value = val
        return old

    def fetch_update(
        self: _AtomicInteger,
        f: Callable[[int], int | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[int]:
        if set_order not in any_order or fetch_order not in load_order:
            _check_orderings(
                (set_order, "any", "set_order"), (fetch_order, "fetch_order", "fetch_order")
            )
        lock = self._lock
        with lock:
            prev = self._value
        while True:
            new = f(prev)
            if new is None:
                return tuple_new(result, (False, prev))
            if type_(new) is not int_ or not lo <= new <= hi:
                new = to_int(new)
            with lock:
                current = self._value
                ok = current == prev
                if ok:
                    self._value = new
            if ok:
                return tuple_new(result, (True, prev))
            prev = current

    return {
        "load": load,
        "store": store,
        "swap": swap,
        "compare_exchange": compare_exchange,
        "compare_exchange_weak": _twin(compare_exchange, "compare_exchange_weak"),
        "fetch_add": fetch_add,
        "fetch_sub": fetch_sub,
        "fetch_and": fetch_and,
        "fetch_or": fetch_or,
        "fetch_xor": fetch_xor,
        "fetch_nand": fetch_nand,
        "fetch_max": fetch_max,
        "fetch_min": fetch_min,
        "fetch_update": fetch_update,
    }


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


_POINTER_BITS: Final = struct.calcsize("P") * 8


@final
class AtomicI8(_AtomicInteger):
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
    BITS: Final[int] = 8
    MIN: Final[int] = -(1 << 7)
    MAX: Final[int] = (1 << 7) - 1


@final
class AtomicI16(_AtomicInteger):
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
    BITS: Final[int] = 16
    MIN: Final[int] = -(1 << 15)
    MAX: Final[int] = (1 << 15) - 1


@final
class AtomicI32(_AtomicInteger):
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
    BITS: Final[int] = 32
    MIN: Final[int] = -(1 << 31)
    MAX: Final[int] = (1 << 31) - 1


@final
class AtomicI64(_AtomicInteger):
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
        >>> import threading
        >>> from fearless.atomic import AtomicI64, Ordering
        >>> counter = AtomicI64(0)
        >>> def work() -> None:
        ...     for _ in range(1000):
        ...         counter.fetch_add(1, Ordering.Relaxed)
        >>> threads = [threading.Thread(target=work) for _ in range(4)]
        >>> for t in threads:
        ...     t.start()
        >>> for t in threads:
        ...     t.join()
        >>> counter.load(Ordering.Relaxed)
        4000
        >>> counter
        AtomicI64(4000)
    """

    __slots__ = ()
    BITS: Final[int] = 64
    MIN: Final[int] = -(1 << 63)
    MAX: Final[int] = (1 << 63) - 1


@final
class AtomicIsize(_AtomicInteger):
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
    BITS: Final[int] = _POINTER_BITS
    MIN: Final[int] = -(1 << (_POINTER_BITS - 1))
    MAX: Final[int] = (1 << (_POINTER_BITS - 1)) - 1


@final
class AtomicU8(_AtomicInteger):
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
    BITS: Final[int] = 8
    MIN: Final[int] = 0
    MAX: Final[int] = (1 << 8) - 1


@final
class AtomicU16(_AtomicInteger):
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
    BITS: Final[int] = 16
    MIN: Final[int] = 0
    MAX: Final[int] = (1 << 16) - 1


@final
class AtomicU32(_AtomicInteger):
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
    BITS: Final[int] = 32
    MIN: Final[int] = 0
    MAX: Final[int] = (1 << 32) - 1


@final
class AtomicU64(_AtomicInteger):
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
    BITS: Final[int] = 64
    MIN: Final[int] = 0
    MAX: Final[int] = (1 << 64) - 1


@final
class AtomicUsize(_AtomicInteger):
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
    BITS: Final[int] = _POINTER_BITS
    MIN: Final[int] = 0
    MAX: Final[int] = (1 << _POINTER_BITS) - 1


# -- bool ---------------------------------------------------------------------


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

    def fetch_update(
        self,
        f: Callable[[bool], bool | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[bool]:
        """Store ``f(value)`` unless ``f`` returns None; a compare-exchange loop.

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
        """
        if set_order not in _ANY or fetch_order not in _LOAD:
            _check_orderings(
                (set_order, "any", "set_order"), (fetch_order, "fetch_order", "fetch_order")
            )
        lock = self._lock
        with lock:
            prev = self._value
        while True:
            new = f(prev)
            if new is None:
                return _new_result(_Result, (False, prev))
            _to_bool(new)
            with lock:
                current = self._value
                ok = current is prev
                if ok:
                    self._value = new
            if ok:
                return _new_result(_Result, (True, prev))
            prev = current


# -- references ---------------------------------------------------------------


@final
class AtomicRef(NotCopyable, Generic[T]):
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

    __slots__ = ("__weakref__", "_lock", "_value")

    _copy_advice = _COPY_ADVICE

    _value: T

    def __init__(self, value: T) -> None:
        self._lock = _allocate_lock()
        self._value = value

    def __repr__(self) -> str:
        return f"AtomicRef({self._value!r})"

    def __bool__(self) -> NoReturn:
        raise _no_truth_value(self)

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

    def fetch_update(
        self,
        f: Callable[[T], T | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[T]:
        """Store ``f(obj)`` unless ``f`` returns None; a compare-exchange loop.

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
        """
        if set_order not in _ANY or fetch_order not in _LOAD:
            _check_orderings(
                (set_order, "any", "set_order"), (fetch_order, "fetch_order", "fetch_order")
            )
        lock = self._lock
        with lock:
            prev = self._value
        while True:
            new = f(prev)
            if new is None:
                return _new_result(_Result, (False, prev))
            with lock:
                current = self._value
                ok = current is prev
                if ok:
                    self._value = new
            if ok:
                return _new_result(_Result, (True, prev))
            prev = current


# -- floats -------------------------------------------------------------------

_pack_double = struct.Struct("<d").pack


def _same_bits(a: float, b: float) -> bool:
    """Whether two floats have the same bit pattern (Rust's float compare_exchange)."""
    return _pack_double(a) == _pack_double(b)


@final
class AtomicFloat(NotCopyable):
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

    __slots__ = ("__weakref__", "_lock", "_value")

    _copy_advice = _COPY_ADVICE

    _value: float

    def __init__(self, value: float = 0.0) -> None:
        self._lock = _allocate_lock()
        self._value = value if type(value) is float else _to_float(value)

    def __repr__(self) -> str:
        return f"AtomicFloat({self._value!r})"

    def __bool__(self) -> NoReturn:
        raise _no_truth_value(self)

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
            _check_ordering(order, "store", "order")
            val = _to_float(val)
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
            _check_ordering(order, "any", "order")
            val = _to_float(val)
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
            _check_orderings((success, "any", "success"), (failure, "failure", "failure"))
            current, new = _to_float(current), _to_float(new)
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
            _check_ordering(order, "any", "order")
            val = _to_float(val)
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
            _check_ordering(order, "any", "order")
            val = _to_float(val)
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
            _check_ordering(order, "any", "order")
            val = _to_float(val)
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
            _check_ordering(order, "any", "order")
            val = _to_float(val)
        with self._lock:
            old = self._value
            if val < old or old != old:  # noqa: PLR0124 -- old != old: old is NaN
                self._value = val
        return old

    def fetch_update(
        self,
        f: Callable[[float], float | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[float]:
        """Store ``f(value)`` unless ``f`` returns None; a compare-exchange loop.

        ``f`` runs without any lock held and may run more than once under
        contention. See :meth:`AtomicI64.fetch_update`.

        Example:
            >>> from fearless.atomic import AtomicFloat
            >>> x = AtomicFloat(2.0)
            >>> x.fetch_update(lambda v: v * v)
            CompareExchangeResult(ok=True, value=2.0)
            >>> x.load()
            4.0
        """
        if set_order not in _ANY or fetch_order not in _LOAD:
            _check_orderings(
                (set_order, "any", "set_order"), (fetch_order, "fetch_order", "fetch_order")
            )
        lock = self._lock
        with lock:
            prev = self._value
        while True:
            new = f(prev)
            if new is None:
                return _new_result(_Result, (False, prev))
            if type(new) is not float:
                new = _to_float(new)
            with lock:
                # Unchanged since f saw it iff it is the same float object;
                # an equal value stored meanwhile just means one more call.
                current = self._value
                ok = current is prev
                if ok:
                    self._value = new
            if ok:
                return _new_result(_Result, (True, prev))
            prev = current


# -- fences -------------------------------------------------------------------

# The lock every fence takes, and the seam backend it came from: a fence made
# while the deterministic scheduler is in force must use the scheduler's lock.
_fence_lock: tuple[object, _Lock] = (_seam.backend, _allocate_lock())


def fence(order: Ordering = SeqCst) -> None:
    """A memory fence (Rust's ``std::sync::atomic::fence``).

    In Rust a ``Release`` fence followed by a ``Relaxed`` store acts like a
    ``Release`` store, an ``Acquire`` fence after a ``Relaxed`` load like an
    ``Acquire`` load, and ``SeqCst`` fences take part in one total order.
    Every fearless atomic operation is already sequentially consistent, so
    the fence adds no guarantee to code that uses fearless atomics; it is
    validated like Rust's, and it acquires and releases one process-wide
    lock -- a real memory barrier, and a switch point under the
    deterministic scheduler.

    Args:
        order: ``Acquire``, ``Release``, ``AcqRel`` or ``SeqCst`` (the
            default).

    Raises:
        ValueError: ``order`` is ``Relaxed``.
        TypeError: ``order`` is not an :class:`Ordering`.

    Example:
        >>> from fearless.atomic import AtomicBool, Ordering, fence
        >>> ready = AtomicBool()
        >>> fence(Ordering.Release)
        >>> ready.store(True, Ordering.Relaxed)    # a Release store, in effect
        >>> fence(Ordering.Relaxed)
        Traceback (most recent call last):
        ...
        ValueError: there is no such thing as a relaxed fence; use Ordering.Acquire, Ordering.Release, Ordering.AcqRel or Ordering.SeqCst
    """  # noqa: E501
    global _fence_lock
    if order not in _FENCE:
        _check_ordering(order, "fence", "order")
    backend, lock = _fence_lock
    if backend is not _seam.backend:
        backend = _seam.backend
        lock = _allocate_lock()
        _fence_lock = (backend, lock)
    with lock:
        pass
