"""The compiled twins of the atomic types (issue 15).

With the compiled core in use (:mod:`fearless._compiled`), the ten
fixed-width integer types (``AtomicI8`` ... ``AtomicU64``, ``AtomicIsize``,
``AtomicUsize``), ``AtomicBool`` and ``AtomicFloat`` each get a twin: a
subclass of a C type of ``fearless._native`` -- ``IntegerCore`` (a C11
hardware atomic of the type's own width), ``BoolCore`` (one bit in a byte),
``FloatCore`` (the double's bits in a 64-bit word) -- that looks like the
public type in every way users see: the same ``__name__``, ``__module__``
and ``__qualname__``, ``repr``, constants (``BITS``, ``MIN``, ``MAX``), error
messages (the core calls this package's slow paths, with the type's own
converter, ``_native_convert``, for every unusual operand or ordering), copy
and pickle refusal, and no truth value. The metaclass, ``_util.Twinned``,
makes ``isinstance`` and ``issubclass`` hold, and calling the public type
makes a twin whenever the real threads backend is in force, so the
explorer, which installs its own, gets the pure-Python reference it
controls. ``AtomicInt`` (an int of any size) and ``AtomicRef`` (an object),
which no hardware word holds, get twins on ``IntCellCore`` and
``RefCellCore``: the object behind the atomic's own critical section.

``fetch_update`` is the reference's own function, whose loop runs on the
twin's ``load`` and ``compare_exchange``. The C code and its rules (orderings,
errors) are in ``src/native/`` (module.c says what is where).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._compiled import twin_class
from ._bool_float_ref import AtomicBool, AtomicFloat, AtomicRef
from ._core import (
    CompareExchangeResult,
    Ordering,
    _Atomic,
    _check_ordering,
    _slow_operand,
    _slow_operands,
    _to_bool,
    _to_float,
    _to_int,
)
from ._integer import FIXED_WIDTH, AtomicInt, _AtomicInteger, _FixedWidth

# ``_native_kind``, as the C code reads it: the width (0..3 for 8..64 bits),
# plus 16 for a signed type, or 32 for AtomicBool (one bit in a byte).
_KIND_OF_BITS = {8: 0, 16: 1, 32: 2, 64: 3}
_SIGNED = 16
_BOOL = 32
# And for the types whose value is an object (src/native/objects.c).
_INT_CELL = 64
_REF_CELL = 128


def twin_of(public: type[_Atomic], base: type, convert: Callable[[object], Any]) -> type:
    """A compiled twin of ``public`` on the C type ``base`` (see the module docstring)."""
    namespace: dict[str, Any] = {
        "_native_convert": staticmethod(convert),
        "__bool__": _Atomic.__bool__,
        # The reference's own loop: it runs on the twin's load and compare_exchange.
        "fetch_update": vars(public)["fetch_update"],
    }
    if issubclass(public, _FixedWidth):
        namespace["_native_kind"] = _KIND_OF_BITS[public.BITS] | (_SIGNED if public.MIN < 0 else 0)
        namespace.update(BITS=public.BITS, MIN=public.MIN, MAX=public.MAX)
    elif public is AtomicBool:
        namespace["_native_kind"] = _KIND_OF_BITS[8] | _BOOL
    elif public is AtomicInt:
        namespace["_native_kind"] = _INT_CELL
        # The reference's repr: an int past str()'s digit limit is told by its size.
        namespace["__repr__"] = _AtomicInteger.__repr__
    elif public is AtomicRef:
        namespace["_native_kind"] = _REF_CELL
    return twin_class(public, base, namespace)


def _integer_converter(public: type[_FixedWidth] | type[AtomicInt]) -> Callable[[object], int]:
    name = public.__name__
    bounds = (public.MIN, public.MAX) if issubclass(public, _FixedWidth) else None

    def to_int(value: object) -> int:
        return _to_int(value, name, bounds)

    return to_int


def install(core: ModuleType) -> None:
    """Hand the core the reference's slow paths and give each type above its twin."""
    core._setup(
        (Ordering.SeqCst, Ordering.Relaxed, Ordering.Acquire, Ordering.Release, Ordering.AcqRel),
        _slow_operand,
        _slow_operands,
        _check_ordering,
        CompareExchangeResult,
    )
    for public in FIXED_WIDTH:
        public._native_twin = twin_of(public, core.IntegerCore, _integer_converter(public))
    AtomicBool._native_twin = twin_of(AtomicBool, core.BoolCore, _to_bool)
    AtomicFloat._native_twin = twin_of(AtomicFloat, core.FloatCore, _to_float)
    AtomicInt._native_twin = twin_of(AtomicInt, core.IntCellCore, _integer_converter(AtomicInt))
    AtomicRef._native_twin = twin_of(AtomicRef, core.RefCellCore, _same)


def _same(value: object) -> object:
    """AtomicRef's converter: any object is its own operand."""
    return value
