"""The compiled twins of the fixed-width integer atomics (issue 15).

With the compiled core in use (:mod:`fearless._compiled`), each fixed-width
type -- ``AtomicI8`` ... ``AtomicU64``, ``AtomicIsize``, ``AtomicUsize`` --
gets a twin: a subclass of ``fearless._native.IntegerCore`` (a C11 hardware
atomic of the type's own width) that looks like the public type in every
way users see: the same ``__name__``, ``__module__`` and ``__qualname__``,
``repr``, constants (``BITS``, ``MIN``, ``MAX``), error messages (the core
calls this package's slow paths for every unusual operand or ordering), copy
and pickle refusal, and no truth value. The metaclass makes ``isinstance``
and ``issubclass`` hold (``_core._AtomicType``), and the public type's
``__new__`` makes a twin whenever the real threads backend is in force
(``_integer._FixedWidth.__new__``), so the explorer, which installs its own,
gets the pure-Python reference it controls.

``fetch_update`` is the reference's loop over the twin's own ``load`` and
``compare_exchange``. The C code and its rules (orderings, errors) are in
``src/fearless/_native.c``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from .._util import NotCopyable
from ._core import (
    _ANY,
    _LOAD,
    CompareExchangeResult,
    Ordering,
    SeqCst,
    _Atomic,
    _check_ordering,
    _check_orderings,
    _new_result,
    _Result,
    _slow_operand,
    _slow_operands,
    _to_int,
)
from ._integer import (
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
    _FixedWidth,
)

#: The public types that have a twin.
FIXED_WIDTH: tuple[type[_FixedWidth], ...] = (
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

_KIND_OF_BITS = {8: 0, 16: 1, 32: 2, 64: 3}
_SIGNED = 16


def _fetch_update(lo: int, hi: int, to_int: Callable[[object], int]) -> Callable[..., Any]:
    any_order, load_order = _ANY, _LOAD
    tuple_new, result, type_, int_ = _new_result, _Result, type, int

    def fetch_update(
        self: Any,
        f: Callable[[int], int | None],
        set_order: Ordering = SeqCst,
        fetch_order: Ordering = SeqCst,
    ) -> CompareExchangeResult[int]:
        if set_order not in any_order or fetch_order not in load_order:
            _check_orderings(
                (set_order, "any", "set_order"), (fetch_order, "fetch_order", "fetch_order")
            )
        prev = self.load(fetch_order)
        while True:
            new = f(prev)
            if new is None:
                return tuple_new(result, (False, prev))
            if type_(new) is not int_ or not lo <= new <= hi:
                new = to_int(new)
            ok, current = self.compare_exchange(prev, new, set_order, fetch_order)
            if ok:
                return tuple_new(result, (True, prev))
            prev = current

    return fetch_update


def twin_of(public: type[_FixedWidth], core: ModuleType) -> type:
    """A compiled twin of ``public`` (see the module docstring)."""
    name, bounds = public.__name__, (public.MIN, public.MAX)

    def to_int(value: object) -> int:
        return _to_int(value, name, bounds)

    fetch_update = _fetch_update(public.MIN, public.MAX, to_int)
    fetch_update.__name__ = "fetch_update"
    fetch_update.__qualname__ = f"{public.__qualname__}.fetch_update"
    fetch_update.__doc__ = public.fetch_update.__doc__
    namespace: dict[str, Any] = {
        "__slots__": (),
        "__module__": public.__module__,
        "__qualname__": public.__qualname__,
        "__doc__": public.__doc__,
        "_native_public": public,
        "_native_kind": _KIND_OF_BITS[public.BITS] | (_SIGNED if public.MIN < 0 else 0),
        "_native_to_int": staticmethod(to_int),
        "_copy_advice": public._copy_advice,
        "__bool__": _Atomic.__bool__,
        "fetch_update": fetch_update,
        "BITS": public.BITS,
        "MIN": public.MIN,
        "MAX": public.MAX,
    }
    return type(name, (core.IntegerCore, NotCopyable), namespace)


def install(core: ModuleType) -> None:
    """Hand the core the reference's slow paths and give every fixed-width type its twin."""
    core._setup(
        (Ordering.SeqCst, Ordering.Relaxed, Ordering.Acquire, Ordering.Release, Ordering.AcqRel),
        _slow_operand,
        _slow_operands,
        _check_ordering,
        CompareExchangeResult,
    )
    for public in FIXED_WIDTH:
        public._native_twin = twin_of(public, core)
