"""What every atomic type shares: orderings, operands, results, locks, ``fetch_update``, ``fence``.

- :class:`Ordering` and the tuples of the orderings each kind of operation
  accepts (``_LOAD``, ``_STORE``, ``_ANY``, ``_FENCE``): an operation checks
  an ordering with one ``in`` test, which never raises, and on a miss calls
  :func:`_check_ordering` for Rust's panic message as a ValueError (or a
  TypeError for a non-ordering).
- Operand conversion (``_to_int``, ``_to_bool``, ``_to_float``) and the
  error messages' descriptions of bad values.
- :class:`CompareExchangeResult` and ``_new_result``, which builds one in
  a single C call.
- ``_allocate_lock``: the seam's raw lock each atomic owns. Every operation
  is a ``with`` block on it (see that function for why ``with``).
- :class:`_Atomic`: the cell every atomic type derives from (the value, its
  lock, no copies, the ``repr``, no truth value), and the slow paths every
  operation's one-line check falls back to (``_slow_operand``,
  ``_slow_operands``).
- :func:`_fetch_update_method`: the compare-exchange loop of every type's
  ``fetch_update``, written once.
- :func:`fence`.

Relies on :mod:`fearless._seam` for locks (the deterministic scheduler of
``fearless.testing`` replaces them) and nothing else of fearless's.
"""

from __future__ import annotations

import enum
import operator
import reprlib
import types
from collections.abc import Callable
from typing import Any, ClassVar, Final, Generic, NamedTuple, NoReturn, TypeVar, cast

from .. import _compiled, _seam
from .._util import NotCopyable, Twinned

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


def _slow_operands(
    current: object, new: object, success: object, failure: object, convert: Callable[[object], T]
) -> tuple[T, T]:
    """The slow path of ``compare_exchange``: raise for an ordering, or convert both operands."""
    _check_orderings((success, "any", "success"), (failure, "failure", "failure"))
    return convert(current), convert(new)


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


def _slow_operand(val: object, order: object, kind: str, convert: Callable[[object], T]) -> T:
    """The slow path of a one-operand operation: raise for ``order``, or convert ``val``.

    The hot path calls it when its one-line check failed: a wrong ordering,
    or an operand that needs converting (or raises).
    """
    _check_ordering(order, kind, "order")
    return convert(val)


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

    On CPython 3.11 the real backend's lock is reentrant. There an
    allocation runs a garbage collection at once, and the call to
    ``__exit__`` that ends a ``with`` block builds its argument tuple before
    it releases: a finaliser can run after a section's last statement with
    the lock still held. If it uses the same atomic, it re-enters a section
    that is complete, instead of waiting for a lock its own thread holds.
    Nothing else re-enters: the sections make no call and allocate nothing
    the collector counts. From 3.12 a collection waits for the next signal
    check, after the release (tests/test_rwlock_faults.py checks both).
    """
    backend = _seam.backend
    if _seam.collects_at_allocation and type(backend) is _seam.ThreadBackend:
        return cast(_Lock, backend.allocate_rlock())
    return backend.allocate_lock()


class _Atomic(NotCopyable, metaclass=Twinned):
    """The cell every atomic type is: one value and the raw lock that guards it.

    Each type's ``__init__`` sets ``_lock`` (from :func:`_allocate_lock`)
    and ``_value`` (converted), and its operations are critical sections on
    ``_lock``. What they all share is here: the slots, the refusal to be
    copied or pickled, the ``repr`` and the missing truth value.
    """

    __slots__ = ("__weakref__", "_lock", "_value")

    _copy_advice = (
        "an atomic is one shared cell (a copy would share its lock, or break the link "
        "between threads): share the atomic itself, or make a new one from .load()"
    )

    _lock: _Lock
    _value: Any
    #: The compiled core's class for this type, when the core is in use
    #: (set by ``fearless._atomic._twins``); ``Twinned`` makes its objects.
    _native_twin: ClassVar[type | None] = None

    def __repr__(self) -> str:
        # A snapshot without the lock: one attribute read is atomic on
        # every build, so repr never blocks.
        return f"{type(self).__name__}({self._value!r})"

    def __bool__(self) -> NoReturn:
        # Typed NoReturn so that mypy flags ``if flag:`` as unreachable code.
        raise TypeError(f"{type(self).__name__} has no truth value; call .load() to read its value")


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


# -- fetch_update ---------------------------------------------------------------


def _fetch_update_method(
    exact: type,
    lo: Any,
    hi: Any,
    convert: Callable[[Any], Any] | None,
    *,
    value_type: str,
    doc: str,
) -> Callable[..., Any]:
    """Every atomic's ``fetch_update``: Rust's compare-exchange loop, written once.

    A value ``f`` returns is stored as is when its type is exactly ``exact``
    and it lies in ``lo..hi``; otherwise ``convert`` converts it or raises
    (nothing is stored). ``convert`` None stores any object as is
    (:class:`AtomicRef`). The loop runs on the type's own ``load`` and
    ``compare_exchange`` -- so ``f`` runs with no lock held, a value is
    "unchanged" in the sense of that type's ``compare_exchange`` (equal
    integers, the same bits of a float, the same object of an
    ``AtomicRef``), and the same function serves the compiled core's twins
    (``fearless._atomic._twins``). ``value_type`` names the type of the
    values in the method's annotations (``"int"``), and ``doc`` is its
    docstring: both as the class declares them for the type checker
    (``tests/test_atomic_declarations.py`` checks they agree).
    """
    any_order, load_order = _ANY, _LOAD
    tuple_new, result, type_ = _new_result, _Result, type

    def fetch_update(
        self: Any,
        f: Callable[[Any], Any | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[Any]:
        if set_order not in any_order or fetch_order not in load_order:
            _check_orderings(
                (set_order, "any", "set_order"), (fetch_order, "fetch_order", "fetch_order")
            )
        compare_exchange = self.compare_exchange
        prev = self.load(fetch_order)
        while True:
            new = f(prev)
            if new is None:
                return tuple_new(result, (False, prev))
            if convert is not None and (type_(new) is not exact or not lo <= new <= hi):
                new = convert(new)
            ok, current = compare_exchange(prev, new, set_order, fetch_order)
            if ok:
                return tuple_new(result, (True, prev))
            prev = current

    fetch_update.__doc__ = doc
    fetch_update.__annotations__ = {
        "f": f"Callable[[{value_type}], {value_type} | None]",
        "set_order": "Ordering",
        "fetch_order": "Ordering",
        "return": f"CompareExchangeResult[{value_type}]",
    }
    return fetch_update


# -- fences -------------------------------------------------------------------

# The lock every fence takes, and the seam backend it came from: a fence made
# while the deterministic scheduler is in force must use the scheduler's lock.
_fence_lock: tuple[object, _Lock] = (_seam.backend, _allocate_lock())


def fence(order: Ordering = SeqCst) -> None:
    """A memory fence (Rust's ``std::sync::atomic::fence``).

    In Rust a ``Release`` fence followed by a ``Relaxed`` store acts like a
    ``Release`` store, an ``Acquire`` fence after a ``Relaxed`` load like an
    ``Acquire`` load, and ``SeqCst`` fences take part in one total order.
    It is validated like Rust's, and it acquires and releases one
    process-wide lock -- a switch point under the deterministic scheduler --
    and, with the compiled core, runs C11's ``atomic_thread_fence`` with
    ``memory_order_seq_cst``: at least the fence asked for. (With the
    pure-Python reference, whose every operation is sequentially
    consistent, it adds no guarantee.)

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
    core = _compiled.core
    if core is not None:
        core._fence()
